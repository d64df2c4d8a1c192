/* beam.h - beam search over batches of sentences, forced decoding, ensembles. Part of libxlat's public interface:
 * included by xlat.h after the decoder API (include xlat.h, not this file).
 *
 * Search (as in Marian): every source sentence starts with one hypothesis (BOS); at each step the best
 * (beam - finished) extensions of its live hypotheses, ranked by summed log-probability, survive; one that ends in EOS
 * leaves the beam and joins the finished list, so a sentence is done once beam hypotheses have finished. At the
 * maximum output length only EOS is allowed, so every hypothesis ends in EOS and its log-probability is exactly what
 * forced decoding (xlat_beam_score) gives for the same output. Finished hypotheses are ranked by the GNMT length
 * penalty (Wu et al. 2016): score = logprob / ((5 + |y|) / 6)^alpha, |y| counting the final EOS. Beam 1 is greedy
 * search. PAD and BOS are never produced. Ties are broken by hypothesis row, then token id, so results are
 * deterministic.
 *
 * Ensembles: the log-probabilities of several models (same vocabulary) are averaged at every step; alignments come
 * from the first model.
 *
 * Batch independence: each sentence's search uses only its own rows, and sub-batches are formed by length, so a
 * sentence's result does not depend on the other sentences of the call as long as the decoder's per-row arithmetic
 * does not (see transformer_decode.c).
 *
 * An empty source (length 0) gives the empty translation with log-probability 0 and is never shown to a model.
 */
#ifndef XLAT_BEAM_H
#define XLAT_BEAM_H

#ifndef XLAT_H
#error "include xlat.h, not beam.h"
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int32_t beam_size;    /* 1 is greedy search */
  int32_t n_best;       /* hypotheses returned per sentence, 1..beam_size */
  float length_penalty; /* GNMT alpha; 0 ranks by raw log-probability */
  float max_len_a;      /* an output has at most floor(a * |source| + b) tokens before EOS, and never more than */
  float max_len_b;      /* the smallest model max_len - 1 */
  int32_t alignments;   /* 1: record, per output token, the source position the first model's last decoder layer
                           attends to most (cross-attention averaged over heads) */
  int32_t max_state_mb; /* decoding state (caches, encoder memory, log-probabilities) per model: a call's sentences
                           are cut into length-sorted sub-batches that fit; at least one sentence per sub-batch */
} xlat_beam_options;

/* beam 5, n_best 1, length_penalty 0.6 (Vaswani et al. 2017), max length 2 |x| + 10, no alignments, 96 MB. */
void xlat_beam_options_default(xlat_beam_options *o);

/* One output hypothesis. */
typedef struct {
  const int32_t *ids;   /* (len) output token ids, without BOS and EOS */
  int32_t len;
  float logprob;        /* sum of the log-probabilities of ids and the final EOS */
  float score;          /* logprob / xlat_length_penalty(alpha, len + 1): what search ranks finished hypotheses by */
  const int32_t *align; /* (len) most attended source position of each output token; NULL without alignments */
} xlat_hypothesis;

/* The hypotheses of one source sentence, best first. */
typedef struct {
  int32_t n; /* 1..n_best */
  const xlat_hypothesis *hyps;
} xlat_translation;

/* Searches with one or more models (their own decoding state lives in the searcher; the models are only read and
 * must outlive it). One searcher per thread; several searchers may share the models. XLAT_ERR_ARG for bad options,
 * XLAT_ERR_MISMATCH when the models' vocabularies differ. */
typedef struct xlat_beam xlat_beam;

xlat_status xlat_beam_new(const xlat_model *const *models, int32_t n_models, const xlat_beam_options *o,
                          xlat_beam **out);
void xlat_beam_free(xlat_beam *b);
const xlat_beam_options *xlat_beam_get_options(const xlat_beam *b);
/* Longest source a model accepts (the smallest model max_len). */
int32_t xlat_beam_max_source(const xlat_beam *b);
/* Most tokens (before EOS) an output of a source of src_len tokens may have. */
int32_t xlat_beam_max_output(const xlat_beam *b, int32_t src_len);

/* Translates B sources (bare ids, no BOS/EOS). *out points to B translations in input order, owned by b and valid
 * until the next call on b. XLAT_ERR_ARG naming the sentence when a source is longer than xlat_beam_max_source or
 * holds an id outside the vocabulary. */
xlat_status xlat_beam_translate(xlat_beam *b, int32_t B, const int32_t *const *src, const int32_t *src_len,
                                const xlat_translation **out);

/* Forced decoding: the models' log-probability of each target (bare ids; EOS is added) given its source, summed in
 * the same order as search, into logprob (B), and the length-normalized score into score (B) (either may be NULL).
 * An empty source scores 0 with an empty target and -inf otherwise. XLAT_ERR_ARG when a target has more than
 * max_len - 1 tokens. */
xlat_status xlat_beam_score(xlat_beam *b, int32_t B, const int32_t *const *src, const int32_t *src_len,
                            const int32_t *const *tgt, const int32_t *tgt_len, float *logprob, float *score);

/* The attention behind forced decoding of one target (bare ids; EOS is added) given its source, with the first
 * model: row t of out (tgt_len + 1, src_len) is the distribution over source positions that xlat_decoder_step
 * reports at the step that predicts output token t (row tgt_len: the EOS), i.e. the Transformer's last decoder
 * layer's cross-attention averaged over heads, or a recurrent model's attention; all zeros for a recurrent model
 * without attention. The rows' argmax are the alignments search records for the same output. Results of the last
 * xlat_beam_translate stay valid. XLAT_ERR_ARG for an empty source, a source longer than xlat_beam_max_source, a
 * target of more than max_len - 1 tokens or an id outside the vocabulary. */
xlat_status xlat_beam_attention(xlat_beam *b, const int32_t *src, int32_t src_len, const int32_t *tgt,
                                int32_t tgt_len, float *out);

/* ((5 + len) / 6)^alpha, the GNMT length penalty of a hypothesis of len tokens (counting EOS). */
double xlat_length_penalty(float alpha, int32_t len);

#ifdef __cplusplus
}
#endif
#endif

/* xlat.h - the public interface of libxlat, the one header the programs include.
 *
 * Conventions: every fallible call returns an xlat_status; xlat_last_error() then holds a message a user can act on
 * (file, line, field, value found, value expected). Whoever calls *_new / *_load calls the matching *_free; every
 * *_free accepts NULL. The library never prints to stdout and never calls exit. Arrays carry shape comments with the
 * fixed letters B batch, S source length, T target length, C d_model, H heads, F d_ff, V vocabulary, N hypotheses.
 *
 * Token ids are fixed for every xlat SentencePiece model: XLAT_PAD 0, XLAT_UNK 1, XLAT_BOS 2, XLAT_EOS 3.
 */
#ifndef XLAT_H
#define XLAT_H

#include <stddef.h>
#include <stdint.h>

#include "io.h"  /* status codes, line reader, UTF-8, atomic files (libxlatio) */
#include "spm.h" /* tokenizer/: SentencePiece wrapper */

#ifdef __cplusplus
extern "C" {
#endif

enum { XLAT_PAD = 0, XLAT_UNK = 1, XLAT_BOS = 2, XLAT_EOS = 3 };

/* Threads OpenBLAS uses inside matrix products, the library's only parallelism (call before training or decoding;
 * n >= 1). Programs call this instead of including cblas.h. */
void xlat_set_threads(int n);
/* Call first in main() (argv as main got it). When OPENBLAS_CORETYPE is unset and OpenBLAS picked kernels for an
 * older instruction set than this CPU runs (a CPU newer than the OpenBLAS release), sets it to the best core type
 * the CPU runs and executes the program again, so this returns only in the new process or when nothing changes.
 * Fails (XLAT_ERR_ARG) only when XLAT_ISA, which forces xlat's own kernels to generic, avx2 or avx512, is unknown. */
xlat_status xlat_cpu_setup(char **argv);
/* One line naming the kernels in use, e.g. "OpenBLAS kernels Cooperlake (OpenBLAS's own pick), xlat kernels
 * avx512", written into buf (n bytes); returns buf. */
const char *xlat_cpu_describe(char *buf, size_t n);

/* ---- model configuration --------------------------------------------------------------------------------------- */
typedef enum { XLAT_ACT_RELU = 0, XLAT_ACT_GELU = 1 } xlat_activation;
/* Architectures, each in its own src files behind one seam (arch.h): the Transformer (transformer_*.c) and the
 * recurrent encoder-decoders (rnn_*.c) with Elman tanh, GRU or LSTM cells. */
typedef enum { XLAT_ARCH_TRANSFORMER = 0, XLAT_ARCH_RNN = 1, XLAT_ARCH_GRU = 2, XLAT_ARCH_LSTM = 3, XLAT_N_ARCHS }
    xlat_arch_kind;
/* A recurrent decoder's attention over the encoder states: none (the encoder's final state is the context vector
 * of every step, Cho et al. 2014), Luong et al. 2015's dot and general, Bahdanau et al. 2015's additive. */
typedef enum { XLAT_ATTN_NONE = 0, XLAT_ATTN_DOT = 1, XLAT_ATTN_GENERAL = 2, XLAT_ATTN_ADDITIVE = 3 }
    xlat_attention;
/* The Transformer's positions: the fixed sinusoid added to the embeddings (Vaswani et al. 2017), a learned
 * (max_len,C) table added instead, or none added and every self-attention given learned relative-position
 * embeddings of keys and values for the distances -K..K, K = rel_clip (Shaw et al. 2018). */
typedef enum { XLAT_POS_SINUSOIDAL = 0, XLAT_POS_LEARNED = 1, XLAT_POS_RELATIVE = 2 } xlat_positions;

typedef struct {
  int32_t arch;              /* xlat_arch_kind */
  int32_t vocab_size;        /* V: the target's SentencePiece vocabulary; the joint one unless src_vocab_size */
  int32_t d_model;           /* C */
  int32_t n_heads;           /* H; d_model % n_heads == 0 */
  int32_t d_ff;              /* F */
  int32_t enc_layers, dec_layers;
  int32_t max_len;           /* longest source or target sequence in tokens (positions table size) */
  int32_t pre_norm;          /* 0: post-norm as in the paper; 1: pre-norm with a final layer norm per stack */
  int32_t activation;        /* xlat_activation */
  int32_t tied_embeddings;   /* 1: the target embedding is the output projection, and with a joint vocabulary
                              * also the source embedding: one (V,C) matrix */
  int32_t positions;         /* xlat_positions */
  int32_t rel_clip;          /* K of relative positions (distances clipped to -K..K); 0 unless relative */
  float dropout;             /* on embeddings, residual branches and the FFN inner activation */
  float attn_dropout;        /* on attention probabilities */
  /* recurrent architectures only (0 for the Transformer); d_model is then the decoder's hidden size H */
  int32_t emb_dim;           /* E: embedding size */
  int32_t attention;         /* xlat_attention */
  int32_t bidirectional;     /* 1: every encoder layer runs both ways with H/2 units each */
  int32_t input_feeding;     /* 1 (dot, general): the previous step's attentional vector joins the input */
  int32_t src_vocab_size;    /* the source's own vocabulary (separate SentencePiece models), even when its size is
                              * vocab_size; 0: one joint vocabulary for both sides */
} xlat_config;

/* The source side's vocabulary size: src_vocab_size, or vocab_size when the vocabulary is joint. */
int32_t xlat_config_src_vocab(const xlat_config *cfg);

/* Fills *out with preset "tiny" (d 128, 2+2, 4 heads, FFN 512), "small" (256, 3+3, 4, 1024),
 * "base" (512, 6+6, 8, 2048) or "big" (1024, 6+6, 16, 4096); post-norm, ReLU, tied, sinusoidal, dropout 0.1,
 * attn_dropout 0.0, max_len 256, vocab_size 8000. Or a recurrent model named by its cell, "rnn", "gru" or "lstm":
 * hidden and embedding size 256 (tied), one bidirectional layer, additive attention, dropout 0.3, max_len 256,
 * vocab_size 8000. XLAT_ERR_ARG for an unknown name. */
xlat_status xlat_config_preset(const char *name, xlat_config *out);
/* XLAT_ERR_ARG naming the first field out of range. */
xlat_status xlat_config_check(const xlat_config *cfg);
/* One line describing a checked cfg for logs, e.g. "transformer d 256, 3+3 layers, 4 heads, FFN 1024, post-norm,
 * ReLU, relative positions (K 16), tied embeddings, dropout 0.1" (learned positions say so, sinusoids nothing) or
 * "gru, hidden 256, embeddings 256, 1+1 layers, bidirectional, additive attention, tied embeddings, dropout 0.3",
 * written into buf (n bytes); returns buf. */
const char *xlat_config_describe(const xlat_config *cfg, char *buf, size_t n);
/* The name of architecture kind ("transformer"), NULL for an unknown kind; and the kind named name, -1 if none. */
const char *xlat_arch_name(int32_t kind);
int32_t xlat_arch_by_name(const char *name);

/* ---- model (weights only; shareable between threads as const) -------------------------------------------------- */
typedef struct xlat_model xlat_model;

/* New model with freshly initialized weights (Xavier-uniform matrices, N(0, C^-1/2) embeddings, N(0, D^-1/2)
 * relative-position embeddings, unit layer norms), drawn from a generator seeded with seed. */
xlat_status xlat_model_new(const xlat_config *cfg, uint64_t seed, xlat_model **out);
void xlat_model_free(xlat_model *m);
const xlat_config *xlat_model_config(const xlat_model *m);
size_t xlat_model_num_params(const xlat_model *m);
/* Checksum of the SentencePiece model the weights were trained with (xlat_spm_checksum), 0 when unset. */
uint64_t xlat_model_tokenizer_checksum(const xlat_model *m);
void xlat_model_set_tokenizer_checksum(xlat_model *m, uint64_t checksum);
/* CRC32 of m's weights: ranks of a data-parallel run check they start from the same model. */
uint32_t xlat_model_checksum(const xlat_model *m);
/* Dropout rates used when m is trained next (they change no parameter): a fine-tuned or resumed run's own choice. */
xlat_status xlat_model_set_dropout(xlat_model *m, float dropout, float attn_dropout);

/* ---- training -------------------------------------------------------------------------------------------------- */
/* One batch of sentence pairs, padded with XLAT_PAD. tgt_in is BOS y1..y(n-1), tgt_out is y1..yn EOS. */
typedef struct {
  int32_t B, S, T;
  const int32_t *src;     /* (B,S) */
  const int32_t *tgt_in;  /* (B,T) */
  const int32_t *tgt_out; /* (B,T) */
} xlat_batch;

typedef struct {
  float lr;              /* peak learning rate, reached after warmup_steps */
  int32_t warmup_steps;  /* linear warmup, then lr * sqrt(warmup / step) */
  float beta1, beta2, eps;
  float clip_norm;       /* global gradient-norm clipping; 0 disables */
  float weight_decay;    /* decoupled (AdamW); 0 disables */
  float label_smoothing; /* 0.1 default */
  float ema_decay;       /* exponential moving average of the weights (Marian's exponential smoothing); 0 disables */
  int32_t max_tokens;    /* largest batch the arena is sized for: B*max(S,T) tokens */
  int32_t max_len;       /* longest S or T a batch may have (<= config max_len) */
} xlat_train_options;

void xlat_train_options_default(xlat_train_options *o); /* lr 7e-4, warmup 4000, Adam 0.9/0.98/1e-9, clip 0,
                                                            wd 0, ls 0.1, ema 0, max_tokens 4096, max_len 256 */

/* Counters the trainer program keeps across a resume; the library stores them in checkpoints untouched. */
typedef struct {
  int64_t epoch, batch_in_epoch, sentences_seen, target_tokens_seen;
  int64_t validations, bad_validations; /* bad_validations: since the best dev BLEU (early stopping) */
  double best_bleu, best_dev_loss, train_seconds; /* best_bleu: of the metric that decides (BLEU, or chrF) */
} xlat_progress;

/* Per-run training state: gradients, Adam moments, step, RNG for dropout, activation arena, progress counters.
 * Holds a pointer to the model it updates (the model must outlive it). Nothing is allocated after _new. */
typedef struct xlat_trainer xlat_trainer;

xlat_status xlat_trainer_new(xlat_model *m, const xlat_train_options *opt, uint64_t seed, xlat_trainer **out);
void xlat_trainer_free(xlat_trainer *t);
/* Forward and backward with dropout; accumulates gradients (update frequency = calls before an update).
 * Adds the label-smoothed loss summed over non-pad target tokens to *loss_sum and their count to *ntokens. */
xlat_status xlat_trainer_accumulate(xlat_trainer *t, const xlat_batch *b, double *loss_sum, int64_t *ntokens);
/* Gradients divided by the accumulated token count, clipped, one Adam step at the scheduled rate, gradients zeroed,
 * step + 1. Returns the rate used in *lr_used and the gradient norm before clipping in *grad_norm (either NULL). */
xlat_status xlat_trainer_update(xlat_trainer *t, float *lr_used, float *grad_norm);
/* Loss without dropout and without touching gradients: summed cross entropy (no smoothing) and token count, of the
 * weights validation keeps (xlat_trainer_ema_model: the EMA weights when EMA is on). */
xlat_status xlat_trainer_eval_loss(xlat_trainer *t, const xlat_batch *b, double *nll_sum, int64_t *ntokens);
int64_t xlat_trainer_step(const xlat_trainer *t);
float xlat_trainer_lr(const xlat_trainer *t, int64_t step); /* the schedule, for logs */
xlat_progress *xlat_trainer_progress(xlat_trainer *t);
/* The options t trains with (after xlat_trainer_restore: the checkpoint's). */
const xlat_train_options *xlat_trainer_options(const xlat_trainer *t);
/* Replace the optimizer options (fine-tuning: fresh schedule); resets step, moments and progress when reset != 0. */
xlat_status xlat_trainer_reset(xlat_trainer *t, const xlat_train_options *opt, int reset);
/* The model holding the EMA weights (for validation and saving), or the trained model when EMA is off. */
const xlat_model *xlat_trainer_ema_model(const xlat_trainer *t);

/* ---- data parallelism over MPI (dist.c) ------------------------------------------------------------------------
 * A program started by mpirun (or another MPI launcher) is one of size ranks; otherwise, and in a build without MPI,
 * it is rank 0 of 1 and these calls do nothing. Ranks other than 0 draw their dropout masks from (seed, step, rank),
 * so a resumed run with the same number of ranks repeats them; rank 0 keeps the single-process stream. */
xlat_status xlat_dist_init(int *argc, char ***argv); /* first thing in main, after xlat_cpu_setup */
void xlat_dist_finalize(void);
void xlat_dist_abort(int status); /* ends every rank (one failed: the others would wait forever) */
int xlat_dist_rank(void);
int xlat_dist_size(void);
int xlat_dist_built(void);  /* 1 when this build has MPI (not -DXLAT_MPI=OFF) */
int xlat_dist_max(int v);   /* the largest v of all ranks, on every rank (any rank wants to stop) */
int xlat_dist_bcast(int v); /* rank 0's v on every rank */
int xlat_dist_agree(uint64_t v); /* 1 when every rank has the same v */
void xlat_dist_barrier(void);
/* n bytes to rank to, in order with earlier sends; xlat_dist_recv returns them malloc'ed (caller frees *data). */
xlat_status xlat_dist_send(int to, const void *data, size_t n);
xlat_status xlat_dist_recv(int from, char **data, size_t *n);
/* Sums over the ranks the gradients accumulated since the last update, the target token count they are divided by,
 * and sums[0..n) (n <= 16: the step's loss and tokens for the log), so every rank's next xlat_trainer_update is the
 * same: N ranks on N batches make the update one process makes with update frequency N, to float summation order. */
xlat_status xlat_trainer_allreduce(xlat_trainer *t, double *sums, int n);
/* The next xlat_trainer_accumulate is this rank's last before xlat_trainer_allreduce: its backward pass starts
 * summing the gradients over the ranks, a bucket of layers at a time, as soon as they are final, so the transfer
 * overlaps the rest of the backward pass (no effect with one rank, or for an architecture that reports no layers). */
void xlat_trainer_reduce_next(xlat_trainer *t);

/* ---- checkpoints ----------------------------------------------------------------------------------------------- */
/* Versioned binary: magic, version, config, tokenizer checksum, every tensor, optimizer state, step, RNG state and
 * progress when t != NULL; each section CRC32-checked. Written to path.tmp, fsynced, renamed over path, directory
 * fsynced: a crash or a full disk leaves the previous file intact. The same state always gives the same bytes.
 * With t, m must be t's own model (XLAT_ERR_ARG otherwise); t's EMA weights, when it keeps them, are saved too. */
xlat_status xlat_checkpoint_save(const char *path, const xlat_model *m, const xlat_trainer *t);
/* Loads the weights (and config) saved as m; a trainer's EMA weights stay in the file for xlat_trainer_restore
 * (save xlat_trainer_ema_model() on its own to translate with them). A truncated, corrupted (CRC mismatch, naming
 * the section), wrong-magic or wrong-version file is refused, the message saying which. */
xlat_status xlat_model_load(const char *path, xlat_model **out);
/* Resumes t from a checkpoint saved with trainer state and the same architecture: t's model weights (the trained
 * ones), Adam moments, EMA weights, step, RNG and progress, and the optimizer options lr, warmup, betas, eps, clip,
 * weight decay and label smoothing (t's ema_decay, max_tokens and max_len stay; call xlat_trainer_reset after to
 * change options). Gradients are zeroed. Nothing in t changes when the file is refused. */
xlat_status xlat_trainer_restore(xlat_trainer *t, const char *path);
/* What a checkpoint holds, read without its weights (xlat-train info). */
typedef struct {
  uint32_t version;            /* file format version */
  uint64_t bytes;              /* file size */
  xlat_config cfg;
  uint64_t tokenizer_checksum; /* xlat_spm_checksum of the SentencePiece model it was trained with; 0 when unset */
  size_t num_params;           /* as xlat_model_num_params */
  int has_trainer;             /* 1: optimizer options, step, progress and Adam moments (a checkpoint to resume) */
  int has_ema;                 /* 1: EMA weights too */
  /* has_trainer only (zero otherwise): */
  xlat_train_options opt;      /* every option the file stores: all but max_len (0) */
  int64_t step;                /* updates done */
  xlat_progress progress;
} xlat_checkpoint_info;
/* Checks the whole file as xlat_model_load does (magic, version, every CRC, structure) and fills *out. */
xlat_status xlat_checkpoint_read_info(const char *path, xlat_checkpoint_info *out);
/* Element-wise mean (summed in double) of the weights xlat_model_load gives of n checkpoints with one architecture
 * and tokenizer, written as a weights-only checkpoint (XLAT_ERR_MISMATCH naming the field otherwise). */
xlat_status xlat_checkpoint_average(const char *const *paths, int n, const char *out_path);

/* ---- decoding -------------------------------------------------------------------------------------------------- */
/* Per-run decoding state: encoder memory, cross-attention K/V per sentence, self-attention K/V cache per hypothesis,
 * scratch. One per thread; the model is shared read-only. */
typedef struct xlat_decoder xlat_decoder;

/* Sized for up to max_sentences source sentences of up to max_src tokens, max_hyps live hypotheses, and outputs of
 * up to max_tgt tokens. The model's weights must not change while any decoder of it exists: the decoders of one
 * model share a packed copy of its decoder weights, taken when the first of them is made. */
xlat_status xlat_decoder_new(const xlat_model *m, int32_t max_sentences, int32_t max_src, int32_t max_hyps,
                             int32_t max_tgt, xlat_decoder **out);
void xlat_decoder_free(xlat_decoder *d);
/* Runs the encoder once on a padded batch and computes every layer's cross-attention K/V per sentence; clears the
 * hypothesis cache. src: (B,S) padded with XLAT_PAD. */
xlat_status xlat_decoder_encode(xlat_decoder *d, const int32_t *src, int32_t B, int32_t S);
/* One decoder step for N hypotheses at target position pos (0 for the first token, BOS): hyp_sent (N) says which
 * encoded sentence each hypothesis translates, tokens (N) is each one's last token. Writes log-probabilities (N,V)
 * and, when attn != NULL, the last layer's cross-attention averaged over heads (N,S). Hypothesis i's self-attention
 * cache row is i. */
xlat_status xlat_decoder_step(xlat_decoder *d, int32_t N, const int32_t *hyp_sent, const int32_t *tokens,
                              int32_t pos, float *logprobs, float *attn);
/* After a step, keeps hypotheses parent[0..N-1] (indices into the previous step's rows, repeats allowed; N may
 * differ from the step's) as rows 0..N-1. Every row's results depend only on its own sentence and tokens, bit for
 * bit: not on N, the other rows, the order of rows or the padding of the source batch. */
xlat_status xlat_decoder_reorder(xlat_decoder *d, int32_t N, const int32_t *parent);

#ifdef __cplusplus
}
#endif

/* Parallel corpus reading, id cache, token-based batches; needs xlat_status and xlat_batch from above. */
#include "corpus.h"
/* Beam search, forced decoding and ensembles over the decoder API above. */
#include "beam.h"
/* Line charts and heatmaps written as SVG. */
#include "svg.h"
/* Texts in, translations out, for many callers at once: the document pipeline and the service share it. */
#include "translator.h"
#endif

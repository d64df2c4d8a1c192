/* metrics.h - sacreBLEU-compatible BLEU, chrF and TER (the numbers equal sacreBLEU 2.x's for the same options).
 *
 * Self-contained: needs only libc, zlib and libm (no libxlat), so the trainer can link it for validation and
 * xlat-bleu is a thin program over it. Strings are UTF-8, one segment each; invalid UTF-8 is an error.
 * Every fallible call returns 0 on success or -1 with a message in xlat_metrics_error() (thread-local text that
 * names what failed: the segment, the byte, the value). Nothing here prints or exits, keeps caller pointers or
 * holds global state, so threads may score concurrently.
 *
 * Quick use (trainer validation):  xlat_bleu_result r;
 *   const char *const *refs[1] = {ref_lines};
 *   if (xlat_bleu_corpus(hyp_lines, refs, n, 1, NULL, &r) == 0) ... r.score ...   (NULL options = sacreBLEU's
 *   defaults: 13a, exp smoothing, cased)
 *
 * Reference layout: refs[r][i] is reference r of segment i (r < nrefs, i < n), as sacreBLEU's list of reference
 * streams. */
#ifndef XLAT_METRICS_H
#define XLAT_METRICS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

const char *xlat_metrics_error(void);

/* ---- BLEU ---------------------------------------------------------------------------------------------------- */

typedef enum {
  XLAT_BLEU_TOK_13A, /* mteval-v13a (sacreBLEU's default) */
  XLAT_BLEU_TOK_INTL,
  XLAT_BLEU_TOK_ZH,
  XLAT_BLEU_TOK_CHAR,
  XLAT_BLEU_TOK_NONE
} xlat_bleu_tokenizer;

typedef enum {
  XLAT_BLEU_SMOOTH_EXP, /* default */
  XLAT_BLEU_SMOOTH_FLOOR,
  XLAT_BLEU_SMOOTH_ADD_K,
  XLAT_BLEU_SMOOTH_NONE
} xlat_bleu_smooth;

typedef struct {
  xlat_bleu_tokenizer tokenizer;
  xlat_bleu_smooth smooth;
  double smooth_value; /* < 0: the method's default (floor 0.1, add-k 1) */
  int lowercase;       /* Python str.lower() before tokenizing */
  int effective_order; /* sentence-level BLEU: average only over the orders with n-grams */
} xlat_bleu_options;

/* sacreBLEU's defaults: 13a, exp smoothing, cased, no effective order. */
void xlat_bleu_options_default(xlat_bleu_options *o);

/* Sufficient statistics of one segment (or a sum of them): hyp_len, ref_len, correct[1..4], total[1..4]. */
#define XLAT_BLEU_NSTATS 10

typedef struct {
  double score;         /* 0..100 */
  double counts[4];     /* matched n-grams (add-k included, hence double) */
  double totals[4];     /* hypothesis n-grams (add-k included) */
  double precisions[4]; /* percentages */
  double bp, ratio;     /* brevity penalty; hyp_len / ref_len (0 when ref_len is 0) */
  int64_t hyp_len, ref_len;
} xlat_bleu_result;

/* Corpus BLEU of hyps[0..n) against nrefs reference streams (o may be NULL for the defaults). */
int xlat_bleu_corpus(const char *const *hyps, const char *const *const *refs, int64_t n, int nrefs,
                     const xlat_bleu_options *o, xlat_bleu_result *out);

/* Sentence BLEU as sacreBLEU's sentence_bleu(): o's settings, effective order forced on. */
int xlat_bleu_sentence(const char *hyp, const char *const *refs, int nrefs, const xlat_bleu_options *o,
                       xlat_bleu_result *out);

/* Per-segment statistics into stats[i * XLAT_BLEU_NSTATS ...] (for bootstrap and paired tests). */
int xlat_bleu_stats(const char *const *hyps, const char *const *const *refs, int64_t n, int nrefs,
                    const xlat_bleu_options *o, int64_t *stats);

/* Score from summed statistics (sacreBLEU's compute_bleu). */
void xlat_bleu_from_stats(const int64_t stats[XLAT_BLEU_NSTATS], const xlat_bleu_options *o, xlat_bleu_result *out);

/* The tokens sacreBLEU would score for s (lowercase + rstrip + tokenizer), joined by single spaces, into a
 * malloc'ed string the caller frees. */
int xlat_bleu_tokenize(const char *s, const xlat_bleu_options *o, char **out);

/* ---- chrF / chrF++ ------------------------------------------------------------------------------------------- */

typedef struct {
  int char_order;    /* 6 */
  int word_order;    /* 0; 2 = chrF++ */
  int beta;          /* 2 */
  int lowercase;     /* Python str.lower() first */
  int whitespace;    /* keep whitespace in the character n-grams */
  int eps_smoothing; /* chrF++.py's eps smoothing instead of sacreBLEU's effective order */
} xlat_chrf_options;

void xlat_chrf_options_default(xlat_chrf_options *o);
/* Statistics per segment: [hyp, ref, match] for each char order, then each word order. */
int xlat_chrf_nstats(const xlat_chrf_options *o);
int xlat_chrf_corpus(const char *const *hyps, const char *const *const *refs, int64_t n, int nrefs,
                     const xlat_chrf_options *o, double *score);
int xlat_chrf_sentence(const char *hyp, const char *const *refs, int nrefs, const xlat_chrf_options *o, double *score);
/* stats[i * xlat_chrf_nstats(o) ...]: the statistics of segment i against its best reference. */
int xlat_chrf_stats(const char *const *hyps, const char *const *const *refs, int64_t n, int nrefs,
                    const xlat_chrf_options *o, int64_t *stats);
double xlat_chrf_from_stats(const int64_t *stats, const xlat_chrf_options *o);

/* ---- TER ----------------------------------------------------------------------------------------------------- */

typedef struct {
  int case_sensitive; /* default: lowercase first */
  int normalized;     /* Tercom's 13a-like normalisation */
  int no_punct;       /* drop . , ? : ; ! " ( ) */
  int asian_support;  /* split CJK characters (with normalized), drop CJK punctuation (with no_punct) */
} xlat_ter_options;

typedef struct {
  double score;      /* 100 * num_edits / ref_length; may exceed 100 */
  double num_edits;  /* shifts + edits, best reference per segment, summed */
  double ref_length; /* average reference length per segment, summed */
} xlat_ter_result;

void xlat_ter_options_default(xlat_ter_options *o);
int xlat_ter_corpus(const char *const *hyps, const char *const *const *refs, int64_t n, int nrefs,
                    const xlat_ter_options *o, xlat_ter_result *out);
int xlat_ter_sentence(const char *hyp, const char *const *refs, int nrefs, const xlat_ter_options *o,
                      xlat_ter_result *out);
/* stats[2 * i] = edits of segment i, stats[2 * i + 1] = its average reference length. */
int xlat_ter_stats(const char *const *hyps, const char *const *const *refs, int64_t n, int nrefs,
                   const xlat_ter_options *o, double *stats);
double xlat_ter_from_stats(const double stats[2]);

/* ---- confidence intervals and paired significance tests ----------------------------------------------------- */

/* Score of summed per-segment statistics (e.g. BLEU from its 10 sums); ctx is the caller's. */
typedef double (*xlat_score_fn)(const double *sum, void *ctx);

/* stats: n rows of ns statistics. Bootstrap over segments (samples resamples, seeded): mean of the resampled
 * scores and half-width of their 95% interval, as sacreBLEU's --confidence. */
int xlat_bootstrap_ci(const double *stats, int64_t n, int ns, xlat_score_fn f, void *ctx, int samples, uint64_t seed,
                      double *mean, double *ci);
/* Paired bootstrap of sys against base (same resamples): p-value, and sys's bootstrap mean and 95% half-width. */
int xlat_paired_bootstrap(const double *base, const double *sys, int64_t n, int ns, xlat_score_fn f, void *ctx,
                          int samples, uint64_t seed, double *p_value, double *mean, double *ci);
/* Paired approximate randomisation (segment-wise swaps), trials trials: p-value. */
int xlat_paired_ar(const double *base, const double *sys, int64_t n, int ns, xlat_score_fn f, void *ctx, int trials,
                   uint64_t seed, double *p_value);

#ifdef __cplusplus
}
#endif

#endif

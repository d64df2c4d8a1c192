/* validate.c - dev loss, dev BLEU and chrF during training.
 *
 * Dev loss runs the trainer's evaluation pass (no dropout, gradients untouched) over length-sorted batches of the
 * dev pairs whose source is not empty. The translation metrics translate the dev sources once with the decoder's
 * beam search and score the detokenized output against the dev target lines as they are in the file, with the
 * metrics library (the same numbers sacreBLEU prints); the translations can also go to a file (io.h's atomic
 * writer). Nothing here touches the training RNG, so validating does not change what training does.
 */
#include "validate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"
#include "metrics.h"

#define BLEU_CHUNK 256 /* sentences per xlat_beam_translate call (it cuts them into sub-batches by memory) */

struct validator {
  const xlat_spm *spm; /* the target's: translations to text */
  validator_options o;
  xlat_corpus *dev;      /* every dev pair, aligned with refs */
  xlat_corpus *loss_set; /* the pairs with a non-empty source */
  xlat_batcher *batches;
  int64_t nbatches;
  int64_t n_bleu;        /* sentences translated and scored */
  char **refs;           /* (n_bleu) raw reference lines */
  char **hyps;           /* (n_bleu) scratch for the detokenized translations */
  double unigram_entropy;
};

static xlat_status fail_nomem(void) {
  fprintf(stderr, "xlat-train: out of memory while preparing the dev set\n");
  return XLAT_ERR_NOMEM;
}

/* Prints the library's message for a failed call st (when it has not been printed yet); returns st. */
static xlat_status report(xlat_status st) {
  if (st != XLAT_OK && st != XLAT_ERR_NOMEM) fprintf(stderr, "xlat-train: %s\n", xlat_last_error());
  return st;
}

static char **read_lines(const char *path, int64_t n, xlat_status *st) {
  char **out = calloc((size_t)n + 1, sizeof *out);
  xlat_lines *r = NULL;
  *st = out ? report(xlat_lines_open(path, &r)) : fail_nomem();
  for (int64_t i = 0; *st == XLAT_OK && i < n; i++) {
    const char *line;
    size_t len;
    *st = report(xlat_lines_next(r, &line, &len));
    if (*st != XLAT_OK) break;
    if (!line) { /* the corpus reader checked the line counts: the file changed since */
      fprintf(stderr, "xlat-train: %s ended at line %lld while reading the dev references\n", path, (long long)i);
      *st = XLAT_ERR_MISMATCH;
      break;
    }
    out[i] = malloc(len + 1);
    if (!out[i]) {
      *st = fail_nomem();
      break;
    }
    memcpy(out[i], line, len + 1);
  }
  xlat_lines_close(r);
  return out;
}

static double unigram_entropy(const xlat_corpus *c, int32_t vocab) {
  double *count = calloc((size_t)vocab, sizeof *count), total = 0, h = 0;
  if (!count) return NAN;
  for (int64_t i = 0; i < xlat_corpus_size(c); i++) {
    const int32_t *s, *t;
    int32_t sl, tl;
    xlat_corpus_pair(c, i, &s, &sl, &t, &tl);
    for (int32_t k = 0; k < tl; k++)
      if (t[k] >= 0 && t[k] < vocab) count[t[k]] += 1;
    count[XLAT_EOS] += 1;
    total += tl + 1;
  }
  for (int32_t k = 0; k < vocab; k++)
    if (count[k] > 0) h -= count[k] / total * log(count[k] / total);
  free(count);
  return h;
}

xlat_status validator_new(const char *src_path, const char *tgt_path, const xlat_spm *src_spm,
                          const xlat_spm *tgt_spm, const validator_options *o, validator **out) {
  *out = NULL;
  validator *v = calloc(1, sizeof *v);
  if (!v) return fail_nomem();
  v->spm = tgt_spm;
  v->o = *o;
  xlat_corpus_options co;
  xlat_corpus_options_default(&co);
  co.max_tokens = 0;
  co.max_ratio = 0;
  co.drop_empty = 0;
  xlat_status st = report(xlat_corpus_load(src_path, tgt_path, src_spm, tgt_spm, &co, &v->dev));
  int64_t n = st == XLAT_OK ? xlat_corpus_size(v->dev) : 0;

  /* the loss set: pairs with a source (an empty source has nothing to attend to) */
  const int32_t **src = NULL, **tgt = NULL;
  int32_t *sl = NULL, *tl = NULL;
  int64_t m = 0;
  if (st == XLAT_OK) {
    src = malloc(sizeof *src * (size_t)n);
    tgt = malloc(sizeof *tgt * (size_t)n);
    sl = malloc(sizeof *sl * (size_t)n);
    tl = malloc(sizeof *tl * (size_t)n);
    if (!src || !tgt || !sl || !tl) st = fail_nomem();
  }
  for (int64_t i = 0; st == XLAT_OK && i < n; i++) {
    xlat_corpus_pair(v->dev, i, &src[m], &sl[m], &tgt[m], &tl[m]);
    if (sl[m] > 0) m++;
  }
  if (st == XLAT_OK) st = report(xlat_corpus_from_ids(m, src, sl, tgt, tl, &v->loss_set));
  free(src);
  free(tgt);
  free(sl);
  free(tl);
  if (st == XLAT_OK) st = report(xlat_batcher_new(v->loss_set, o->max_tokens, o->max_len, 0, &v->batches));
  if (st == XLAT_OK) v->nbatches = xlat_batcher_epoch(v->batches, 0);

  if (st == XLAT_OK && (o->bleu || o->chrf || o->translation_output)) {
    v->n_bleu = o->max_sentences > 0 && o->max_sentences < n ? o->max_sentences : n;
    v->refs = read_lines(tgt_path, v->n_bleu, &st);
    v->hyps = calloc((size_t)v->n_bleu + 1, sizeof *v->hyps);
    if (st == XLAT_OK && !v->hyps) st = fail_nomem();
  }
  if (st == XLAT_OK) v->unigram_entropy = unigram_entropy(v->dev, xlat_spm_vocab_size(tgt_spm));
  if (st != XLAT_OK) {
    validator_free(v);
    return st;
  }
  *out = v;
  return XLAT_OK;
}

void validator_free(validator *v) {
  if (!v) return;
  for (int64_t i = 0; v->refs && i < v->n_bleu; i++) free(v->refs[i]);
  for (int64_t i = 0; v->hyps && i < v->n_bleu; i++) free(v->hyps[i]);
  free(v->refs);
  free(v->hyps);
  xlat_batcher_free(v->batches);
  xlat_corpus_free(v->loss_set);
  xlat_corpus_free(v->dev);
  free(v);
}

double validator_unigram_entropy(const validator *v) { return v->unigram_entropy; }

/* Translates the first n_bleu dev sources with m into v->hyps (detokenized). */
static xlat_status translate(validator *v, const xlat_model *m) {
  xlat_beam_options bo;
  xlat_beam_options_default(&bo);
  bo.beam_size = v->o.beam_size;
  bo.length_penalty = v->o.length_penalty;
  xlat_beam *beam = NULL;
  xlat_status st = xlat_beam_new(&m, 1, &bo, &beam);
  if (st != XLAT_OK) return report(st);
  int32_t max_src = xlat_beam_max_source(beam);
  const int32_t *src[BLEU_CHUNK];
  int32_t len[BLEU_CHUNK];
  for (int64_t i0 = 0; st == XLAT_OK && i0 < v->n_bleu; i0 += BLEU_CHUNK) {
    int32_t B = (int32_t)(v->n_bleu - i0 < BLEU_CHUNK ? v->n_bleu - i0 : BLEU_CHUNK);
    for (int32_t b = 0; b < B; b++) {
      const int32_t *t;
      int32_t tl;
      xlat_corpus_pair(v->dev, i0 + b, &src[b], &len[b], &t, &tl);
      if (len[b] > max_src) len[b] = max_src; /* scored as it is: the reference stays whole */
    }
    const xlat_translation *tr;
    st = report(xlat_beam_translate(beam, B, src, len, &tr));
    for (int32_t b = 0; st == XLAT_OK && b < B; b++) {
      free(v->hyps[i0 + b]);
      v->hyps[i0 + b] = NULL;
      if (xlat_spm_decode_ids(v->spm, tr[b].hyps[0].ids, (size_t)tr[b].hyps[0].len, &v->hyps[i0 + b]) != 0) {
        fprintf(stderr, "xlat-train: dev sentence %lld: %s\n", (long long)(i0 + b + 1), xlat_spm_last_error());
        st = XLAT_ERR_FORMAT;
      }
    }
  }
  xlat_beam_free(beam);
  return st;
}

/* Writes v->hyps, one a line, to the translation output (its "{U}"s replaced by step), atomically. */
static xlat_status write_translations(validator *v, int64_t step) {
  const char *pattern = v->o.translation_output;
  char num[24];
  int nl = snprintf(num, sizeof num, "%lld", (long long)step);
  size_t n = strlen(pattern) + 1;
  for (const char *q = strstr(pattern, "{U}"); q; q = strstr(q + 3, "{U}")) n += (size_t)nl;
  char *path = malloc(n), *w = path;
  if (!path) return fail_nomem();
  for (const char *q = pattern; *q;) {
    if (!strncmp(q, "{U}", 3)) {
      memcpy(w, num, (size_t)nl), w += nl, q += 3;
    } else {
      *w++ = *q++;
    }
  }
  *w = '\0';
  xlat_atomic_file af;
  xlat_status st = xlat_atomic_open(&af, path);
  for (int64_t i = 0; st == XLAT_OK && i < v->n_bleu; i++) {
    size_t len = strlen(v->hyps[i]);
    if (xlat_atomic_write(&af, v->hyps[i], len) != 0 || xlat_atomic_write(&af, "\n", 1) != 0) break;
  }
  if (st == XLAT_OK) st = xlat_atomic_commit(&af); /* reports a failed write */
  if (st != XLAT_OK) fprintf(stderr, "xlat-train: dev translations: %s\n", xlat_last_error());
  free(path);
  return st;
}

xlat_status validator_run(validator *v, xlat_trainer *t, int64_t step, validator_scores *out) {
  double nll = 0;
  int64_t ntok = 0;
  out->loss = out->bleu = out->chrf = NAN;
  for (int64_t i = 0; i < v->nbatches; i++) {
    xlat_batch b;
    xlat_status st = xlat_batcher_get(v->batches, i, &b);
    if (st == XLAT_OK) st = xlat_trainer_eval_loss(t, &b, &nll, &ntok);
    if (st != XLAT_OK) return report(st);
  }
  out->loss = ntok ? nll / (double)ntok : NAN;
  if (!v->hyps || v->n_bleu == 0) return XLAT_OK;
  xlat_status st = translate(v, xlat_trainer_ema_model(t));
  if (st == XLAT_OK && v->o.translation_output) st = write_translations(v, step);
  if (st != XLAT_OK) return st;
  const char *const *hyps = (const char *const *)v->hyps, *const *refs[1] = {(const char *const *)v->refs};
  xlat_bleu_result r;
  if (v->o.bleu && xlat_bleu_corpus(hyps, refs, v->n_bleu, 1, NULL, &r) != 0) {
    fprintf(stderr, "xlat-train: dev BLEU: %s\n", xlat_metrics_error());
    return XLAT_ERR_FORMAT;
  }
  if (v->o.bleu) out->bleu = r.score;
  if (v->o.chrf && xlat_chrf_corpus(hyps, refs, v->n_bleu, 1, NULL, &out->chrf) != 0) {
    fprintf(stderr, "xlat-train: dev chrF: %s\n", xlat_metrics_error());
    return XLAT_ERR_FORMAT;
  }
  return XLAT_OK;
}

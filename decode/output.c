/* output.c - output formats of xlat-decode, and its output file (io.h's atomic writer, or standard output).
 *
 * Alignments are printed as Moses-style "s-t" pairs of 0-based source and output token (SentencePiece piece)
 * positions: for each output token, the source token the model attended to most.
 */
#include "output.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Hypothesis k of a segment, or its last one when it has fewer. */
static const xlat_seg_hyp *hyp_at(const xlat_seg_result *s, int32_t k) { return &s->hyps[k < s->n ? k : s->n - 1]; }

static void put_text(FILE *f, const xlat_seg_result *segs, int32_t n, int32_t k) {
  int first = 1;
  for (int32_t i = 0; i < n; i++) {
    const char *t = hyp_at(&segs[i], k)->text;
    if (!*t) continue;
    if (!first) fputc(' ', f);
    fputs(t, f);
    first = 0;
  }
}

static float sum_scores(const xlat_seg_result *segs, int32_t n, int32_t k) {
  float s = 0.0f;
  for (int32_t i = 0; i < n; i++) s += hyp_at(&segs[i], k)->score;
  return s;
}

static void put_json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
    else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
    else fputc(*p, f);
  }
  fputc('"', f);
}

static void put_json_number(FILE *f, float x) {
  if (isfinite(x)) fprintf(f, "%.6f", (double)x);
  else fputs("null", f);
}

static void put_json_text(FILE *f, const xlat_seg_result *segs, int32_t n, int32_t k) {
  /* joined like put_text, escaped */
  size_t len = 1;
  for (int32_t i = 0; i < n; i++) len += strlen(hyp_at(&segs[i], k)->text) + 1;
  char *buf = malloc(len), *at = buf;
  if (!buf) {
    fputs("\"\"", f);
    return;
  }
  for (int32_t i = 0; i < n; i++) {
    const char *t = hyp_at(&segs[i], k)->text;
    if (!*t) continue;
    if (at != buf) *at++ = ' ';
    size_t l = strlen(t);
    memcpy(at, t, l);
    at += l;
  }
  *at = '\0';
  put_json_string(f, buf);
  free(buf);
}

/* Alignment pairs of the best hypotheses, positions offset by the earlier segments; sep between pairs, pair
 * written as fmt (two ints). */
static void put_alignment(FILE *f, const xlat_seg_result *segs, int32_t n, const char *fmt, const char *sep) {
  int32_t src_off = 0, tgt_off = 0;
  int first = 1;
  for (int32_t i = 0; i < n; i++) {
    const xlat_seg_hyp *h = hyp_at(&segs[i], 0);
    for (int32_t t = 0; h->align && t < h->len; t++) {
      if (!first) fputs(sep, f);
      fprintf(f, fmt, src_off + h->align[t], tgt_off + t);
      first = 0;
    }
    src_off += segs[i].src_len;
    tgt_off += h->len;
  }
}

int out_line(FILE *f, out_format fmt, int64_t number, const xlat_seg_result *segs, int32_t n, int32_t n_best) {
  switch (fmt) {
  case FORMAT_TEXT:
    put_text(f, segs, n, 0);
    break;
  case FORMAT_SCORES:
    fprintf(f, "%.6f\t", (double)sum_scores(segs, n, 0));
    put_text(f, segs, n, 0);
    break;
  case FORMAT_IDS: {
    int first = 1;
    for (int32_t i = 0; i < n; i++) {
      const xlat_seg_hyp *h = hyp_at(&segs[i], 0);
      for (int32_t t = 0; t < h->len; t++, first = 0) fprintf(f, first ? "%d" : " %d", h->ids[t]);
    }
    break;
  }
  case FORMAT_ALIGN:
    put_text(f, segs, n, 0);
    fputs(" ||| ", f);
    put_alignment(f, segs, n, "%d-%d", " ");
    break;
  case FORMAT_JSON: {
    fprintf(f, "{\"line\": %lld, \"translation\": ", (long long)number + 1);
    put_json_text(f, segs, n, 0);
    fputs(", \"score\": ", f);
    put_json_number(f, sum_scores(segs, n, 0));
    fputs(", \"ids\": [", f);
    int first = 1;
    for (int32_t i = 0; i < n; i++) {
      const xlat_seg_hyp *h = hyp_at(&segs[i], 0);
      for (int32_t t = 0; t < h->len; t++, first = 0) fprintf(f, first ? "%d" : ", %d", h->ids[t]);
    }
    fputs("], \"alignment\": [", f);
    put_alignment(f, segs, n, "[%d, %d]", ", ");
    fputc(']', f);
    if (n_best > 1) {
      int32_t k_max = 1;
      for (int32_t i = 0; i < n; i++)
        if (segs[i].n > k_max) k_max = segs[i].n;
      fputs(", \"nbest\": [", f);
      for (int32_t k = 0; k < k_max && n > 0; k++) {
        fputs(k ? ", {\"translation\": " : "{\"translation\": ", f);
        put_json_text(f, segs, n, k);
        fputs(", \"score\": ", f);
        put_json_number(f, sum_scores(segs, n, k));
        fputc('}', f);
      }
      fputc(']', f);
    }
    fputc('}', f);
    break;
  }
  case FORMAT_NBEST: {
    int32_t k_max = 1;
    for (int32_t i = 0; i < n; i++)
      if (segs[i].n > k_max) k_max = segs[i].n;
    for (int32_t k = 0; k < k_max; k++) {
      fprintf(f, "%lld ||| ", (long long)number);
      if (n > 0) put_text(f, segs, n, k);
      fprintf(f, " ||| %.6f", (double)(n > 0 ? sum_scores(segs, n, k) : 0.0f));
      if (k + 1 < k_max) fputc('\n', f);
    }
    break;
  }
  }
  return fputc('\n', f) == EOF ? -1 : 0;
}

int out_score(FILE *f, out_format fmt, int64_t number, float score, float logprob, int32_t len) {
  if (fmt == FORMAT_JSON) {
    fprintf(f, "{\"line\": %lld, \"score\": ", (long long)number + 1);
    put_json_number(f, score);
    fputs(", \"logprob\": ", f);
    put_json_number(f, logprob);
    fprintf(f, ", \"tokens\": %d}", len);
  } else {
    fprintf(f, "%.6f", (double)score);
  }
  return fputc('\n', f) == EOF ? -1 : 0;
}

int out_open(out_file *o, const char *path) {
  memset(o, 0, sizeof *o);
  if (!path || strcmp(path, "-") == 0) {
    o->f = stdout;
    return 0;
  }
  if (xlat_atomic_open(&o->af, path) != XLAT_OK) {
    fprintf(stderr, "xlat-decode: %s\n", xlat_last_error());
    return -1;
  }
  o->f = o->af.f;
  return 0;
}

int out_commit(out_file *o) {
  if (!o->af.path) {
    int r = fflush(o->f) == 0 && !ferror(o->f) ? 0 : -1;
    if (r) fprintf(stderr, "xlat-decode: cannot write to standard output: %s\n", strerror(errno));
    return r;
  }
  o->f = NULL;
  if (xlat_atomic_commit(&o->af) != XLAT_OK) {
    fprintf(stderr, "xlat-decode: %s\n", xlat_last_error());
    return -1;
  }
  return 0;
}

void out_abort(out_file *o) {
  if (o->af.path) xlat_atomic_abort(&o->af);
  else if (o->f) fflush(o->f);
  memset(o, 0, sizeof *o);
}

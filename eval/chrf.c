/* chrf.c - chrF and chrF++ as sacreBLEU 2.x computes them (metrics/chrf.py; Popović 2015, 2017): character
 * n-grams of orders 1..char_order of the segment with its whitespace removed, plus (chrF++) word n-grams of orders
 * 1..word_order of the words with one leading or trailing ASCII punctuation mark split off. Per segment the
 * reference with the best sentence F-score is used (first one on ties); the corpus score comes from the summed
 * [hyp, ref, match] counts of every order. N-grams are compared exactly: words are numbered per segment and every
 * n-gram is a sequence of numbers (code points or word numbers) sorted for counting. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "unicode.h"

void xlat_chrf_options_default(xlat_chrf_options *o) {
  o->char_order = 6;
  o->word_order = 0;
  o->beta = 2;
  o->lowercase = 0;
  o->whitespace = 0;
  o->eps_smoothing = 0;
}

int xlat_chrf_nstats(const xlat_chrf_options *o) { return 3 * (o->char_order + o->word_order); }

/* One side (hypothesis or a reference) of a segment: its characters and its word numbers. */
typedef struct {
  xm_cps chars;
  xm_cps words; /* word numbers, interned over the whole segment */
} side;

typedef struct {
  xm_cps raw, low;
  xm_toks toks; /* every word of the segment, all sides */
  side *sides;  /* [0] hypothesis, [1..nrefs] references */
  int nsides;
  uint32_t *idx, *tmp; /* n-gram start positions and merge-sort scratch */
  size_t idx_cap;
  uint32_t *wid; /* word number of each token in toks */
  size_t wid_cap;
} chrf_ctx;

static void ctx_free(chrf_ctx *c) {
  xm_cps_free(&c->raw);
  xm_cps_free(&c->low);
  xm_toks_free(&c->toks);
  for (int s = 0; s < c->nsides; s++) {
    xm_cps_free(&c->sides[s].chars);
    xm_cps_free(&c->sides[s].words);
  }
  free(c->sides);
  free(c->idx);
  free(c->tmp);
  free(c->wid);
}

/* ASCII string.punctuation, the set chrF++'s word splitting uses. */
static int is_ascii_punct(uint32_t c) {
  return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') || (c >= '{' && c <= '~');
}

/* Sorting n-grams: positions into a sequence a, compared on n elements. */
typedef struct {
  const uint32_t *a;
  size_t n;
} ngram_key;

static int cmp_ngram(const ngram_key *k, uint32_t i, uint32_t j) {
  for (size_t t = 0; t < k->n; t++)
    if (k->a[i + t] != k->a[j + t]) return k->a[i + t] < k->a[j + t] ? -1 : 1;
  return 0;
}

static void merge_sort(uint32_t *v, uint32_t *tmp, size_t m, const ngram_key *k) {
  if (m < 2) return;
  size_t h = m / 2;
  merge_sort(v, tmp, h, k);
  merge_sort(v + h, tmp, m - h, k);
  size_t i = 0, j = h, o = 0;
  while (i < h && j < m) tmp[o++] = cmp_ngram(k, v[j], v[i]) < 0 ? v[j++] : v[i++];
  while (i < h) tmp[o++] = v[i++];
  while (j < m) tmp[o++] = v[j++];
  memcpy(v, tmp, m * sizeof *v);
}

static int reserve_idx(chrf_ctx *c, size_t m) {
  if (m <= c->idx_cap) return 0;
  size_t cap = m * 2;
  uint32_t *a = realloc(c->idx, cap * sizeof *a), *b;
  if (!a) return xm_fail("chrf: out of memory");
  c->idx = a;
  b = realloc(c->tmp, cap * sizeof *b);
  if (!b) return xm_fail("chrf: out of memory");
  c->tmp = b;
  c->idx_cap = cap;
  return 0;
}

/* [hyp count, ref count, matches] of the order-n n-grams of h against r (sacreBLEU reports the hypothesis count
 * as 0 when the reference has no n-gram of that order). */
static int order_stats(chrf_ctx *c, const xm_cps *h, const xm_cps *r, size_t n, int64_t out[3]) {
  size_t mh = h->n >= n ? h->n - n + 1 : 0, mr = r->n >= n ? r->n - n + 1 : 0;
  out[0] = mr ? (int64_t)mh : 0;
  out[1] = (int64_t)mr;
  out[2] = 0;
  if (!mh || !mr) return 0;
  if (reserve_idx(c, mh + mr)) return -1;
  uint32_t *ih = c->idx, *ir = c->idx + mh;
  for (size_t i = 0; i < mh; i++) ih[i] = (uint32_t)i;
  for (size_t i = 0; i < mr; i++) ir[i] = (uint32_t)i;
  ngram_key kh = {h->c, n}, kr = {r->c, n};
  merge_sort(ih, c->tmp, mh, &kh);
  merge_sort(ir, c->tmp, mr, &kr);
  size_t i = 0, j = 0;
  while (i < mh && j < mr) {
    int d = 0;
    for (size_t t = 0; t < n && !d; t++)
      if (h->c[ih[i] + t] != r->c[ir[j] + t]) d = h->c[ih[i] + t] < r->c[ir[j] + t] ? -1 : 1;
    if (d < 0)
      i++;
    else if (d > 0)
      j++;
    else { /* equal n-grams: count each run and take the smaller */
      size_t i2 = i + 1, j2 = j + 1;
      while (i2 < mh && cmp_ngram(&kh, ih[i], ih[i2]) == 0) i2++;
      while (j2 < mr && cmp_ngram(&kr, ir[j], ir[j2]) == 0) j2++;
      out[2] += (int64_t)((i2 - i) < (j2 - j) ? (i2 - i) : (j2 - j));
      i = i2, j = j2;
    }
  }
  return 0;
}

/* Prepares one side: lowercase, characters without whitespace, punctuation-split words appended to c->toks. */
static int prepare_side(chrf_ctx *c, side *s, const char *text, const xlat_chrf_options *o, const char *what) {
  if (xm_utf8_decode(&c->raw, text, strlen(text), what)) return -1;
  xm_cps *line = &c->raw;
  if (o->lowercase) {
    if (xm_lower(&c->low, &c->raw)) return -1;
    line = &c->low;
  }
  s->chars.n = 0;
  for (size_t i = 0; i < line->n; i++)
    if ((o->whitespace || !xm_isspace(line->c[i])) && xm_cps_push(&s->chars, line->c[i])) return -1;
  s->words.n = 0;
  if (o->word_order <= 0) return 0;
  size_t i = 0, first = c->toks.n;
  while (i < line->n) {
    while (i < line->n && xm_isspace(line->c[i])) i++;
    size_t b = i;
    while (i < line->n && !xm_isspace(line->c[i])) i++;
    size_t len = i - b;
    if (!len) continue;
    const uint32_t *w = line->c + b;
    int rc;
    if (len > 1 && is_ascii_punct(w[len - 1]))
      rc = xm_toks_add(&c->toks, w, len - 1) || xm_toks_add(&c->toks, w + len - 1, 1);
    else if (len > 1 && is_ascii_punct(w[0]))
      rc = xm_toks_add(&c->toks, w, 1) || xm_toks_add(&c->toks, w + 1, len - 1);
    else
      rc = xm_toks_add(&c->toks, w, len);
    if (rc) return -1;
  }
  for (size_t k = first; k < c->toks.n; k++)
    if (xm_cps_push(&s->words, (uint32_t)k)) return -1; /* token index for now; numbered in number_words */
  return 0;
}

/* Replaces token indices by word numbers: equal words get the number of their first occurrence. */
static int number_words(chrf_ctx *c) {
  size_t m = c->toks.n, cap = 1;
  while (cap < 2 * m + 2) cap *= 2;
  if (cap > c->wid_cap) {
    free(c->wid);
    c->wid = malloc(cap * sizeof *c->wid);
    if (!c->wid) return xm_fail("chrf: out of memory");
    c->wid_cap = cap;
  }
  uint32_t *table = c->wid; /* slots hold token index + 1; the first m+1 entries are reused below */
  memset(table, 0, cap * sizeof *table);
  if (reserve_idx(c, m + 1)) return -1;
  uint32_t *num = c->idx;
  for (size_t k = 0; k < m; k++) {
    size_t s = (size_t)c->toks.hash[k] & (cap - 1);
    for (;;) {
      if (!table[s]) {
        table[s] = (uint32_t)k + 1;
        num[k] = (uint32_t)k;
        break;
      }
      size_t j = table[s] - 1;
      if (c->toks.len[j] == c->toks.len[k] && c->toks.hash[j] == c->toks.hash[k] &&
          !memcmp(c->toks.text + c->toks.off[j], c->toks.text + c->toks.off[k], c->toks.len[k])) {
        num[k] = num[j];
        break;
      }
      s = (s + 1) & (cap - 1);
    }
  }
  for (int sd = 0; sd < c->nsides; sd++)
    for (size_t k = 0; k < c->sides[sd].words.n; k++) c->sides[sd].words.c[k] = num[c->sides[sd].words.c[k]];
  return 0;
}

static double f_score(const int64_t *st, const xlat_chrf_options *o) {
  const double eps = 1e-16;
  int order = o->char_order + o->word_order, eff = 0;
  double factor = (double)o->beta * o->beta, score = 0, avg_p = 0, avg_r = 0;
  for (int i = 0; i < order; i++) {
    int64_t nh = st[3 * i], nr = st[3 * i + 1], nm = st[3 * i + 2];
    double p = nh > 0 ? (double)nm / (double)nh : eps, r = nr > 0 ? (double)nm / (double)nr : eps;
    double denom = factor * p + r;
    score += denom > 0 ? (1 + factor) * p * r / denom : eps;
    if (nh > 0 && nr > 0) avg_p += p, avg_r += r, eff++;
  }
  if (o->eps_smoothing) return 100 * score / order;
  if (eff == 0)
    avg_p = avg_r = 0;
  else
    avg_p /= eff, avg_r /= eff;
  if (avg_p + avg_r == 0) return 0.0;
  return 100 * ((1 + factor) * avg_p * avg_r / (factor * avg_p + avg_r));
}

double xlat_chrf_from_stats(const int64_t *stats, const xlat_chrf_options *o) {
  xlat_chrf_options def;
  if (!o) xlat_chrf_options_default(&def), o = &def;
  return f_score(stats, o);
}

static int segment_stats(chrf_ctx *c, const char *hyp, const char *const *refs, int nrefs, int64_t seg,
                         const xlat_chrf_options *o, int64_t *best, int64_t *cur) {
  char what[96];
  int ns = 3 * (o->char_order + o->word_order);
  if (c->nsides < nrefs + 1) {
    side *s = realloc(c->sides, (size_t)(nrefs + 1) * sizeof *s);
    if (!s) return xm_fail("chrf: out of memory");
    memset(s + c->nsides, 0, (size_t)(nrefs + 1 - c->nsides) * sizeof *s);
    c->sides = s;
    c->nsides = nrefs + 1;
  }
  xm_toks_clear(&c->toks);
  snprintf(what, sizeof what, "hypothesis segment %lld", (long long)seg + 1);
  if (prepare_side(c, &c->sides[0], hyp, o, what)) return -1;
  for (int r = 0; r < nrefs; r++) {
    snprintf(what, sizeof what, "reference %d segment %lld", r + 1, (long long)seg + 1);
    if (prepare_side(c, &c->sides[r + 1], refs[r], o, what)) return -1;
  }
  for (int r = nrefs + 1; r < c->nsides; r++) c->sides[r].words.n = 0;
  if (o->word_order > 0 && number_words(c)) return -1;
  double best_f = -1.0;
  for (int r = 0; r < nrefs; r++) {
    const side *h = &c->sides[0], *rf = &c->sides[r + 1];
    for (int n = 1; n <= o->char_order; n++)
      if (order_stats(c, &h->chars, &rf->chars, (size_t)n, cur + 3 * (n - 1))) return -1;
    for (int n = 1; n <= o->word_order; n++)
      if (order_stats(c, &h->words, &rf->words, (size_t)n, cur + 3 * (o->char_order + n - 1))) return -1;
    double f = f_score(cur, o);
    if (f > best_f) {
      best_f = f;
      memcpy(best, cur, (size_t)ns * sizeof *cur);
    }
  }
  return 0;
}

static int check(const xlat_chrf_options *o, int64_t n, int nrefs) {
  if (o->char_order < 0 || o->word_order < 0 || o->char_order + o->word_order < 1 || o->beta < 0)
    return xm_fail("chrf: expected char_order, word_order >= 0 (not both 0) and beta >= 0, got %d, %d, %d",
                   o->char_order, o->word_order, o->beta);
  if (n < 0 || nrefs < 1) return xm_fail("chrf: expected n >= 0 and nrefs >= 1, got %lld, %d", (long long)n, nrefs);
  return 0;
}

/* Statistics of every segment into per_seg (when not NULL) and their sum into sum (when not NULL). */
static int run(const char *const *hyps, const char *const *const *refs, int64_t n, int nrefs,
               const xlat_chrf_options *o, int64_t *per_seg, int64_t *sum) {
  if (check(o, n, nrefs)) return -1;
  int ns = xlat_chrf_nstats(o);
  chrf_ctx c = {0};
  const char **seg_refs = malloc((size_t)nrefs * sizeof *seg_refs);
  int64_t *cur = malloc(2 * (size_t)ns * sizeof *cur), *best = cur + ns;
  int rc = (!seg_refs || !cur) ? xm_fail("chrf: out of memory") : 0;
  if (sum) memset(sum, 0, (size_t)ns * sizeof *sum);
  for (int64_t i = 0; i < n && !rc; i++) {
    for (int r = 0; r < nrefs; r++) seg_refs[r] = refs[r][i];
    rc = segment_stats(&c, hyps[i], seg_refs, nrefs, i, o, best, cur);
    if (rc) break;
    if (per_seg) memcpy(per_seg + i * ns, best, (size_t)ns * sizeof *best);
    if (sum)
      for (int k = 0; k < ns; k++) sum[k] += best[k];
  }
  free(seg_refs);
  free(cur);
  ctx_free(&c);
  return rc;
}

int xlat_chrf_stats(const char *const *hyps, const char *const *const *refs, int64_t n, int nrefs,
                    const xlat_chrf_options *o, int64_t *stats) {
  xlat_chrf_options def;
  if (!o) xlat_chrf_options_default(&def), o = &def;
  return run(hyps, refs, n, nrefs, o, stats, NULL);
}

int xlat_chrf_corpus(const char *const *hyps, const char *const *const *refs, int64_t n, int nrefs,
                     const xlat_chrf_options *o, double *score) {
  xlat_chrf_options def;
  if (!o) xlat_chrf_options_default(&def), o = &def;
  if (check(o, n, nrefs)) return -1;
  int64_t *sum = malloc((size_t)xlat_chrf_nstats(o) * sizeof *sum);
  if (!sum) return xm_fail("chrf: out of memory");
  int rc = run(hyps, refs, n, nrefs, o, NULL, sum);
  if (!rc) *score = f_score(sum, o);
  free(sum);
  return rc;
}

int xlat_chrf_sentence(const char *hyp, const char *const *refs, int nrefs, const xlat_chrf_options *o, double *score) {
  const char *const *streams[64];
  if (nrefs > 64) return xm_fail("chrf: at most 64 references per sentence, got %d", nrefs);
  for (int r = 0; r < nrefs; r++) streams[r] = &refs[r];
  return xlat_chrf_corpus(&hyp, streams, 1, nrefs, o, score);
}

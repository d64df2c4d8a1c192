/* bleu.c - BLEU as sacreBLEU 2.x computes it (metrics/bleu.py): per segment, n-grams of orders 1..4 of the
 * tokenized hypothesis are clipped against the maximum count over the references; the closest reference length
 * (ties: the shorter) is the segment's ref_len; corpus BLEU comes from the summed statistics, with the brevity
 * penalty and one of the four smoothing methods of Chen & Cherry (WMT 2014). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenize.h"

#define ORDER 4

void xlat_bleu_options_default(xlat_bleu_options *o) {
  o->tokenizer = XLAT_BLEU_TOK_13A;
  o->smooth = XLAT_BLEU_SMOOTH_EXP;
  o->smooth_value = -1;
  o->lowercase = 0;
  o->effective_order = 0;
}

/* One distinct hypothesis n-gram: its tokens are hyp[start .. start+n). */
typedef struct {
  uint64_t h;
  uint32_t start, n;
  int32_t hyp_count, ref_cur, ref_max;
} ngram;

typedef struct {
  xm_tokenizer z;
  xm_toks hyp, ref;
  ngram *ng;
  size_t ng_n, ng_cap;
  int32_t *slot; /* open addressing: index into ng, -1 when empty */
  size_t slot_cap;
  uint32_t *touched; /* entries whose ref_cur changed for the current reference */
  size_t touched_n;
} bleu_ctx;

static void ctx_free(bleu_ctx *c) {
  xm_tokenizer_free(&c->z);
  xm_toks_free(&c->hyp);
  xm_toks_free(&c->ref);
  free(c->ng);
  free(c->slot);
  free(c->touched);
}

static uint64_t ngram_hash(const xm_toks *t, size_t i, size_t n) {
  uint64_t h = 0x51ed270b27af4b3bull * (uint64_t)n;
  for (size_t k = 0; k < n; k++) h = (h ^ t->hash[i + k]) * 0x9fb21c651e98df25ull + (h >> 29);
  return h ^ (h >> 32);
}

static int same_tokens(const xm_toks *a, size_t i, const xm_toks *b, size_t j, size_t n) {
  for (size_t k = 0; k < n; k++) {
    if (a->len[i + k] != b->len[j + k] || a->hash[i + k] != b->hash[j + k]) return 0;
    if (memcmp(a->text + a->off[i + k], b->text + b->off[j + k], a->len[i + k])) return 0;
  }
  return 1;
}

/* Slot of the n-gram t[i..i+n) (hash h) in the table: the matching entry's slot or the empty slot to fill. */
static size_t find_slot(const bleu_ctx *c, const xm_toks *t, size_t i, size_t n, uint64_t h) {
  size_t mask = c->slot_cap - 1, s = (size_t)h & mask;
  while (c->slot[s] >= 0) {
    const ngram *g = &c->ng[c->slot[s]];
    if (g->h == h && g->n == n && same_tokens(&c->hyp, g->start, t, i, n)) return s;
    s = (s + 1) & mask;
  }
  return s;
}

/* Builds the table of the hypothesis n-grams (c->hyp must hold its tokens). */
static int count_hyp(bleu_ctx *c) {
  size_t m = c->hyp.n, need = 1;
  while (need < 2 * ORDER * (m + 1)) need *= 2;
  if (need > c->slot_cap) {
    free(c->slot);
    c->slot = malloc(need * sizeof *c->slot);
    if (!c->slot) return xm_fail("bleu: out of memory (%zu n-gram slots)", need);
    c->slot_cap = need;
    memset(c->slot, 0xff, need * sizeof *c->slot);
  }
  if (ORDER * (m + 1) > c->ng_cap) {
    size_t cap = ORDER * (m + 1) * 2;
    free(c->ng);
    free(c->touched);
    c->ng = malloc(cap * sizeof *c->ng);
    c->touched = malloc(cap * sizeof *c->touched);
    if (!c->ng || !c->touched) return xm_fail("bleu: out of memory (%zu n-grams)", cap);
    c->ng_cap = cap;
  }
  c->ng_n = 0;
  for (size_t n = 1; n <= ORDER && n <= m; n++) {
    for (size_t i = 0; i + n <= m; i++) {
      uint64_t h = ngram_hash(&c->hyp, i, n);
      size_t s = find_slot(c, &c->hyp, i, n, h);
      if (c->slot[s] >= 0) {
        c->ng[c->slot[s]].hyp_count++;
      } else {
        c->slot[s] = (int32_t)c->ng_n;
        c->ng[c->ng_n++] = (ngram){h, (uint32_t)i, (uint32_t)n, 1, 0, 0};
      }
    }
  }
  return 0;
}

/* Counts the current reference (c->ref) against the hypothesis table, keeping the per-n-gram maximum. */
static void count_ref(bleu_ctx *c) {
  size_t m = c->ref.n;
  c->touched_n = 0;
  for (size_t n = 1; n <= ORDER && n <= m; n++) {
    for (size_t i = 0; i + n <= m; i++) {
      uint64_t h = ngram_hash(&c->ref, i, n);
      size_t s = find_slot(c, &c->ref, i, n, h);
      if (c->slot[s] < 0) continue;
      ngram *g = &c->ng[c->slot[s]];
      if (g->ref_cur++ == 0) c->touched[c->touched_n++] = (uint32_t)c->slot[s];
    }
  }
  for (size_t k = 0; k < c->touched_n; k++) {
    ngram *g = &c->ng[c->touched[k]];
    if (g->ref_cur > g->ref_max) g->ref_max = g->ref_cur;
    g->ref_cur = 0;
  }
}

/* Empties the slots in use (not the whole table, so one long segment does not slow every later one). Searching
 * forward from an entry's home slot for its index finds it even after other entries were emptied. */
static void clear_table(bleu_ctx *c) {
  size_t mask = c->slot_cap - 1;
  for (size_t k = 0; k < c->ng_n; k++) {
    size_t s = (size_t)c->ng[k].h & mask;
    while (c->slot[s] != (int32_t)k) s = (s + 1) & mask;
    c->slot[s] = -1;
  }
  c->ng_n = 0;
}

static int segment_stats(bleu_ctx *c, const char *hyp, const char *const *refs, int nrefs, int64_t seg,
                         const xlat_bleu_options *o, int64_t *st) {
  if (xm_tokenize(&c->z, hyp, strlen(hyp), o->tokenizer, o->lowercase, &c->hyp, -1, seg)) return -1;
  if (count_hyp(c)) return -1;
  int64_t hyp_len = (int64_t)c->hyp.n, best_len = -1, best_diff = -1;
  for (int r = 0; r < nrefs; r++) {
    const char *ref = refs[r];
    if (xm_tokenize(&c->z, ref, strlen(ref), o->tokenizer, o->lowercase, &c->ref, r, seg)) {
      clear_table(c);
      return -1;
    }
    int64_t len = (int64_t)c->ref.n, diff = llabs(hyp_len - len);
    if (best_diff < 0 || diff < best_diff || (diff == best_diff && len < best_len)) best_diff = diff, best_len = len;
    count_ref(c);
  }
  memset(st, 0, XLAT_BLEU_NSTATS * sizeof *st);
  st[0] = hyp_len;
  st[1] = best_len < 0 ? 0 : best_len;
  for (size_t k = 0; k < c->ng_n; k++) {
    const ngram *g = &c->ng[k];
    st[2 + g->n - 1] += g->hyp_count < g->ref_max ? g->hyp_count : g->ref_max;
  }
  for (int n = 1; n <= ORDER; n++) st[2 + ORDER + n - 1] = hyp_len >= n ? hyp_len - n + 1 : 0;
  clear_table(c);
  return 0;
}

static int check_args(const void *hyps, const void *refs, int64_t n, int nrefs) {
  if (n < 0 || nrefs < 1 || (n > 0 && (!hyps || !refs)))
    return xm_fail("bleu: expected n >= 0 segments and nrefs >= 1 references, got n = %lld, nrefs = %d", (long long)n,
                   nrefs);
  return 0;
}

/* Statistics of every segment into per_seg (n rows) and/or their sums into sum; either may be NULL. */
static int collect(const char *const *hyps, const char *const *const *refs, int64_t n, int nrefs,
                   const xlat_bleu_options *o, int64_t *per_seg, int64_t sum[XLAT_BLEU_NSTATS]) {
  if (check_args(hyps, refs, n, nrefs)) return -1;
  bleu_ctx c = {0};
  const char **seg_refs = malloc((size_t)nrefs * sizeof *seg_refs);
  if (!seg_refs) return xm_fail("bleu: out of memory");
  int64_t st[XLAT_BLEU_NSTATS];
  int rc = 0;
  for (int64_t i = 0; i < n && !rc; i++) {
    for (int r = 0; r < nrefs; r++) seg_refs[r] = refs[r][i];
    int64_t *row = per_seg ? per_seg + i * XLAT_BLEU_NSTATS : st;
    rc = segment_stats(&c, hyps[i], seg_refs, nrefs, i, o, row);
    for (int k = 0; k < XLAT_BLEU_NSTATS && sum && !rc; k++) sum[k] += row[k];
  }
  free(seg_refs);
  ctx_free(&c);
  return rc;
}

int xlat_bleu_stats(const char *const *hyps, const char *const *const *refs, int64_t n, int nrefs,
                    const xlat_bleu_options *o, int64_t *stats) {
  xlat_bleu_options def;
  if (!o) xlat_bleu_options_default(&def), o = &def;
  return collect(hyps, refs, n, nrefs, o, stats, NULL);
}

static double my_log(double x) { return x == 0 ? -9999999999.0 : log(x); }

void xlat_bleu_from_stats(const int64_t stats[XLAT_BLEU_NSTATS], const xlat_bleu_options *o, xlat_bleu_result *out) {
  xlat_bleu_options def;
  if (!o) xlat_bleu_options_default(&def), o = &def;
  double k = o->smooth_value;
  if (k < 0) k = o->smooth == XLAT_BLEU_SMOOTH_FLOOR ? 0.1 : 1.0;
  int64_t sys_len = stats[0], ref_len = stats[1];
  memset(out, 0, sizeof *out);
  out->hyp_len = sys_len;
  out->ref_len = ref_len;
  out->ratio = ref_len ? (double)sys_len / (double)ref_len : 0.0;
  int any = 0;
  for (int n = 0; n < ORDER; n++) {
    out->counts[n] = (double)stats[2 + n];
    out->totals[n] = (double)stats[2 + ORDER + n];
    any |= stats[2 + n] != 0;
  }
  if (sys_len < ref_len)
    out->bp = sys_len > 0 ? exp(1.0 - (double)ref_len / (double)sys_len) : 0.0;
  else
    out->bp = 1.0;
  if (!any) return; /* no match of any order: 0, before add-k could change that (sacreBLEU #141) */
  double smooth_mteval = 1.0;
  int eff_order = ORDER;
  for (int n = 1; n <= ORDER; n++) {
    double *correct = &out->counts[n - 1], *total = &out->totals[n - 1];
    if (o->smooth == XLAT_BLEU_SMOOTH_ADD_K && n > 1) *correct += k, *total += k;
    if (*total == 0) break;
    if (o->effective_order) eff_order = n;
    if (*correct == 0) {
      if (o->smooth == XLAT_BLEU_SMOOTH_EXP) {
        smooth_mteval *= 2;
        out->precisions[n - 1] = 100.0 / (smooth_mteval * *total);
      } else if (o->smooth == XLAT_BLEU_SMOOTH_FLOOR) {
        out->precisions[n - 1] = 100.0 * k / *total;
      }
    } else {
      out->precisions[n - 1] = 100.0 * *correct / *total;
    }
  }
  double sum = 0;
  for (int n = 0; n < eff_order; n++) sum += my_log(out->precisions[n]);
  out->score = out->bp * exp(sum / eff_order);
}

int xlat_bleu_corpus(const char *const *hyps, const char *const *const *refs, int64_t n, int nrefs,
                     const xlat_bleu_options *o, xlat_bleu_result *out) {
  xlat_bleu_options def;
  if (!o) xlat_bleu_options_default(&def), o = &def;
  int64_t sum[XLAT_BLEU_NSTATS] = {0};
  int rc = collect(hyps, refs, n, nrefs, o, NULL, sum);
  if (!rc) xlat_bleu_from_stats(sum, o, out);
  return rc;
}

int xlat_bleu_sentence(const char *hyp, const char *const *refs, int nrefs, const xlat_bleu_options *o,
                       xlat_bleu_result *out) {
  xlat_bleu_options so;
  if (o)
    so = *o;
  else
    xlat_bleu_options_default(&so);
  so.effective_order = 1;
  if (nrefs < 1 || !hyp || !refs) return xm_fail("bleu: sentence needs a hypothesis and >= 1 reference");
  bleu_ctx c = {0};
  int64_t st[XLAT_BLEU_NSTATS];
  int rc = segment_stats(&c, hyp, refs, nrefs, 0, &so, st);
  ctx_free(&c);
  if (!rc) xlat_bleu_from_stats(st, &so, out);
  return rc;
}

int xlat_bleu_tokenize(const char *s, const xlat_bleu_options *o, char **out) {
  xlat_bleu_options def;
  if (!o) xlat_bleu_options_default(&def), o = &def;
  xm_tokenizer z = {0};
  xm_toks t = {0};
  *out = NULL;
  int rc = xm_tokenize(&z, s, strlen(s), o->tokenizer, o->lowercase, &t, -1, 0);
  if (!rc) {
    char *p = malloc(t.text_n + t.n + 1);
    if (!p)
      rc = xm_fail("bleu: out of memory");
    else {
      size_t w = 0;
      for (size_t i = 0; i < t.n; i++) {
        if (i) p[w++] = ' ';
        memcpy(p + w, t.text + t.off[i], t.len[i]);
        w += t.len[i];
      }
      p[w] = 0;
      *out = p;
    }
  }
  xm_tokenizer_free(&z);
  xm_toks_free(&t);
  return rc;
}

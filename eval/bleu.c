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

/* One distinct hypothesis n-gram. Its number g says what it is: the unigrams come first (the hypothesis's distinct
 * tokens, in order of appearance), then the bigrams, trigrams and 4-grams, each an (n-1)-gram number and a unigram
 * number. N-grams are thus compared as integers; only whole tokens are ever compared as bytes. */
typedef struct {
  int32_t hyp_count, ref_cur, ref_max;
  uint32_t slot; /* its slot in the word table (unigrams) or the n-gram table (the others) */
  uint32_t pos;  /* unigrams: a hypothesis token that is this word */
} ngram;

typedef struct {
  uint64_t key; /* (number of the first n-1 tokens + 1) << 32 | number of the last token; 0: empty */
  uint32_t g;
} gram_slot;

#define NONE UINT32_MAX

typedef struct {
  xm_tokenizer z;
  xm_toks hyp, ref;
  ngram *ng;
  size_t ng_n, ng_cap, first[ORDER + 1]; /* order n's n-grams are ng[first[n-1] .. first[n]) */
  uint32_t *word;                        /* open addressing on the token hash: unigram number + 1, 0 when empty */
  gram_slot *gram;                       /* open addressing on the key: orders 2..ORDER */
  size_t word_cap, gram_cap;
  uint32_t *uni, *cur; /* per token: its unigram, and the n-gram of the current order starting there (or NONE) */
  size_t pos_cap;
  uint32_t *touched; /* n-grams whose ref_cur changed for the current reference */
} bleu_ctx;

static void ctx_free(bleu_ctx *c) {
  xm_tokenizer_free(&c->z);
  xm_toks_free(&c->hyp);
  xm_toks_free(&c->ref);
  free(c->ng);
  free(c->word);
  free(c->gram);
  free(c->uni);
  free(c->cur);
  free(c->touched);
}

/* Grows (never shrinks) the tables for a hypothesis of m tokens and a reference of up to m_ref; new tables are
 * empty, and every table is emptied again after each segment (clear_tables). */
static int reserve(bleu_ctx *c, size_t m, size_t m_ref) {
  size_t pos = (m > m_ref ? m : m_ref) + 1, words = 1, grams = 1;
  while (words < 2 * (m + 1)) words *= 2;
  while (grams < 2 * ORDER * (m + 1)) grams *= 2;
  if (words > c->word_cap) {
    free(c->word);
    c->word_cap = 0;
    if (!(c->word = calloc(words, sizeof *c->word))) return xm_fail("bleu: out of memory (%zu word slots)", words);
    c->word_cap = words;
  }
  if (grams > c->gram_cap) {
    free(c->gram);
    c->gram_cap = 0;
    if (!(c->gram = calloc(grams, sizeof *c->gram))) return xm_fail("bleu: out of memory (%zu n-gram slots)", grams);
    c->gram_cap = grams;
  }
  if (ORDER * (m + 1) > c->ng_cap) {
    size_t cap = 2 * ORDER * (m + 1);
    free(c->ng);
    free(c->touched);
    c->ng_cap = 0;
    c->ng = malloc(cap * sizeof *c->ng);
    c->touched = malloc(cap * sizeof *c->touched);
    if (!c->ng || !c->touched) return xm_fail("bleu: out of memory (%zu n-grams)", cap);
    c->ng_cap = cap;
  }
  if (pos > c->pos_cap) {
    size_t cap = 2 * pos;
    free(c->uni);
    free(c->cur);
    c->pos_cap = 0;
    c->uni = malloc(cap * sizeof *c->uni);
    c->cur = malloc(cap * sizeof *c->cur);
    if (!c->uni || !c->cur) return xm_fail("bleu: out of memory (%zu tokens)", cap);
    c->pos_cap = cap;
  }
  return 0;
}

/* Word-table slot of token i of t: the slot of the equal hypothesis word, or the empty slot where it would go. */
static size_t word_slot(const bleu_ctx *c, const xm_toks *t, size_t i) {
  size_t mask = c->word_cap - 1, s = (size_t)t->hash[i] & mask;
  for (uint32_t w; (w = c->word[s]) != 0; s = (s + 1) & mask) {
    size_t j = c->ng[w - 1].pos;
    if (c->hyp.hash[j] == t->hash[i] && c->hyp.len[j] == t->len[i] &&
        !memcmp(c->hyp.text + c->hyp.off[j], t->text + t->off[i], t->len[i]))
      break;
  }
  return s;
}

static size_t gram_slot_of(const bleu_ctx *c, uint64_t key) {
  size_t mask = c->gram_cap - 1, s = (size_t)((key * 0x9e3779b97f4a7c15ull) >> 32) & mask;
  while (c->gram[s].key != 0 && c->gram[s].key != key) s = (s + 1) & mask;
  return s;
}

static uint64_t gram_key(uint32_t prefix, uint32_t last) { return ((uint64_t)prefix + 1) << 32 | last; }

static uint32_t add_ngram(bleu_ctx *c, size_t slot, uint32_t pos) {
  uint32_t g = (uint32_t)c->ng_n++;
  c->ng[g] = (ngram){0, 0, 0, (uint32_t)slot, pos};
  return g;
}

/* Numbers the hypothesis n-grams (c->hyp must hold its tokens) and counts them. */
static void count_hyp(bleu_ctx *c) {
  size_t m = c->hyp.n;
  c->ng_n = 0;
  for (size_t i = 0; i < m; i++) {
    size_t s = word_slot(c, &c->hyp, i);
    if (!c->word[s]) c->word[s] = add_ngram(c, s, (uint32_t)i) + 1;
    c->uni[i] = c->cur[i] = c->word[s] - 1;
    c->ng[c->uni[i]].hyp_count++;
  }
  c->first[0] = 0;
  c->first[1] = c->ng_n;
  for (size_t n = 2; n <= ORDER; n++) {
    for (size_t i = 0; i + n <= m; i++) { /* cur[i]: the (n-1)-gram at i, becomes the n-gram at i */
      uint64_t key = gram_key(c->cur[i], c->uni[i + n - 1]);
      size_t s = gram_slot_of(c, key);
      if (!c->gram[s].key) c->gram[s] = (gram_slot){key, add_ngram(c, s, 0)};
      c->cur[i] = c->gram[s].g;
      c->ng[c->cur[i]].hyp_count++;
    }
    c->first[n] = c->ng_n;
  }
}

static void bump(bleu_ctx *c, uint32_t g, size_t *touched_n) {
  if (c->ng[g].ref_cur++ == 0) c->touched[(*touched_n)++] = g;
}

/* Counts the current reference (c->ref) against the hypothesis n-grams, keeping the per-n-gram maximum. An n-gram
 * with a word the hypothesis lacks, or with an (n-1)-gram it lacks, cannot match and is not looked up. */
static void count_ref(bleu_ctx *c) {
  size_t m = c->ref.n, touched_n = 0;
  for (size_t i = 0; i < m; i++) {
    size_t s = word_slot(c, &c->ref, i);
    c->uni[i] = c->cur[i] = c->word[s] ? c->word[s] - 1 : NONE;
    if (c->uni[i] != NONE) bump(c, c->uni[i], &touched_n);
  }
  for (size_t n = 2; n <= ORDER && touched_n; n++) {
    for (size_t i = 0; i + n <= m; i++) {
      if (c->cur[i] == NONE) continue;
      uint32_t last = c->uni[i + n - 1];
      const gram_slot *gs = last == NONE ? NULL : &c->gram[gram_slot_of(c, gram_key(c->cur[i], last))];
      c->cur[i] = gs && gs->key ? gs->g : NONE;
      if (c->cur[i] != NONE) bump(c, c->cur[i], &touched_n);
    }
  }
  for (size_t k = 0; k < touched_n; k++) {
    ngram *g = &c->ng[c->touched[k]];
    if (g->ref_cur > g->ref_max) g->ref_max = g->ref_cur;
    g->ref_cur = 0;
  }
}

/* Empties the slots in use (not the whole tables, so one long segment does not slow every later one). */
static void clear_tables(bleu_ctx *c) {
  for (size_t g = 0; g < c->first[1]; g++) c->word[c->ng[g].slot] = 0;
  for (size_t g = c->first[1]; g < c->ng_n; g++) c->gram[c->ng[g].slot].key = 0;
  c->ng_n = 0;
}

static int segment_stats(bleu_ctx *c, const char *hyp, const char *const *refs, int nrefs, int64_t seg,
                         const xlat_bleu_options *o, int64_t *st) {
  if (xm_tokenize(&c->z, hyp, strlen(hyp), o->tokenizer, o->lowercase, &c->hyp, -1, seg)) return -1;
  if (reserve(c, c->hyp.n, 0)) return -1;
  count_hyp(c);
  int64_t hyp_len = (int64_t)c->hyp.n, best_len = -1, best_diff = -1;
  for (int r = 0; r < nrefs; r++) {
    const char *ref = refs[r];
    if (xm_tokenize(&c->z, ref, strlen(ref), o->tokenizer, o->lowercase, &c->ref, r, seg) ||
        reserve(c, c->hyp.n, c->ref.n)) {
      clear_tables(c);
      return -1;
    }
    int64_t len = (int64_t)c->ref.n, diff = llabs(hyp_len - len);
    if (best_diff < 0 || diff < best_diff || (diff == best_diff && len < best_len)) best_diff = diff, best_len = len;
    count_ref(c);
  }
  memset(st, 0, XLAT_BLEU_NSTATS * sizeof *st);
  st[0] = hyp_len;
  st[1] = best_len < 0 ? 0 : best_len;
  for (int n = 1; n <= ORDER; n++)
    for (size_t k = c->first[n - 1]; k < c->first[n]; k++) {
      const ngram *g = &c->ng[k];
      st[2 + n - 1] += g->hyp_count < g->ref_max ? g->hyp_count : g->ref_max;
    }
  for (int n = 1; n <= ORDER; n++) st[2 + ORDER + n - 1] = hyp_len >= n ? hyp_len - n + 1 : 0;
  clear_tables(c);
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

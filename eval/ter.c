/* ter.c - Translation Edit Rate as sacreBLEU 2.x computes it (metrics/ter.py, lib_ter.py, tokenizer_ter.py), a
 * reimplementation of Tercom (Snover et al. 2006): greedy block shifts (at most 10 words, at most 50 positions away,
 * at most 1000 candidates per sentence, each must lower the edit distance) followed by a Levenshtein distance
 * restricted to a beam of 25 around the length-scaled diagonal. Ties between shifts are broken as Tercom does:
 * larger gain, longer block, earlier start, earlier target. sacreBLEU's row cache is only a speed-up (rows depend
 * only on the hypothesis prefix and length), so every distance here is computed in full. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "unicode.h"

#define MAX_SHIFT_SIZE 10
#define MAX_SHIFT_DIST 50
#define BEAM_WIDTH 25
#define MAX_SHIFT_CANDIDATES 1000
#define INF ((int64_t)1e16)

enum { OP_NOP = ' ', OP_SUB = 's', OP_INS = 'i', OP_DEL = 'd', OP_UNDEF = 'x' };

void xlat_ter_options_default(xlat_ter_options *o) { memset(o, 0, sizeof *o); }

typedef struct {
  int64_t *cost;
  char *op;
  size_t cap;
  char *trace;
  int *align, *herr, *rerr, *shifted, *best_words;
  size_t wcap;
} ter_ws;

static void ws_free(ter_ws *w) {
  free(w->cost);
  free(w->op);
  free(w->trace);
  free(w->align);
  free(w->herr);
  free(w->rerr);
  free(w->shifted);
  free(w->best_words);
}

static int ws_reserve(ter_ws *w, size_t nh, size_t nr) {
  size_t cells = (nh + 1) * (nr + 1), words = nh + nr + 2;
  if (cells > w->cap) {
    free(w->cost);
    free(w->op);
    w->cost = malloc(cells * sizeof *w->cost);
    w->op = malloc(cells);
    if (!w->cost || !w->op) return xm_fail("ter: out of memory (%zu x %zu edit matrix)", nh + 1, nr + 1);
    w->cap = cells;
  }
  if (words > w->wcap) {
    int **arrs[] = {&w->align, &w->herr, &w->rerr, &w->shifted, &w->best_words};
    for (size_t k = 0; k < sizeof arrs / sizeof arrs[0]; k++) {
      free(*arrs[k]);
      *arrs[k] = malloc(words * sizeof(int));
      if (!*arrs[k]) return xm_fail("ter: out of memory");
    }
    free(w->trace);
    w->trace = malloc(words + 1);
    if (!w->trace) return xm_fail("ter: out of memory");
    w->wcap = words;
  }
  return 0;
}

/* Beam edit distance of h (nh words) to r (nr words); the trace (ops from the start, rewriting h into r) goes to
 * w->trace with its length in *tn. */
static int64_t edit_distance(ter_ws *w, const int *h, size_t nh, const int *r, size_t nr, size_t *tn) {
  size_t W = nr + 1;
  int64_t *cost = w->cost;
  char *op = w->op;
  for (size_t j = 0; j <= nr; j++) cost[j] = (int64_t)j, op[j] = OP_INS;
  for (size_t i = 1; i <= nh; i++)
    for (size_t j = 0; j <= nr; j++) cost[i * W + j] = INF, op[i * W + j] = OP_UNDEF;
  double ratio = nh ? (double)nr / (double)nh : 1.0;
  long beam = BEAM_WIDTH < ratio / 2 ? (long)ceil(ratio / 2 + BEAM_WIDTH) : BEAM_WIDTH;
  for (size_t i = 1; i <= nh; i++) {
    long diag = (long)floor((double)i * ratio);
    long min_j = diag - beam > 0 ? diag - beam : 0;
    long max_j = diag + beam < (long)nr + 1 ? diag + beam : (long)nr + 1;
    if (i == nh) max_j = (long)nr + 1;
    for (long jj = min_j; jj < max_j; jj++) {
      size_t j = (size_t)jj, c = i * W + j;
      if (j == 0) {
        cost[c] = cost[c - W] + 1, op[c] = OP_DEL;
        continue;
      }
      int same = h[i - 1] == r[j - 1];
      int64_t cand[3] = {cost[c - W - 1] + (same ? 0 : 1), cost[c - W] + 1, cost[c - 1] + 1};
      char ops[3] = {same ? OP_NOP : OP_SUB, OP_DEL, OP_INS};
      for (int k = 0; k < 3; k++)
        if (cost[c] > cand[k]) cost[c] = cand[k], op[c] = ops[k];
    }
  }
  /* trace, built backwards then reversed */
  size_t i = nh, j = nr, n = 0;
  while (i > 0 || j > 0) {
    char o = op[i * W + j];
    w->trace[n++] = o;
    if (o == OP_SUB || o == OP_NOP)
      i--, j--;
    else if (o == OP_INS)
      j--;
    else
      i--; /* OP_DEL; cells outside the beam are never on the path: the last row is complete */
  }
  for (size_t k = 0; k < n / 2; k++) {
    char t = w->trace[k];
    w->trace[k] = w->trace[n - 1 - k];
    w->trace[n - 1 - k] = t;
  }
  *tn = n;
  return cost[nh * W + nr];
}

static void perform_shift(int *out, const int *wds, size_t n, size_t start, size_t len, size_t target) {
  size_t o = 0;
#define COPY(a, b)                                                                                                     \
  for (size_t k_ = (a); k_ < (b); k_++) out[o++] = wds[k_]
  if (target < start) {
    COPY(0, target);
    COPY(start, start + len);
    COPY(target, start);
    COPY(start + len, n);
  } else if (target > start + len) {
    COPY(0, start);
    COPY(start + len, target);
    COPY(start, start + len);
    COPY(target, n);
  } else { /* Python's slices stop at the end of the list: so does this (len + target may pass n) */
    size_t mid = len + target < n ? len + target : n;
    COPY(0, start);
    COPY(start + len, mid);
    COPY(start, start + len);
    COPY(mid, n);
  }
#undef COPY
}

/* One round of sacreBLEU's _shift: the gain of the best shift of h, whose result goes to w->best_words (*found
 * says whether there was a candidate); *checked counts candidates across rounds. */
static int64_t best_shift(ter_ws *w, const int *h, size_t nh, const int *r, size_t nr, int *checked, int *found) {
  size_t tn;
  int64_t pre = edit_distance(w, h, nh, r, nr, &tn);
  /* alignment of the flipped trace (rewriting the reference into the hypothesis) */
  long ph = -1, pr = -1;
  size_t nherr = 0, nrerr = 0;
  for (size_t k = 0; k < tn; k++) {
    char o = w->trace[k];
    if (o == OP_INS)
      o = OP_DEL;
    else if (o == OP_DEL)
      o = OP_INS;
    if (o == OP_NOP || o == OP_SUB) {
      ph++, pr++;
      w->align[pr] = (int)ph;
      w->herr[nherr++] = o == OP_SUB;
      w->rerr[nrerr++] = o == OP_SUB;
    } else if (o == OP_INS) {
      ph++;
      w->herr[nherr++] = 1;
    } else {
      pr++;
      w->align[pr] = (int)ph;
      w->rerr[nrerr++] = 1;
    }
  }
  int64_t best_gain = 0;
  size_t best_len = 0, best_start = 0, best_idx = 0;
  *found = 0;
  for (size_t sh = 0; sh < nh; sh++) {
    for (size_t sr = 0; sr < nr; sr++) {
      if ((sr > sh ? sr - sh : sh - sr) > MAX_SHIFT_DIST) continue;
      size_t len = 0;
      while (h[sh + len] == r[sr + len] && len < MAX_SHIFT_SIZE) {
        len++;
        int skip = 0, any = 0;
        for (size_t k = sh; k < sh + len; k++) any |= w->herr[k];
        if (!any) skip = 1;
        any = 0;
        for (size_t k = sr; k < sr + len; k++) any |= w->rerr[k];
        if (!any) skip = 1;
        long a = w->align[sr]; /* don't shift within the block itself */
        if (!skip && (long)sh <= a && a < (long)(sh + len)) skip = 1;
        if (!skip) {
          long prev = -1;
          for (long off = -1; off < (long)len; off++) {
            long idx = (long)sr + off == -1 ? 0 : w->align[(long)sr + off] + 1;
            if (idx == prev) continue;
            prev = idx;
            perform_shift(w->shifted, h, nh, sh, len, (size_t)idx);
            size_t tn2;
            int64_t gain = pre - edit_distance(w, w->shifted, nh, r, nr, &tn2);
            (*checked)++;
            /* tuple order (gain, length, -start, -target), strictly greater replaces */
            int better = !*found || gain > best_gain ||
                         (gain == best_gain &&
                          (len > best_len ||
                           (len == best_len && (sh < best_start || (sh == best_start && (size_t)idx < best_idx)))));
            if (better) {
              *found = 1;
              best_gain = gain, best_len = len, best_start = sh, best_idx = (size_t)idx;
              memcpy(w->best_words, w->shifted, nh * sizeof *w->shifted);
            }
          }
        }
        if (*checked >= MAX_SHIFT_CANDIDATES) goto done;
        if (nh == sh + len || nr == sr + len) break;
      }
    }
  }
done:
  return *found ? best_gain : 0;
}

/* Edits (shifts + edit distance) of hypothesis h against reference r. */
static int64_t ter_edits(ter_ws *w, const int *h, size_t nh, const int *r, size_t nr, int *cur) {
  if (nr == 0) return (int64_t)nh;
  memcpy(cur, h, nh * sizeof *h);
  int checked = 0;
  int64_t shifts = 0;
  for (;;) {
    int found;
    int64_t gain = best_shift(w, cur, nh, r, nr, &checked, &found);
    if (checked >= MAX_SHIFT_CANDIDATES) break;
    if (gain <= 0) break;
    shifts++;
    memcpy(cur, w->best_words, nh * sizeof *cur);
  }
  size_t tn;
  return shifts + edit_distance(w, cur, nh, r, nr, &tn);
}

/* Tercom's Asian punctuation and full-width punctuation (tokenizer_ter.py). */
static const uint32_t asian_punct[][2] = {{0x3001, 0x3002}, {0x3008, 0x3011}, {0x3014, 0x301f}, {0x30fb, 0x30fb},
                                          {0xff01, 0xff02}, {0xff08, 0xff09}, {0xff0c, 0xff0c}, {0xff0e, 0xff0e},
                                          {0xff1a, 0xff1b}, {0xff1f, 0xff1f}, {0xff61, 0xff65}};
/* CJK characters split to one token each: the union of the character classes of _normalize_asian (the Hiragana,
 * Katakana rules there are anchored with ^ inside the pattern and never match after the padding). */
static const uint32_t asian_split[][2] = {{0x2e80, 0x2eff}, {0x31c0, 0x31ef}, {0x3200, 0x3f22}, {0x3400, 0x4dbf},
                                          {0x4e00, 0x9fff}, {0xf900, 0xfaff}, {0xfe30, 0xfe4f}};
#define NR(a) ((int)(sizeof(a) / sizeof((a)[0])))

static int is_digit(uint32_t c) { return c >= '0' && c <= '9'; }
static int is_13a_split(uint32_t c) {
  return (c >= '{' && c <= '~') || (c >= '[' && c <= '`') || (c >= ' ' && c <= '&') || (c >= '(' && c <= '+') ||
         (c >= ':' && c <= '@') || c == '/';
}

typedef struct {
  xm_cps a, b;
} ter_tok;

static int push(xm_cps *o, uint32_t c) { return xm_cps_push(o, c); }
static int pad(xm_cps *o, uint32_t c) { return push(o, ' ') || push(o, c) || push(o, ' '); }
static xm_cps *other(ter_tok *z, const xm_cps *cur) { return cur == &z->a ? &z->b : &z->a; }

/* Python str.replace of an ASCII pattern: *cur becomes the result. */
static int replace(ter_tok *z, xm_cps **cur, const char *pat, const char *rep) {
  xm_cps *in = *cur, *out = other(z, in);
  size_t m = strlen(pat);
  out->n = 0;
  for (size_t i = 0; i < in->n;) {
    size_t k = 0;
    while (k < m && i + k < in->n && in->c[i + k] == (unsigned char)pat[k]) k++;
    if (k == m) {
      for (const char *p = rep; *p; p++)
        if (push(out, (unsigned char)*p)) return -1;
      i += m;
    } else if (push(out, in->c[i++])) {
      return -1;
    }
  }
  *cur = out;
  return 0;
}

/* Tercom's normalisation (13a-like, plus the possessive 's split), applied as the regular expressions are. */
static int normalize_western(ter_tok *z, xm_cps **cur) {
  static const char *const rep[][2] = {{"\n-", ""},    {"\n", " "},   {"&quot;", "\""},
                                       {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}};
  for (int k = 0; k < 6; k++)
    if (replace(z, cur, rep[k][0], rep[k][1])) return -1;
  xm_cps *in = *cur, *o = other(z, in);
  o->n = 0;
  if (push(o, ' ')) return -1;
  for (size_t i = 0; i < in->n; i++)
    if (is_13a_split(in->c[i]) ? pad(o, in->c[i]) : push(o, in->c[i])) return -1;
  if (push(o, ' ')) return -1;
  *cur = o;
  /* "'s " -> " 's " ("'s$" cannot match: the line now ends with the padding space) */
  if (replace(z, cur, "'s ", " 's ")) return -1;
  for (int pass = 0; pass < 3; pass++) {
    in = *cur, o = other(z, in), o->n = 0;
    for (size_t i = 0; i < in->n;) {
      uint32_t c = in->c[i], d = i + 1 < in->n ? in->c[i + 1] : 0;
      int hit = i + 1 < in->n && (pass == 0   ? !is_digit(c) && (d == '.' || d == ',')
                                  : pass == 1 ? (c == '.' || c == ',') && !is_digit(d)
                                              : is_digit(c) && d == '-');
      if (!hit) {
        if (push(o, c)) return -1;
        i++;
        continue;
      }
      int rc = pass == 0   ? push(o, c) || push(o, ' ') || push(o, d) || push(o, ' ')
               : pass == 1 ? push(o, ' ') || push(o, c) || push(o, ' ') || push(o, d)
                           : push(o, c) || push(o, ' ') || push(o, d) || push(o, ' ');
      if (rc) return -1;
      i += 2;
    }
    *cur = o;
  }
  return 0;
}

/* Keeps (mode 0: pads, mode 1: drops) the characters of *cur that are in the given ranges. */
static int pad_or_drop(ter_tok *z, xm_cps **cur, const uint32_t (*r)[2], int n, int drop) {
  xm_cps *in = *cur, *o = other(z, in);
  o->n = 0;
  for (size_t i = 0; i < in->n; i++) {
    uint32_t c = in->c[i];
    int hit = xm_in_ranges(r, n, c);
    if (hit && drop) continue;
    if (hit ? pad(o, c) : push(o, c)) return -1;
  }
  *cur = o;
  return 0;
}

/* sacreBLEU's TercomTokenizer after TER's rstrip, then str.split(); the tokens are appended to out. */
static int ter_tokenize(ter_tok *z, const char *s, const xlat_ter_options *o, xm_toks *out, const char *what) {
  static const uint32_t punct[][2] = {{'!', '"'}, {'(', ')'}, {',', ','}, {'.', '.'}, {':', ';'}, {'?', '?'}};
  xm_cps *cur = &z->a;
  if (xm_utf8_decode(cur, s, strlen(s), what)) return -1;
  xm_rstrip(cur);
  if (cur->n == 0) return 0;
  if (!o->case_sensitive) {
    xm_cps *low = other(z, cur);
    if (xm_lower(low, cur)) return -1;
    cur = low;
  }
  if (o->normalized) {
    if (normalize_western(z, &cur)) return -1;
    if (o->asian_support && (pad_or_drop(z, &cur, asian_split, NR(asian_split), 0) ||
                             pad_or_drop(z, &cur, asian_punct, NR(asian_punct), 0)))
      return -1;
  }
  if (o->no_punct) {
    if (pad_or_drop(z, &cur, punct, NR(punct), 1)) return -1;
    if (o->asian_support && pad_or_drop(z, &cur, asian_punct, NR(asian_punct), 1)) return -1;
  }
  return xm_split(out, cur->c, cur->n);
}

/* Words of a segment numbered exactly (equal bytes, equal number) so that the edit distance compares ints. */
typedef struct {
  xm_toks all;   /* every word of the segment */
  uint32_t *tab; /* slot -> word index + 1 */
  size_t cap;
  int *ids; /* id of each word in all */
  size_t ids_cap;
} interner;

static int intern_segment(interner *in) {
  size_t m = in->all.n, cap = 16;
  while (cap < 2 * m + 2) cap *= 2;
  if (cap > in->cap) {
    free(in->tab);
    in->tab = malloc(cap * sizeof *in->tab);
    if (!in->tab) return xm_fail("ter: out of memory");
    in->cap = cap;
  }
  if (m + 1 > in->ids_cap) {
    free(in->ids);
    in->ids = malloc((m + 1) * sizeof *in->ids);
    if (!in->ids) return xm_fail("ter: out of memory");
    in->ids_cap = m + 1;
  }
  memset(in->tab, 0, cap * sizeof *in->tab);
  const xm_toks *t = &in->all;
  for (size_t k = 0; k < m; k++) {
    size_t s = (size_t)t->hash[k] & (cap - 1);
    for (;;) {
      if (!in->tab[s]) {
        in->tab[s] = (uint32_t)k + 1;
        in->ids[k] = (int)k;
        break;
      }
      size_t j = in->tab[s] - 1;
      if (t->len[j] == t->len[k] && t->hash[j] == t->hash[k] &&
          !memcmp(t->text + t->off[j], t->text + t->off[k], t->len[k])) {
        in->ids[k] = in->ids[j];
        break;
      }
      s = (s + 1) & (cap - 1);
    }
  }
  return 0;
}

typedef struct {
  ter_tok z;
  interner in;
  ter_ws w;
  size_t *start; /* side k's words are all[start[k] .. start[k+1]) */
  int nsides;
  int *cur;
  size_t cur_cap;
} ter_ctx;

static void ctx_free(ter_ctx *c) {
  xm_cps_free(&c->z.a);
  xm_cps_free(&c->z.b);
  xm_toks_free(&c->in.all);
  free(c->in.tab);
  free(c->in.ids);
  ws_free(&c->w);
  free(c->start);
  free(c->cur);
}

/* stats[0] = fewest edits over the references, stats[1] = average reference length. */
static int segment_stats(ter_ctx *c, const char *hyp, const char *const *refs, int nrefs, int64_t seg,
                         const xlat_ter_options *o, double stats[2]) {
  char what[96];
  if (c->nsides < nrefs + 2) {
    size_t *st = realloc(c->start, (size_t)(nrefs + 2) * sizeof *st);
    if (!st) return xm_fail("ter: out of memory");
    c->start = st;
    c->nsides = nrefs + 2;
  }
  xm_toks_clear(&c->in.all);
  c->start[0] = 0;
  snprintf(what, sizeof what, "hypothesis segment %lld", (long long)seg + 1);
  if (ter_tokenize(&c->z, hyp, o, &c->in.all, what)) return -1;
  c->start[1] = c->in.all.n;
  for (int r = 0; r < nrefs; r++) {
    snprintf(what, sizeof what, "reference %d segment %lld", r + 1, (long long)seg + 1);
    if (ter_tokenize(&c->z, refs[r], o, &c->in.all, what)) return -1;
    c->start[r + 2] = c->in.all.n;
  }
  if (intern_segment(&c->in)) return -1;
  size_t nh = c->start[1];
  if (nh + 1 > c->cur_cap) {
    free(c->cur);
    c->cur = malloc((nh + 1) * sizeof *c->cur);
    if (!c->cur) return xm_fail("ter: out of memory");
    c->cur_cap = nh + 1;
  }
  int64_t best = INF;
  double ref_lengths = 0;
  for (int r = 0; r < nrefs; r++) {
    size_t b = c->start[r + 1], nr = c->start[r + 2] - b;
    if (ws_reserve(&c->w, nh, nr)) return -1;
    int64_t e = ter_edits(&c->w, c->in.ids, nh, c->in.ids + b, nr, c->cur);
    ref_lengths += (double)nr;
    if (e < best) best = e;
  }
  stats[0] = (double)best;
  stats[1] = ref_lengths / nrefs;
  return 0;
}

double xlat_ter_from_stats(const double stats[2]) {
  double edits = stats[0], len = stats[1];
  if (len > 0) return 100 * (edits / len);
  return edits > 0 ? 100.0 : 0.0;
}

int xlat_ter_stats(const char *const *hyps, const char *const *const *refs, int64_t n, int nrefs,
                   const xlat_ter_options *o, double *stats) {
  xlat_ter_options def;
  if (!o) xlat_ter_options_default(&def), o = &def;
  if (n < 0 || nrefs < 1) return xm_fail("ter: expected n >= 0 and nrefs >= 1, got %lld, %d", (long long)n, nrefs);
  ter_ctx c = {0};
  const char **seg_refs = malloc((size_t)nrefs * sizeof *seg_refs);
  int rc = seg_refs ? 0 : xm_fail("ter: out of memory");
  for (int64_t i = 0; i < n && !rc; i++) {
    for (int r = 0; r < nrefs; r++) seg_refs[r] = refs[r][i];
    rc = segment_stats(&c, hyps[i], seg_refs, nrefs, i, o, stats + 2 * i);
  }
  free(seg_refs);
  ctx_free(&c);
  return rc;
}

int xlat_ter_corpus(const char *const *hyps, const char *const *const *refs, int64_t n, int nrefs,
                    const xlat_ter_options *o, xlat_ter_result *out) {
  double *st = malloc(2 * (size_t)(n > 0 ? n : 1) * sizeof *st);
  if (!st) return xm_fail("ter: out of memory");
  int rc = xlat_ter_stats(hyps, refs, n, nrefs, o, st);
  if (!rc) {
    double sum[2] = {0, 0};
    for (int64_t i = 0; i < n; i++) sum[0] += st[2 * i], sum[1] += st[2 * i + 1];
    out->num_edits = sum[0];
    out->ref_length = sum[1];
    out->score = xlat_ter_from_stats(sum);
  }
  free(st);
  return rc;
}

int xlat_ter_sentence(const char *hyp, const char *const *refs, int nrefs, const xlat_ter_options *o,
                      xlat_ter_result *out) {
  const char *const *streams[64];
  if (nrefs > 64) return xm_fail("ter: at most 64 references per sentence, got %d", nrefs);
  for (int r = 0; r < nrefs; r++) streams[r] = &refs[r];
  return xlat_ter_corpus(&hyp, streams, 1, nrefs, o, out);
}

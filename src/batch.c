/* batch.c - padded batches from id arrays, and the token-based, length-bucketed, seeded batcher over a corpus.
 *
 * Per epoch the batcher shuffles the pairs, sorts them by length with a stable counting sort (so equal lengths stay
 * in shuffled order), cuts the sorted list greedily under the token budget and shuffles the batches: batches hold
 * pairs of similar length (little padding) yet differ from epoch to epoch. Everything is a pure function of
 * (corpus, max_tokens, max_len, seed, epoch). All memory is allocated in xlat_batcher_new.
 */
#include <string.h>

#include "internal.h"

/* Pads B rows into src (B,S), tgt_in (B,T), tgt_out (B,T) following the conventions in corpus.h. */
static void pad_rows(int32_t *src, int32_t *tgt_in, int32_t *tgt_out, int32_t B, int32_t S, int32_t T,
                     const int32_t *const *xs, const int32_t *xs_len, const int32_t *const *ys,
                     const int32_t *ys_len) {
  for (int32_t b = 0; b < B; b++) {
    int32_t *row = src + (size_t)b * S;
    memcpy(row, xs[b], (size_t)xs_len[b] * sizeof *row);
    memset(row + xs_len[b], 0, (size_t)(S - xs_len[b]) * sizeof *row);
    if (!ys) continue;
    int32_t n = ys_len[b], *in = tgt_in + (size_t)b * T, *out = tgt_out + (size_t)b * T;
    in[0] = XLAT_BOS;
    memcpy(in + 1, ys[b], (size_t)n * sizeof *in);
    memcpy(out, ys[b], (size_t)n * sizeof *out);
    out[n] = XLAT_EOS;
    memset(in + n + 1, 0, (size_t)(T - n - 1) * sizeof *in);
    memset(out + n + 1, 0, (size_t)(T - n - 1) * sizeof *out);
  }
}

/* ---- batches from id arrays ------------------------------------------------------------------------------------- */

struct xlat_batch_buffer {
  int32_t *data;
  size_t cap;
};

xlat_status xlat_batch_buffer_new(xlat_batch_buffer **out) {
  *out = calloc(1, sizeof **out);
  return *out ? XLAT_OK : xlat_fail(XLAT_ERR_NOMEM, "batch buffer: out of memory");
}

void xlat_batch_buffer_free(xlat_batch_buffer *buf) {
  if (!buf) return;
  free(buf->data);
  free(buf);
}

xlat_status xlat_batch_make(xlat_batch_buffer *buf, int32_t B, const int32_t *const *src, const int32_t *src_len,
                            const int32_t *const *tgt, const int32_t *tgt_len, xlat_batch *out) {
  memset(out, 0, sizeof *out);
  if (B < 1) return xlat_fail(XLAT_ERR_ARG, "batch: %d rows, expected at least 1", (int)B);
  int32_t S = 1, T = 0; /* S >= 1 so an all-empty source still has a (padding) column */
  for (int32_t b = 0; b < B; b++) {
    if (src_len[b] < 0 || (tgt && tgt_len[b] < 0))
      return xlat_fail(XLAT_ERR_ARG, "batch: row %d has a negative length", (int)b);
    if (src_len[b] > S) S = src_len[b];
    if (tgt && tgt_len[b] + 1 > T) T = tgt_len[b] + 1;
  }
  size_t need = (size_t)B * S + 2 * (size_t)B * T;
  if (need > buf->cap) {
    int32_t *p = realloc(buf->data, need * sizeof *p);
    if (!p) return xlat_fail(XLAT_ERR_NOMEM, "batch: out of memory for %d x (%d + 2 x %d) ids", (int)B, (int)S, (int)T);
    buf->data = p;
    buf->cap = need;
  }
  int32_t *s = buf->data, *ti = tgt ? s + (size_t)B * S : NULL, *to = tgt ? ti + (size_t)B * T : NULL;
  pad_rows(s, ti, to, B, S, T, src, src_len, tgt, tgt_len);
  out->B = B;
  out->S = S;
  out->T = T;
  out->src = s;
  out->tgt_in = ti;
  out->tgt_out = to;
  return XLAT_OK;
}

/* ---- the batcher ----------------------------------------------------------------------------------------------- */

struct xlat_batcher {
  const xlat_corpus *c;
  int32_t max_tokens, max_len;
  uint64_t seed;
  int64_t n_eligible, skipped;
  int64_t *eligible;  /* corpus indices of pairs that fit max_len */
  int64_t *order;     /* this epoch's pairs, sorted by length; batch k is order[start[k] .. start[k+1]) */
  int64_t *scratch;   /* counting-sort output */
  int64_t *start;     /* (n_eligible + 1) */
  int64_t *perm;      /* shuffled batch order */
  int64_t *count;     /* (max_len + 1) counting-sort histogram */
  int64_t n_batches;
  int epoch_ready;
  int32_t *src, *tgt_in, *tgt_out; /* max_tokens each */
  const int32_t **xs, **ys;        /* row pointers, max_tokens each (B <= max_tokens) */
  int32_t *xs_len, *ys_len;
};

void xlat_batcher_free(xlat_batcher *b) {
  if (!b) return;
  free(b->eligible);
  free(b->order);
  free(b->scratch);
  free(b->start);
  free(b->perm);
  free(b->count);
  free(b->src);
  free(b->tgt_in);
  free(b->tgt_out);
  free(b->xs);
  free(b->ys);
  free(b->xs_len);
  free(b->ys_len);
  free(b);
}

static int32_t pair_key(const xlat_corpus *c, int64_t i) {
  const int32_t *x, *y;
  int32_t nx, ny;
  xlat_corpus_pair(c, i, &x, &nx, &y, &ny);
  return nx > ny + 1 ? nx : ny + 1;
}

xlat_status xlat_batcher_new(const xlat_corpus *c, int32_t max_tokens, int32_t max_len, uint64_t seed,
                             xlat_batcher **out) {
  *out = NULL;
  if (max_len < 2 || max_tokens < max_len)
    return xlat_fail(XLAT_ERR_ARG, "batcher: max_len %d and max_tokens %d, expected max_len >= 2 and max_tokens >= "
                     "max_len", (int)max_len, (int)max_tokens);
  xlat_batcher *b = calloc(1, sizeof *b);
  if (!b) return xlat_fail(XLAT_ERR_NOMEM, "batcher: out of memory");
  int64_t n = xlat_corpus_size(c);
  size_t n1 = (size_t)n + 1, mt = (size_t)max_tokens;
  b->c = c;
  b->max_tokens = max_tokens;
  b->max_len = max_len;
  b->seed = seed;
  b->eligible = malloc(n1 * sizeof *b->eligible);
  b->order = malloc(n1 * sizeof *b->order);
  b->scratch = malloc(n1 * sizeof *b->scratch);
  b->start = malloc((n1 + 1) * sizeof *b->start);
  b->perm = malloc(n1 * sizeof *b->perm);
  b->count = malloc(((size_t)max_len + 2) * sizeof *b->count);
  b->src = malloc(mt * sizeof *b->src);
  b->tgt_in = malloc(mt * sizeof *b->tgt_in);
  b->tgt_out = malloc(mt * sizeof *b->tgt_out);
  b->xs = malloc(mt * sizeof *b->xs);
  b->ys = malloc(mt * sizeof *b->ys);
  b->xs_len = malloc(mt * sizeof *b->xs_len);
  b->ys_len = malloc(mt * sizeof *b->ys_len);
  if (!b->eligible || !b->order || !b->scratch || !b->start || !b->perm || !b->count || !b->src || !b->tgt_in ||
      !b->tgt_out || !b->xs || !b->ys || !b->xs_len || !b->ys_len) {
    xlat_batcher_free(b);
    return xlat_fail(XLAT_ERR_NOMEM, "batcher: out of memory for %lld pairs", (long long)n);
  }
  for (int64_t i = 0; i < n; i++) {
    const int32_t *x, *y;
    int32_t nx, ny;
    xlat_corpus_pair(c, i, &x, &nx, &y, &ny);
    if (nx <= max_len && ny + 1 <= max_len) b->eligible[b->n_eligible++] = i;
    else b->skipped++;
  }
  *out = b;
  return XLAT_OK;
}

int64_t xlat_batcher_skipped(const xlat_batcher *b) { return b->skipped; }

/* Uniform in [0, n) without modulo bias (rejects the top partial range). */
static uint64_t uniform(uint64_t *state, uint64_t n) {
  uint64_t limit = UINT64_MAX - UINT64_MAX % n, r;
  do r = xlat_splitmix64(state);
  while (r >= limit);
  return r % n;
}

static void shuffle(int64_t *a, int64_t n, uint64_t *state) {
  for (int64_t i = n - 1; i > 0; i--) {
    int64_t j = (int64_t)uniform(state, (uint64_t)i + 1), t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}

int64_t xlat_batcher_epoch(xlat_batcher *b, int64_t epoch) {
  const xlat_corpus *c = b->c;
  int64_t n = b->n_eligible;
  /* One stream per (seed, epoch): mix both through splitmix64 so nearby seeds and epochs give unrelated orders. */
  uint64_t mix = b->seed;
  uint64_t state = xlat_splitmix64(&mix) ^ (uint64_t)epoch * 0xD1B54A32D192ED03ULL;
  xlat_splitmix64(&state);

  memcpy(b->scratch, b->eligible, (size_t)n * sizeof *b->scratch);
  shuffle(b->scratch, n, &state);
  memset(b->count, 0, ((size_t)b->max_len + 2) * sizeof *b->count);
  for (int64_t i = 0; i < n; i++) b->count[pair_key(c, b->scratch[i]) + 1]++;
  for (int32_t k = 1; k <= b->max_len + 1; k++) b->count[k] += b->count[k - 1];
  for (int64_t i = 0; i < n; i++) b->order[b->count[pair_key(c, b->scratch[i])]++] = b->scratch[i];

  /* Greedy cut: sorted by max(S, T), so a batch's padded size is its row count times its last row's key, except
   * that S and T maxima may come from different rows; track both. */
  int64_t nb = 0, i = 0;
  while (i < n) {
    b->start[nb] = i;
    int32_t S = 0, T = 0, rows = 0;
    while (i < n) {
      const int32_t *x, *y;
      int32_t nx, ny;
      xlat_corpus_pair(c, b->order[i], &x, &nx, &y, &ny);
      int32_t s2 = nx > S ? nx : S, t2 = ny + 1 > T ? ny + 1 : T, w = s2 > t2 ? s2 : t2;
      if (rows > 0 && (int64_t)(rows + 1) * w > b->max_tokens) break;
      S = s2;
      T = t2;
      rows++;
      i++;
    }
    nb++;
  }
  b->start[nb] = n;
  for (int64_t k = 0; k < nb; k++) b->perm[k] = k;
  shuffle(b->perm, nb, &state);
  b->n_batches = nb;
  b->epoch_ready = 1;
  return nb;
}

const int64_t *xlat_batcher_pairs(const xlat_batcher *b, int64_t index, int32_t *B) {
  *B = 0;
  if (!b->epoch_ready || index < 0 || index >= b->n_batches) return NULL;
  int64_t k = b->perm[index];
  *B = (int32_t)(b->start[k + 1] - b->start[k]);
  return b->order + b->start[k];
}

xlat_status xlat_batcher_get(xlat_batcher *b, int64_t index, xlat_batch *out) {
  memset(out, 0, sizeof *out);
  int32_t B;
  const int64_t *pairs = xlat_batcher_pairs(b, index, &B);
  if (!pairs)
    return xlat_fail(XLAT_ERR_ARG, "batcher: batch %lld requested, the epoch has %lld%s", (long long)index,
                     (long long)b->n_batches, b->epoch_ready ? "" : " (no epoch laid out yet)");
  int32_t S = 1, T = 1;
  for (int32_t r = 0; r < B; r++) {
    xlat_corpus_pair(b->c, pairs[r], &b->xs[r], &b->xs_len[r], &b->ys[r], &b->ys_len[r]);
    if (b->xs_len[r] > S) S = b->xs_len[r];
    if (b->ys_len[r] + 1 > T) T = b->ys_len[r] + 1;
  }
  XLAT_ASSERT((int64_t)B * S <= b->max_tokens && (int64_t)B * T <= b->max_tokens);
  pad_rows(b->src, b->tgt_in, b->tgt_out, B, S, T, b->xs, b->xs_len, b->ys, b->ys_len);
  out->B = B;
  out->S = S;
  out->T = T;
  out->src = b->src;
  out->tgt_in = b->tgt_in;
  out->tgt_out = b->tgt_out;
  return XLAT_OK;
}

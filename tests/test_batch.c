/* test_batch.c - the batch builder and the token-based batcher: padding conventions, exactly-once per epoch, token
 * budget and max_len respected, seeded determinism, length bucketing, argument errors. */
#include <string.h>

#include "internal.h"
#include "test.h"

enum { NPAIRS = 3000, MAXLEN = 64, MAXTOK = 512 };

static uint64_t rng_state = 12345;
static uint32_t rnd(uint32_t n) {
  rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (uint32_t)(rng_state >> 33) % n;
}

/* A corpus with lengths 0..80 (some over MAXLEN) and ids that encode the pair index, so rows can be checked. */
static xlat_corpus *make_corpus(int32_t *src_len, int32_t *tgt_len, int32_t **src, int32_t **tgt) {
  for (int i = 0; i < NPAIRS; i++) {
    src_len[i] = (int32_t)rnd(70) + (i % 97 == 0 ? 10 : 0);
    tgt_len[i] = (int32_t)rnd(70);
    src[i] = malloc((size_t)(src_len[i] + 1) * sizeof **src);
    tgt[i] = malloc((size_t)(tgt_len[i] + 1) * sizeof **tgt);
    for (int k = 0; k < src_len[i]; k++) src[i][k] = 4 + (i * 7 + k) % 5000;
    for (int k = 0; k < tgt_len[i]; k++) tgt[i][k] = 4 + (i * 11 + k) % 5000;
  }
  xlat_corpus *c = NULL;
  CHECK(xlat_corpus_from_ids(NPAIRS, (const int32_t *const *)src, src_len, (const int32_t *const *)tgt, tgt_len, &c) ==
        XLAT_OK);
  return c;
}

/* Checks every batch of the current epoch; fills seen[] with how often each pair appeared; returns a hash of the
 * epoch's batches (pair indices in order). */
static uint64_t check_epoch(xlat_batcher *b, const xlat_corpus *c, int64_t nb, int *seen, double *fill) {
  uint64_t h = 1469598103934665603ULL;
  int64_t real = 0, padded = 0;
  for (int64_t k = 0; k < nb; k++) {
    xlat_batch batch;
    int32_t B;
    const int64_t *pairs = xlat_batcher_pairs(b, k, &B);
    CHECK(pairs != NULL && B >= 1);
    CHECK(xlat_batcher_get(b, k, &batch) == XLAT_OK);
    CHECK(batch.B == B);
    CHECK(batch.S >= 1 && batch.S <= MAXLEN && batch.T >= 1 && batch.T <= MAXLEN);
    CHECK((int64_t)batch.B * batch.S <= MAXTOK && (int64_t)batch.B * batch.T <= MAXTOK);
    int32_t maxs = 1, maxt = 1;
    for (int32_t r = 0; r < B; r++) {
      const int32_t *x, *y;
      int32_t nx, ny;
      xlat_corpus_pair(c, pairs[r], &x, &nx, &y, &ny);
      seen[pairs[r]]++;
      h = (h ^ (uint64_t)pairs[r]) * 1099511628211ULL;
      maxs = nx > maxs ? nx : maxs;
      maxt = ny + 1 > maxt ? ny + 1 : maxt;
      const int32_t *rs = batch.src + (size_t)r * batch.S, *ri = batch.tgt_in + (size_t)r * batch.T,
                    *ro = batch.tgt_out + (size_t)r * batch.T;
      int ok = memcmp(rs, x, (size_t)nx * 4) == 0 && ri[0] == XLAT_BOS && memcmp(ri + 1, y, (size_t)ny * 4) == 0 &&
               memcmp(ro, y, (size_t)ny * 4) == 0 && ro[ny] == XLAT_EOS;
      for (int32_t j = nx; j < batch.S; j++) ok &= rs[j] == XLAT_PAD;
      for (int32_t j = ny + 1; j < batch.T; j++) ok &= ri[j] == XLAT_PAD && ro[j] == XLAT_PAD;
      CHECK(ok);
      real += nx > ny + 1 ? nx : ny + 1;
    }
    CHECK(batch.S == maxs && batch.T == maxt); /* no more padding than the longest row needs */
    padded += (int64_t)batch.B * (batch.S > batch.T ? batch.S : batch.T);
  }
  *fill = (double)real / (double)padded;
  return h;
}

static void test_batcher(void) {
  static int32_t src_len[NPAIRS], tgt_len[NPAIRS];
  static int32_t *src[NPAIRS], *tgt[NPAIRS];
  static int seen[NPAIRS];
  xlat_corpus *c = make_corpus(src_len, tgt_len, src, tgt);
  if (!c) return;
  int64_t too_long = 0;
  for (int i = 0; i < NPAIRS; i++) too_long += src_len[i] > MAXLEN || tgt_len[i] + 1 > MAXLEN;
  CHECK(too_long > 0);

  xlat_batcher *b1, *b2, *b3;
  CHECK(xlat_batcher_new(c, MAXTOK, MAXLEN, 7, &b1) == XLAT_OK);
  CHECK(xlat_batcher_new(c, MAXTOK, MAXLEN, 7, &b2) == XLAT_OK);
  CHECK(xlat_batcher_new(c, MAXTOK, MAXLEN, 8, &b3) == XLAT_OK);
  CHECK(xlat_batcher_skipped(b1) == too_long);

  xlat_batch batch;
  int32_t B;
  CHECK(xlat_batcher_get(b1, 0, &batch) == XLAT_ERR_ARG); /* no epoch laid out yet */
  CHECK(xlat_batcher_pairs(b1, 0, &B) == NULL && B == 0);

  uint64_t h[3];
  for (int e = 0; e < 3; e++) {
    memset(seen, 0, sizeof seen);
    int64_t nb = xlat_batcher_epoch(b1, e);
    double fill;
    h[e] = check_epoch(b1, c, nb, seen, &fill);
    for (int i = 0; i < NPAIRS; i++) CHECK(seen[i] == (src_len[i] > MAXLEN || tgt_len[i] + 1 > MAXLEN ? 0 : 1));
    /* Length bucketing: rows of a batch have similar max(S, T), so B * max(S, T) is mostly real tokens (random
     * batches of these lengths fill about two thirds). */
    CHECK(fill > 0.9);
    CHECK(xlat_batcher_get(b1, nb, &batch) == XLAT_ERR_ARG);
    CHECK(xlat_batcher_get(b1, -1, &batch) == XLAT_ERR_ARG);

    /* Same seed and epoch: the same batches in the same order, also on a different batcher object. */
    memset(seen, 0, sizeof seen);
    CHECK(xlat_batcher_epoch(b2, e) == nb);
    CHECK(check_epoch(b2, c, nb, seen, &fill) == h[e]);
    /* Another seed: another order. */
    memset(seen, 0, sizeof seen);
    int64_t nb3 = xlat_batcher_epoch(b3, e);
    CHECK(check_epoch(b3, c, nb3, seen, &fill) != h[e]);
  }
  CHECK(h[0] != h[1] && h[1] != h[2]);
  /* Laying out an earlier epoch again reproduces it exactly (resume after a restart). */
  memset(seen, 0, sizeof seen);
  double fill;
  CHECK(check_epoch(b1, c, xlat_batcher_epoch(b1, 1), seen, &fill) == h[1]);

  /* Argument errors. */
  xlat_batcher *bad = NULL;
  CHECK(xlat_batcher_new(c, 100, 200, 1, &bad) == XLAT_ERR_ARG && bad == NULL);
  CHECK(xlat_batcher_new(c, 100, 1, 1, &bad) == XLAT_ERR_ARG && bad == NULL);
  CHECK(strstr(xlat_last_error(), "max_len") != NULL);

  xlat_batcher_free(b1);
  xlat_batcher_free(b2);
  xlat_batcher_free(b3);
  xlat_batcher_free(NULL);
  xlat_corpus_free(c);
  for (int i = 0; i < NPAIRS; i++) {
    free(src[i]);
    free(tgt[i]);
  }
}

/* A budget that fits exactly one row per batch still puts every pair in exactly once. */
static void test_tight_budget(void) {
  int32_t x0[] = {5, 6, 7}, y0[] = {8}, x1[] = {9}, y1[] = {10, 11, 12, 13}, x2[] = {0}, y2[] = {14};
  const int32_t *xs[] = {x0, x1, x2}, *ys[] = {y0, y1, y2};
  int32_t xl[] = {3, 1, 0}, yl[] = {1, 4, 1};
  xlat_corpus *c;
  CHECK(xlat_corpus_from_ids(3, xs, xl, ys, yl, &c) == XLAT_OK);
  xlat_batcher *b;
  CHECK(xlat_batcher_new(c, 5, 5, 1, &b) == XLAT_OK);
  /* Sorted keys max(S, T) are 2 (pair 2), 3 (pair 0), 5 (pair 1): no two fit in 5 tokens. */
  CHECK(xlat_batcher_epoch(b, 0) == 3);
  int seen[3] = {0, 0, 0};
  for (int k = 0; k < 3; k++) {
    int32_t B;
    const int64_t *p = xlat_batcher_pairs(b, k, &B);
    for (int r = 0; r < B; r++) seen[p[r]]++;
  }
  CHECK(seen[0] == 1 && seen[1] == 1 && seen[2] == 1);
  xlat_batcher_free(b);
  CHECK(xlat_batcher_new(c, 3, 3, 1, &b) == XLAT_OK);
  CHECK(xlat_batcher_skipped(b) == 1); /* pair 1 needs T = 5 > 3 */
  CHECK(xlat_batcher_epoch(b, 4) == 2);
  xlat_batcher_free(b);
  xlat_corpus_free(c);
}

static void test_batch_make(void) {
  int32_t x0[] = {5, 6, 7}, y0[] = {8}, x1[] = {9}, y1[] = {10, 11};
  const int32_t *xs[] = {x0, x1}, *ys[] = {y0, y1};
  int32_t xl[] = {3, 1}, yl[] = {1, 2};
  xlat_batch_buffer *buf;
  xlat_batch b;
  CHECK(xlat_batch_buffer_new(&buf) == XLAT_OK);
  CHECK(xlat_batch_make(buf, 2, xs, xl, ys, yl, &b) == XLAT_OK);
  CHECK(b.B == 2 && b.S == 3 && b.T == 3);
  const int32_t src[] = {5, 6, 7, 9, 0, 0}, tin[] = {2, 8, 0, 2, 10, 11}, tout[] = {8, 3, 0, 10, 11, 3};
  CHECK(memcmp(b.src, src, sizeof src) == 0);
  CHECK(memcmp(b.tgt_in, tin, sizeof tin) == 0);
  CHECK(memcmp(b.tgt_out, tout, sizeof tout) == 0);
  /* Source only (the decoder's case), and a source that is empty. */
  int32_t xl0[] = {0};
  CHECK(xlat_batch_make(buf, 1, xs, xl0, NULL, NULL, &b) == XLAT_OK);
  CHECK(b.B == 1 && b.S == 1 && b.T == 0 && b.src[0] == XLAT_PAD && b.tgt_in == NULL && b.tgt_out == NULL);
  CHECK(xlat_batch_make(buf, 0, xs, xl, ys, yl, &b) == XLAT_ERR_ARG);
  xlat_batch_buffer_free(buf);
  xlat_batch_buffer_free(NULL);
}

int main(void) {
  test_batch_make();
  test_tight_budget();
  test_batcher();
  TEST_END();
}

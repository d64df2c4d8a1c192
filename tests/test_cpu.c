/* test_cpu.c - the kernel choices (cpu.c) and the per-instruction-set kernel tables (kernels.c): OpenBLAS's core
 * type from CPU features and its own pick, xlat's table from CPU features and XLAT_ISA, and every table this CPU
 * runs giving the same bits as the generic one and the right values against naive loops. */
#include <math.h>
#include <string.h>

#include "kernels.h"
#include "test.h"

static xlat_cpu_features sse(void) { return (xlat_cpu_features){0}; }

static xlat_cpu_features avx2(void) {
  xlat_cpu_features f = {0};
  f.avx = f.avx2 = f.fma = 1;
  return f;
}

static xlat_cpu_features skylakex(void) {
  xlat_cpu_features f = avx2();
  f.avx512f = f.avx512bw = f.avx512dq = f.avx512vl = f.avx512cd = 1;
  return f;
}

static xlat_cpu_features cooperlake(void) {
  xlat_cpu_features f = skylakex();
  f.avx512bf16 = 1;
  return f;
}

static int same(const char *a, const char *b) { return (!a && !b) || (a && b && !strcmp(a, b)); }

static void test_blas_core(void) {
  xlat_cpu_features f;
  /* Intel family 6 model 207 (AVX-512 with BF16) under OpenBLAS 0.3.21: Prescott, raised to Cooperlake */
  f = cooperlake();
  CHECK(same(xlat_blas_core_for(&f, "Prescott"), "Cooperlake"));
  CHECK(same(xlat_blas_core_for(&f, "Haswell"), "Cooperlake"));
  CHECK(same(xlat_blas_core_for(&f, "SkylakeX"), "Cooperlake"));
  CHECK(same(xlat_blas_core_for(&f, "Cooperlake"), NULL));
  CHECK(same(xlat_blas_core_for(&f, "SapphireRapids"), NULL)); /* never lowered */
  CHECK(same(xlat_blas_core_for(&f, "cooperlake"), NULL));     /* names compare without case */
  CHECK(same(xlat_blas_core_for(&f, "SomeFutureCore"), NULL)); /* unknown: OpenBLAS's business */
  CHECK(same(xlat_blas_core_for(&f, NULL), NULL));
  f = skylakex();
  CHECK(same(xlat_blas_core_for(&f, "Prescott"), "SkylakeX"));
  CHECK(same(xlat_blas_core_for(&f, "Zen"), "SkylakeX"));
  CHECK(same(xlat_blas_core_for(&f, "SkylakeX"), NULL));
  f.avx512cd = 0; /* OpenBLAS's SkylakeX kernels need F, BW, DQ, VL and CD */
  CHECK(same(xlat_blas_core_for(&f, "Prescott"), "Haswell"));
  f = avx2();
  CHECK(same(xlat_blas_core_for(&f, "Prescott"), "Haswell"));
  CHECK(same(xlat_blas_core_for(&f, "Sandybridge"), "Haswell"));
  CHECK(same(xlat_blas_core_for(&f, "Haswell"), NULL));
  CHECK(same(xlat_blas_core_for(&f, "Zen"), NULL));
  f.fma = 0;
  CHECK(same(xlat_blas_core_for(&f, "Prescott"), "Sandybridge"));
  f = sse();
  CHECK(same(xlat_blas_core_for(&f, "Prescott"), NULL));
  CHECK(same(xlat_blas_core_for(&f, "Nehalem"), NULL));
}

static void test_isa_choice(void) {
  xlat_cpu_features f = sse();
  CHECK(!strcmp(xlat_kernels_for(&f, NULL)->isa, "generic"));
  CHECK(!strcmp(xlat_kernels_for(&f, "avx512")->isa, "generic")); /* capped at what the CPU runs */
  CHECK(xlat_kernels_for(&f, "sse9") == NULL);
#if XLAT_X86_KERNELS
  f = avx2();
  CHECK(!strcmp(xlat_kernels_for(&f, NULL)->isa, "avx2"));
  CHECK(!strcmp(xlat_kernels_for(&f, "")->isa, "avx2"));
  CHECK(!strcmp(xlat_kernels_for(&f, "avx512")->isa, "avx2"));
  CHECK(!strcmp(xlat_kernels_for(&f, "generic")->isa, "generic"));
  f = skylakex();
  CHECK(!strcmp(xlat_kernels_for(&f, NULL)->isa, "avx512"));
  CHECK(!strcmp(xlat_kernels_for(&f, "avx2")->isa, "avx2"));
  CHECK(!strcmp(xlat_kernels_for(&f, "generic")->isa, "generic"));
#endif
  /* the table in use is the one XLAT_ISA asks for, within this CPU */
  xlat_cpu_features here = xlat_cpu_detect();
  const char *req = getenv("XLAT_ISA");
  const xlat_kernels *want = xlat_kernels_for(&here, req);
  CHECK(xlat_kernels_get() == (want ? want : xlat_kernels_for(&here, NULL)));
  fprintf(stderr, "kernels in use: %s\n", xlat_kernels_get()->isa);
}

static float frand(uint64_t *s) {
  *s = *s * 6364136223846793005ull + 1442695040888963407ull;
  return (float)((*s >> 40) & 0xffffff) / 16777216.0f * 8.0f - 4.0f;
}

static int bits_equal(const void *a, const void *b, size_t n) { return memcmp(a, b, n) == 0; }

/* One table against generic (same bits) and against naive loops (values). */
static void check_table(const xlat_kernels *k) {
  const xlat_kernels *g = &xlat_kernels_generic;
  uint64_t seed = 7;
  enum { NMAX = 1037 };
  static float x[NMAX], y[NMAX], e1[NMAX], e2[NMAX];
  for (int i = 0; i < NMAX; i++) x[i] = frand(&seed), y[i] = frand(&seed);
  int lens[] = {1, 7, 15, 16, 17, 64, 255, 256, 1000, NMAX};
  for (size_t t = 0; t < sizeof lens / sizeof lens[0]; t++) {
    int n = lens[t];
    float a, b;
    double ad, bd, sum = 0, sq = 0, ex = 0, dt = 0, mx = -INFINITY;
    for (int i = 0; i < n; i++) {
      mx = x[i] > mx ? x[i] : mx;
      sum += x[i];
      sq += (x[i] - 0.25) * (x[i] - 0.25);
      ex += exp(x[i] - 1.5);
      dt += (double)x[i] * y[i];
    }
    a = k->row_max(x, n), b = g->row_max(x, n);
    CHECK(bits_equal(&a, &b, sizeof a) && a == (float)mx);
    a = k->row_sum(x, n), b = g->row_sum(x, n);
    CHECK(bits_equal(&a, &b, sizeof a));
    CHECK_CLOSE(a, sum, 1e-5);
    ad = k->row_sum_double(x, n), bd = g->row_sum_double(x, n);
    CHECK(bits_equal(&ad, &bd, sizeof ad));
    CHECK_CLOSE(ad, sum, 1e-9);
    a = k->row_sq_dev_sum(x, 0.25f, n), b = g->row_sq_dev_sum(x, 0.25f, n);
    CHECK(bits_equal(&a, &b, sizeof a));
    CHECK_CLOSE(a, sq, 1e-5);
    a = k->row_exp_sum(e1, x, 1.5f, n), b = g->row_exp_sum(e2, x, 1.5f, n);
    CHECK(bits_equal(&a, &b, sizeof a) && bits_equal(e1, e2, (size_t)n * sizeof *e1));
    CHECK_CLOSE(a, ex, 1e-5);
    CHECK(k->row_exp_sum(NULL, x, 1.5f, n) == a);
    a = k->dot(x, y, n), b = g->dot(x, y, n);
    CHECK(bits_equal(&a, &b, sizeof a));
    CHECK_CLOSE(a, dt, 1e-4);
  }
  /* dropout and ReLU, against generic and against the rule each states */
  enum { ND = 1031 };
  static uint8_t m1[ND], m2[ND];
  static float d1[ND], d2[ND];
  k->dropout_mask(m1, ND, 6554, 0x123456789abcdefull);
  g->dropout_mask(m2, ND, 6554, 0x123456789abcdefull);
  CHECK(bits_equal(m1, m2, ND));
  int kept = 0;
  for (int i = 0; i < ND; i++) kept += m1[i];
  CHECK(kept > ND * 0.85 && kept < ND * 0.95); /* p = 0.1 */
  memcpy(d1, x, sizeof d1);
  k->dropout_unstored(d1, ND, 6554, 0x123456789abcdefull, 2.0f);
  int ok = 1;
  for (int i = 0; i < ND; i++) ok &= bits_equal(&d1[i], &(float){m1[i] ? x[i] * 2.0f : 0.0f}, sizeof(float));
  CHECK(ok);
  k->masked_scale(d1, y, m1, x, ND, 1.5f);
  g->masked_scale(d2, y, m1, x, ND, 1.5f);
  CHECK(bits_equal(d1, d2, sizeof d1) && d1[0] == y[0] + (m1[0] ? x[0] * 1.5f : 0.0f));
  memcpy(d1, x, sizeof d1);
  k->masked_scale(d1, NULL, m1, d1, ND, 1.5f); /* in place */
  ok = 1;
  for (int i = 0; i < ND; i++) ok &= d1[i] == (m1[i] ? x[i] * 1.5f : 0.0f);
  CHECK(ok);
  k->relu_gate(d1, x, y, ND, 0.5f);
  g->relu_gate(d2, x, y, ND, 0.5f);
  CHECK(bits_equal(d1, d2, sizeof d1));
  ok = 1;
  for (int i = 0; i < ND; i++) ok &= d1[i] == (x[i] > 0.0f ? y[i] * 0.5f : 0.0f);
  CHECK(ok);

  /* matmul_rows: every row count from 1 to 30 (all tile heights), N not a multiple of 16, packed and unpacked */
  enum { M = 30, N = 37, K = 19 };
  static float W[N * K], X[M * K], B[N], P[64 * K], panel[XLAT_PANEL * K], Y1[M * N], Y2[M * N], Y3[M * N];
  for (int i = 0; i < N * K; i++) W[i] = frand(&seed);
  for (int i = 0; i < M * K; i++) X[i] = frand(&seed);
  for (int i = 0; i < N; i++) B[i] = frand(&seed);
  CHECK(xlat_packed_floats(N, K) <= sizeof P / sizeof P[0]);
  xlat_pack_weights(P, W, N, K);
  for (int m = 1; m <= M; m++) {
    k->matmul_rows(Y1, X, W, P, B, panel, m, N, K);
    k->matmul_rows(Y2, X, W, NULL, B, panel, m, N, K);
    g->matmul_rows(Y3, X, W, P, B, panel, m, N, K);
    CHECK(bits_equal(Y1, Y2, (size_t)m * N * sizeof *Y1) && bits_equal(Y1, Y3, (size_t)m * N * sizeof *Y1));
    ok = 1;
    for (int r = 0; r < m; r++)
      for (int j = 0; j < N; j++) {
        float s = 0.0f; /* the promised order: one sequential sum over k, then the bias */
        for (int kk = 0; kk < K; kk++) s += X[r * K + kk] * W[j * K + kk];
        ok &= bits_equal(&Y1[r * N + j], &(float){s + B[j]}, sizeof(float));
      }
    CHECK(ok);
  }
  k->matmul_rows(Y1, X, W, P, NULL, panel, 5, N, K);
  float s0 = 0.0f;
  for (int kk = 0; kk < K; kk++) s0 += X[kk] * W[kk];
  CHECK(Y1[0] == s0);

  /* Bahdanau attention: same bits as generic, values against tanh in double */
  int widths[] = {1, 15, 16, 17, 40, 256, 300};
  for (size_t t = 0; t < sizeof widths / sizeof widths[0]; t++) {
    int A = widths[t];
    static float q[300], kk[300], v[300], g0[3][300], g1[3][300], g2[3][300];
    for (int i = 0; i < A; i++) q[i] = frand(&seed) / 4, kk[i] = frand(&seed) / 4, v[i] = frand(&seed);
    double want = 0.0;
    for (int i = 0; i < A; i++) want += v[i] * tanh((double)q[i] + kk[i]);
    float a = k->additive_score(q, kk, v, A), b = g->additive_score(q, kk, v, A);
    CHECK(bits_equal(&a, &b, sizeof a));
    CHECK_CLOSE(a, want, 1e-5 * A);
    for (int j = 0; j < 3; j++)
      for (int i = 0; i < A; i++) g0[j][i] = frand(&seed);
    memcpy(g1, g0, sizeof g0);
    memcpy(g2, g0, sizeof g0);
    k->additive_backward(g1[0], g1[1], g1[2], q, kk, v, 0.75f, A);
    g->additive_backward(g2[0], g2[1], g2[2], q, kk, v, 0.75f, A);
    CHECK(bits_equal(g1, g2, sizeof g1));
    ok = 1;
    for (int i = 0; i < A; i++) {
      double e = tanh((double)q[i] + kk[i]), gq = 0.75 * v[i] * (1.0 - e * e);
      ok &= fabs(g1[0][i] - g0[0][i] - gq) < 1e-5 && fabs(g1[1][i] - g0[1][i] - gq) < 1e-5 &&
            fabs(g1[2][i] - g0[2][i] - 0.75 * e) < 1e-5;
    }
    CHECK(ok);
  }
}

int main(void) {
  test_blas_core();
  test_isa_choice();
  xlat_cpu_features here = xlat_cpu_detect();
  const char *sets[] = {"generic", "avx2", "avx512"};
  for (int i = 0; i < 3; i++) {
    const xlat_kernels *k = xlat_kernels_for(&here, sets[i]);
    CHECK(k != NULL);
    if (k && !strcmp(k->isa, sets[i])) {
      fprintf(stderr, "checking the %s kernels\n", sets[i]);
      check_table(k);
    }
  }
  TEST_END();
}

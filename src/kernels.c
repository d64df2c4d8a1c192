/* kernels.c - the loops of kernels.h, compiled once per instruction set (src/CMakeLists.txt passes the target
 * flags, XLAT_KERNELS_NAME, the table's name, and XLAT_KERNELS_ISA, its "isa" string). Everything here is static
 * but the table, so the copies do not clash. Plain C the compiler vectorizes, plus GCC/Clang vector types where the
 * register blocking has to be spelled out (matmul_rows). */
#include <math.h>

#include "kernels.h"
#include "rnn_ops.h" /* xlat_tanhf */

/* ---- row reductions ---------------------------------------------------------------------------------------------
 * In LANES independent accumulators: without -ffast-math the compiler may not reorder one running sum or max, but
 * it vectorizes lanes it is given, at any width, to the same bits. */
enum { LANES = 16 };

static float row_max(const float *x, int n) {
  float m[LANES];
  for (int j = 0; j < LANES; j++) m[j] = -INFINITY;
  int i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int j = 0; j < LANES; j++) m[j] = x[i + j] > m[j] ? x[i + j] : m[j];
  for (; i < n; i++) m[0] = x[i] > m[0] ? x[i] : m[0];
  for (int j = 1; j < LANES; j++) m[0] = m[j] > m[0] ? m[j] : m[0];
  return m[0];
}

static float row_sum(const float *x, int n) {
  float a[LANES] = {0};
  int i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int j = 0; j < LANES; j++) a[j] += x[i + j];
  for (; i < n; i++) a[0] += x[i];
  for (int j = 1; j < LANES; j++) a[0] += a[j];
  return a[0];
}

static double row_sum_double(const float *x, int n) {
  double a[LANES] = {0};
  int i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int j = 0; j < LANES; j++) a[j] += x[i + j];
  for (; i < n; i++) a[0] += x[i];
  for (int j = 1; j < LANES; j++) a[0] += a[j];
  return a[0];
}

static float row_sq_dev_sum(const float *x, float m, int n) {
  float a[LANES] = {0};
  int i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int j = 0; j < LANES; j++) a[j] += (x[i + j] - m) * (x[i + j] - m);
  for (; i < n; i++) a[0] += (x[i] - m) * (x[i] - m);
  for (int j = 1; j < LANES; j++) a[0] += a[j];
  return a[0];
}

static float row_exp_sum(float *out, const float *x, float shift, int n) {
  float a[LANES] = {0};
  int i = 0;
  if (out) {
    for (; i + LANES <= n; i += LANES)
      for (int j = 0; j < LANES; j++) a[j] += out[i + j] = xlat_expf(x[i + j] - shift);
    for (; i < n; i++) a[0] += out[i] = xlat_expf(x[i] - shift);
  } else {
    for (; i + LANES <= n; i += LANES)
      for (int j = 0; j < LANES; j++) a[j] += xlat_expf(x[i + j] - shift);
    for (; i < n; i++) a[0] += xlat_expf(x[i] - shift);
  }
  for (int j = 1; j < LANES; j++) a[0] += a[j];
  return a[0];
}

/* ---- dot product ------------------------------------------------------------------------------------------------ */

/* 8 partial sums combined in a fixed order, like the row reductions. */
static float dot(const float *a, const float *b, int n) {
  float acc[8] = {0};
  int n8 = n - n % 8;
  for (int i = 0; i < n8; i += 8)
    for (int j = 0; j < 8; j++) acc[j] += a[i + j] * b[i + j];
  float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (int i = n8; i < n; i++) s += a[i] * b[i];
  return s;
}

/* ---- matmul_rows: y (M,N) = x (M,K) W^T + b, register-blocked tiles over packed panels of W^T ----------------------
 * A tile is R rows of x by one 16-column panel: R x 16 accumulators in registers, one panel row loaded per k and
 * each x value broadcast. The vector type is the instruction set's register (a wider one has no register mode and
 * lives in memory), and R grows with the register file. */
#if defined(__AVX512F__)
typedef float vp __attribute__((vector_size(64)));
#define TILE_ROWS 12
#define SPLAT(x) {x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x}
#elif defined(__AVX__)
typedef float vp __attribute__((vector_size(32)));
#define TILE_ROWS 6
#define SPLAT(x) {x, x, x, x, x, x, x, x}
#else
typedef float vp __attribute__((vector_size(16)));
#define TILE_ROWS 2
#define SPLAT(x) {x, x, x, x}
#endif
enum { VP_PER_PANEL = XLAT_PANEL * sizeof(float) / sizeof(vp), VP_FLOATS = sizeof(vp) / sizeof(float) };
enum { ROW_BLOCK = 240 };

static inline void loadp(vp *v, const float *p) { memcpy(v, p, sizeof *v); }

/* y[r][j] = b[j] + sum over k in order of x[r][k] * p[k][j] for r < R, j < Q. Inlined with constant R so the
 * accumulators stay in registers. */
static inline __attribute__((always_inline)) void tile(float *y, const float *x, const float *p, const float *b,
                                                       int R, int Q, int N, int K) {
  vp acc[TILE_ROWS][VP_PER_PANEL];
  for (int r = 0; r < TILE_ROWS; r++)
    for (int v = 0; v < VP_PER_PANEL; v++) acc[r][v] = (vp){0};
  for (int k = 0; k < K; k++) {
    vp pk[VP_PER_PANEL];
    for (int v = 0; v < VP_PER_PANEL; v++) loadp(&pk[v], p + (size_t)k * XLAT_PANEL + v * VP_FLOATS);
    for (int r = 0; r < R; r++) {
      float xr = x[(size_t)r * K + k];
      vp xv = SPLAT(xr);
      for (int v = 0; v < VP_PER_PANEL; v++) acc[r][v] += xv * pk[v];
    }
  }
  for (int r = 0; r < R; r++) {
    float out[XLAT_PANEL];
    memcpy(out, acc[r], sizeof out);
    for (int j = 0; j < Q; j++) y[(size_t)r * N + j] = b ? out[j] + b[j] : out[j];
  }
}

/* Rows i0..i1 of one panel, TILE_ROWS at a time; the switch gives tile() a constant R. */
static void panel_rows(float *y, const float *x, const float *p, const float *b, int i0, int i1, int Q, int N, int K) {
  for (int i = i0; i < i1; i += TILE_ROWS) {
    float *yi = y + (size_t)i * N;
    const float *xi = x + (size_t)i * K;
    switch (i1 - i < TILE_ROWS ? i1 - i : TILE_ROWS) {
#if TILE_ROWS >= 12
    case 12: tile(yi, xi, p, b, 12, Q, N, K); break;
    case 11: tile(yi, xi, p, b, 11, Q, N, K); break;
    case 10: tile(yi, xi, p, b, 10, Q, N, K); break;
    case 9: tile(yi, xi, p, b, 9, Q, N, K); break;
    case 8: tile(yi, xi, p, b, 8, Q, N, K); break;
    case 7: tile(yi, xi, p, b, 7, Q, N, K); break;
#endif
#if TILE_ROWS >= 6
    case 6: tile(yi, xi, p, b, 6, Q, N, K); break;
    case 5: tile(yi, xi, p, b, 5, Q, N, K); break;
    case 4: tile(yi, xi, p, b, 4, Q, N, K); break;
    case 3: tile(yi, xi, p, b, 3, Q, N, K); break;
#endif
    case 2: tile(yi, xi, p, b, 2, Q, N, K); break;
    default: tile(yi, xi, p, b, 1, Q, N, K);
    }
  }
}

static void matmul_rows(float *y, const float *x, const float *W, const float *P, const float *b, float *panel, int M,
                        int N, int K) {
  for (int i0 = 0; i0 < M; i0 += ROW_BLOCK) {
    int i1 = i0 + ROW_BLOCK < M ? i0 + ROW_BLOCK : M;
    for (int j0 = 0; j0 < N; j0 += XLAT_PANEL) {
      int Q = N - j0 < XLAT_PANEL ? N - j0 : XLAT_PANEL;
      const float *p = P ? P + (size_t)j0 * K : panel;
      if (!P) xlat_pack_panel(panel, W, j0, N, K);
      panel_rows(y + j0, x, p, b ? b + j0 : NULL, i0, i1, Q, N, K);
    }
  }
}

/* ---- dropout and ReLU ------------------------------------------------------------------------------------------
 * The hash is two rounds of Wellons' lowbias32 keyed by the two halves of the key: 32-bit arithmetic that
 * vectorizes (the baseline lacks a 32-bit vector multiply and masked byte loads, hence these copies). */
static inline uint32_t lowbias32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

static void dropout_mask(uint8_t *mask, size_t n, uint32_t thr, uint64_t key) {
  uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
  for (size_t i = 0; i < n; i++) mask[i] = (lowbias32(lowbias32((uint32_t)i + k0) ^ k1) >> 16) >= thr;
}

static void dropout_unstored(float *x, size_t n, uint32_t thr, uint64_t key, float scale) {
  uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
  for (size_t i = 0; i < n; i++) x[i] = (lowbias32(lowbias32((uint32_t)i + k0) ^ k1) >> 16) >= thr ? x[i] * scale : 0.0f;
}

static void masked_scale(float *out, const float *add, const uint8_t *mask, const float *x, size_t n, float scale) {
  if (add)
    for (size_t i = 0; i < n; i++) out[i] = add[i] + (mask[i] ? x[i] * scale : 0.0f);
  else
    for (size_t i = 0; i < n; i++) out[i] = mask[i] ? x[i] * scale : 0.0f;
}

static void relu_gate(float *out, const float *gate, const float *x, size_t n, float scale) {
  for (size_t i = 0; i < n; i++) out[i] = gate[i] > 0.0f ? x[i] * scale : 0.0f;
}

/* ---- Bahdanau attention ----------------------------------------------------------------------------------------- */

static float additive_score(const float *qa, const float *k, const float *v, int A) {
  float acc[LANES] = {0};
  int a = 0;
  for (; a + LANES <= A; a += LANES)
    for (int l = 0; l < LANES; l++) acc[l] += v[a + l] * xlat_tanhf(qa[a + l] + k[a + l]);
  for (; a < A; a++) acc[0] += v[a] * xlat_tanhf(qa[a] + k[a]);
  float s = 0.0f;
  for (int l = 0; l < LANES; l++) s += acc[l];
  return s;
}

static void additive_backward(float *restrict dqa, float *restrict dk, float *restrict dv, const float *restrict qa,
                              const float *restrict k, const float *restrict v, float ds, int A) {
  for (int a = 0; a < A; a++) {
    float e = xlat_tanhf(qa[a] + k[a]), g = ds * v[a] * (1.0f - e * e);
    dqa[a] += g;
    dk[a] += g;
    dv[a] += ds * e;
  }
}

const xlat_kernels XLAT_KERNELS_NAME = {
    .isa = XLAT_KERNELS_ISA,
    .row_max = row_max,
    .row_sum = row_sum,
    .row_sum_double = row_sum_double,
    .row_sq_dev_sum = row_sq_dev_sum,
    .row_exp_sum = row_exp_sum,
    .dot = dot,
    .matmul_rows = matmul_rows,
    .dropout_mask = dropout_mask,
    .dropout_unstored = dropout_unstored,
    .masked_scale = masked_scale,
    .relu_gate = relu_gate,
    .additive_score = additive_score,
    .additive_backward = additive_backward,
};

/* kernels.h - xlat's own hot loops, compiled once per instruction set and chosen once per process at run time.
 *
 * The binaries are built for the portable x86-64 baseline (SSE2). kernels.c is compiled three times: for that
 * baseline, with AVX2 and with AVX-512 (F, BW, DQ, VL), each copy defining one table below; cpu.c picks the widest
 * table the CPU runs (cpuid), or the one XLAT_ISA names (generic, avx2, avx512). Only these loops use wide
 * instructions; tests/check_isa.sh checks the binaries for it.
 *
 * Every table gives the same bits: each reduction keeps a fixed number of partial sums whatever the vector width,
 * every matmul output is one sequential sum over k, and floating-point contraction is off (no FMA), so training and
 * decoding do not depend on the machine's instruction set.
 */
#ifndef XLAT_KERNELS_H
#define XLAT_KERNELS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum { XLAT_PANEL = 16 }; /* columns of W^T per packed panel (matmul_rows) */

typedef struct {
  const char *isa; /* "generic", "avx2", "avx512" */
  float (*row_max)(const float *x, int n);
  float (*row_sum)(const float *x, int n);
  double (*row_sum_double)(const float *x, int n);
  /* sum over i of (x[i] - m)^2 */
  float (*row_sq_dev_sum)(const float *x, float m, int n);
  /* sum over i of exp(x[i] - shift) (xlat_expf); also stores the terms in out[i] when out != NULL (may be x) */
  float (*row_exp_sum)(float *out, const float *x, float shift, int n);
  /* dot product in 8 partial sums combined in a fixed order */
  float (*dot)(const float *a, const float *b, int n);
  /* y (M,N) = x (M,K) W^T + b, W (N,K). P: W packed by xlat_pack_weights, or NULL to pack each panel of W into
   * panel (K,16) on the way. Every element of y is one sequential sum over k: rows of y depend neither on each other
   * nor on M (beam search output must not change with the batch). */
  void (*matmul_rows)(float *y, const float *x, const float *W, const float *P, const float *b, float *panel, int M,
                      int N, int K);
  /* Dropout decisions (ops.c): unit i is kept when the top 16 bits of a hash of (key, i) are >= thr. mask[i] = 1
   * for kept units; dropout_unstored applies the same decisions to x (x[i] * scale or 0) without storing them. */
  void (*dropout_mask)(uint8_t *mask, size_t n, uint32_t thr, uint64_t key);
  void (*dropout_unstored)(float *x, size_t n, uint32_t thr, uint64_t key, float scale);
  /* out[i] = (add ? add[i] : 0) + (mask[i] ? x[i] * scale : 0); out may be x */
  void (*masked_scale)(float *out, const float *add, const uint8_t *mask, const float *x, size_t n, float scale);
  /* out[i] = gate[i] > 0 ? x[i] * scale : 0 (ReLU: gate = x, scale 1; its gradient: gate = the ReLU output) */
  void (*relu_gate)(float *out, const float *gate, const float *x, size_t n, float scale);
  /* Bahdanau attention of the recurrent decoders (rnn_ops.c, rnn_decode.c), tanh = xlat_tanhf (rnn_ops.h): the
   * score v . tanh(qa + k) of one key over A entries, in 16 partial sums combined in a fixed order; and its
   * backward for score gradient ds, e = tanh(qa + k) recomputed: dqa += ds v (1 - e^2), dk += the same, dv += ds e. */
  float (*additive_score)(const float *qa, const float *k, const float *v, int A);
  void (*additive_backward)(float *dqa, float *dk, float *dv, const float *qa, const float *k, const float *v,
                            float ds, int A);
} xlat_kernels;

extern const xlat_kernels xlat_kernels_generic;
#if XLAT_X86_KERNELS
extern const xlat_kernels xlat_kernels_avx2, xlat_kernels_avx512;
#endif

/* ---- cpu.c ---- */
typedef struct {
  int avx, avx2, fma, avx512f, avx512bw, avx512dq, avx512vl, avx512cd, avx512bf16; /* 1 when the CPU and OS have it */
} xlat_cpu_features;

xlat_cpu_features xlat_cpu_detect(void);
/* The table for CPU f: the widest it runs, or the one request names ("generic", "avx2", "avx512"; NULL or "" for
 * the widest), capped at what f runs; NULL for an unknown request. */
const xlat_kernels *xlat_kernels_for(const xlat_cpu_features *f, const char *request);
/* The table in use, chosen on first call from the CPU and XLAT_ISA; thread-safe. */
const xlat_kernels *xlat_kernels_get(void);
/* The OpenBLAS core type to force on CPU f when OpenBLAS itself picked core type pick ("Prescott", ...): the best
 * one f runs when pick's instruction set is below it, else NULL (keep pick; also for a pick this table does not
 * know). */
const char *xlat_blas_core_for(const xlat_cpu_features *f, const char *pick);

/* exp(x) for float x, within 2 ulp of expf over [-87, 88] (Cephes' range reduction and polynomial): plain
 * arithmetic the compiler vectorizes inside softmax and loss loops, where a call to expf would stop it. Below -87
 * it returns about 1e-38 instead of underflowing to 0 (masked positions are zeroed explicitly). */
static inline float xlat_expf(float x) {
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  float k = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f; /* round(x / ln 2) */
  float r = (x - k * 0.693359375f) + k * 2.12194440e-4f;               /* x - k ln 2, in two steps */
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  union {
    int32_t i;
    float f;
  } two_k = {.i = ((int32_t)k + 127) << 23};
  return p * two_k.f;
}

/* Panel j0/16 of W (N,K) transposed: p (K,16) holds columns j0..j0+15 of W^T, zeros past N. */
static inline void xlat_pack_panel(float *p, const float *W, int j0, int N, int K) {
  int Q = N - j0 < XLAT_PANEL ? N - j0 : XLAT_PANEL;
  for (int k = 0; k < K; k++)
    for (int j = 0; j < XLAT_PANEL; j++) p[(size_t)k * XLAT_PANEL + j] = j < Q ? W[(size_t)(j0 + j) * K + k] : 0.0f;
}

/* Floats of W (N,K) packed: ceil(N/16) panels of (K,16); panel j0/16 starts at P + j0*K. */
static inline size_t xlat_packed_floats(int N, int K) {
  return (size_t)(N + XLAT_PANEL - 1) / XLAT_PANEL * XLAT_PANEL * (size_t)K;
}

static inline void xlat_pack_weights(float *P, const float *W, int N, int K) {
  for (int j0 = 0; j0 < N; j0 += XLAT_PANEL) xlat_pack_panel(P + (size_t)j0 * K, W, j0, N, K);
}

#endif

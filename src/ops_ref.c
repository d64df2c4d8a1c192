/* ops_ref.c - naive references of the sgemm-based kernels, kept for the tests (test_ops compares the fast paths
 * with them). Straight loops in double, no BLAS, no tricks. */
#include <math.h>

#include "ops.h"

void linear_forward_ref(float *out, const float *inp, const float *W, const float *b, int N, int nin, int nout) {
  for (int n = 0; n < N; n++)
    for (int o = 0; o < nout; o++) {
      double acc = b ? b[o] : 0.0;
      for (int i = 0; i < nin; i++) acc += (double)inp[(size_t)n * nin + i] * W[(size_t)o * nin + i];
      out[(size_t)n * nout + o] = (float)acc;
    }
}

void attention_forward_ref(float *out, float *probs, const float *q, int ldq, size_t qbs, const float *k,
                           const float *v, int ldkv, size_t kvbs, const int32_t *key_ids, int causal, int q_offset,
                           int B, int T, int S, int C, int H) {
  int D = C / H;
  for (int b = 0; b < B; b++)
    for (int h = 0; h < H; h++)
      for (int t = 0; t < T; t++) {
        float *P = probs + (((size_t)b * H + h) * T + t) * S;
        const float *qr = q + b * qbs + (size_t)t * ldq + (size_t)h * D;
        double mx = -INFINITY, sum = 0.0;
        for (int s = 0; s < S; s++) {
          int masked = (key_ids && key_ids[(size_t)b * S + s] == XLAT_PAD) || (causal && s > t + q_offset);
          double dot = 0.0;
          for (int d = 0; d < D; d++) dot += (double)qr[d] * k[b * kvbs + (size_t)s * ldkv + (size_t)h * D + d];
          P[s] = masked ? -INFINITY : (float)(dot / sqrt((double)D));
          if (P[s] > mx) mx = P[s];
        }
        for (int s = 0; s < S; s++) {
          P[s] = mx == -INFINITY ? 0.0f : (float)exp(P[s] - mx);
          sum += P[s];
        }
        for (int s = 0; s < S; s++) P[s] = sum > 0.0 ? (float)(P[s] / sum) : 0.0f;
        for (int d = 0; d < D; d++) {
          double acc = 0.0;
          for (int s = 0; s < S; s++) acc += (double)P[s] * v[b * kvbs + (size_t)s * ldkv + (size_t)h * D + d];
          out[((size_t)b * T + t) * C + (size_t)h * D + d] = (float)acc;
        }
      }
}

void attention_rel_forward_ref(float *out, float *probs, const float *q, int ldq, size_t qbs, const float *k,
                               const float *v, int ldkv, size_t kvbs, const float *rel_k, const float *rel_v, int K,
                               const int32_t *key_ids, int causal, int q_offset, int B, int T, int S, int C, int H) {
  int D = C / H;
  for (int b = 0; b < B; b++)
    for (int h = 0; h < H; h++)
      for (int t = 0; t < T; t++) {
        int i = t + q_offset;
        float *P = probs + (((size_t)b * H + h) * T + t) * S;
        const float *qr = q + b * qbs + (size_t)t * ldq + (size_t)h * D;
        double mx = -INFINITY, sum = 0.0;
        for (int s = 0; s < S; s++) {
          int masked = (key_ids && key_ids[(size_t)b * S + s] == XLAT_PAD) || (causal && s > i);
          int r = (s - i < -K ? -K : s - i > K ? K : s - i) + K;
          double dot = 0.0;
          for (int d = 0; d < D; d++)
            dot += (double)qr[d] * ((double)k[b * kvbs + (size_t)s * ldkv + (size_t)h * D + d] +
                                    rel_k[(size_t)r * D + d]);
          P[s] = masked ? -INFINITY : (float)(dot / sqrt((double)D));
          if (P[s] > mx) mx = P[s];
        }
        for (int s = 0; s < S; s++) {
          P[s] = mx == -INFINITY ? 0.0f : (float)exp(P[s] - mx);
          sum += P[s];
        }
        for (int s = 0; s < S; s++) P[s] = sum > 0.0 ? (float)(P[s] / sum) : 0.0f;
        for (int d = 0; d < D; d++) {
          double acc = 0.0;
          for (int s = 0; s < S; s++) {
            int r = (s - i < -K ? -K : s - i > K ? K : s - i) + K;
            double vs = v[b * kvbs + (size_t)s * ldkv + (size_t)h * D + d];
            acc += (double)P[s] * (vs + rel_v[(size_t)r * D + d]);
          }
          out[((size_t)b * T + t) * C + (size_t)h * D + d] = (float)acc;
        }
      }
}

/* rnn_ops_ref.c - naive references of rnn_ops.c's forward kernels, kept for the tests (test_rnn_ops compares the
 * sgemm paths and the vectorizable sigmoid / tanh with them). Straight loops in double on libm, no BLAS. */
#include <math.h>

#include "ops.h"
#include "rnn_ops.h"

static double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

void rnn_cell_forward_ref(float *h, float *c, float *acts, const float *gx, const float *h_prev, const float *c_prev,
                          const float *W_hh, const float *b_hh, int cell, int B, int H) {
  int G = rnn_cell_gates(cell), A = rnn_cell_act_floats(cell, H);
  double a[4];
  for (int b = 0; b < B; b++)
    for (int j = 0; j < H; j++) {
      const float *hp = h_prev + (size_t)b * H;
      for (int k = 0; k < G; k++) { /* a[k] = gx + h_prev W_hh^T + b_hh for gate k, unit j */
        size_t row = (size_t)k * H + j;
        double acc = b_hh[row];
        for (int i = 0; i < H; i++) acc += (double)hp[i] * W_hh[row * H + i];
        a[k] = acc + (cell == RNN_CELL_GRU && k == 2 ? 0.0 : gx[(size_t)b * G * H + row]);
      }
      float *act = acts + (size_t)b * A;
      size_t s = (size_t)b * H + j;
      if (cell == RNN_CELL_TANH) {
        h[s] = act[j] = (float)tanh(a[0]);
      } else if (cell == RNN_CELL_GRU) {
        double r = sigmoid(a[0]), z = sigmoid(a[1]), n = tanh(gx[(size_t)b * G * H + 2 * H + j] + r * a[2]);
        h[s] = (float)((1.0 - z) * n + z * hp[j]);
        act[j] = (float)r, act[H + j] = (float)z, act[2 * H + j] = (float)n, act[3 * H + j] = (float)a[2];
      } else {
        double i = sigmoid(a[0]), f = sigmoid(a[1]), g = tanh(a[2]), o = sigmoid(a[3]);
        double cn = f * c_prev[s] + i * g;
        c[s] = (float)cn;
        h[s] = (float)(o * tanh(cn));
        act[j] = (float)i, act[H + j] = (float)f, act[2 * H + j] = (float)g, act[3 * H + j] = (float)o;
        act[4 * H + j] = (float)tanh(cn);
      }
    }
}

/* score of key j for query row qr (-inf when masked) */
static double ref_score(const float *qr, const float *k, const float *v, int masked, int kind, int Dk) {
  double acc = 0.0;
  for (int a = 0; a < Dk; a++)
    acc += kind == RNN_ATTN_ADDITIVE ? v[a] * tanh((double)qr[a] + k[a]) : (double)qr[a] * k[a];
  return masked ? -INFINITY : acc;
}

void rnn_attention_forward_ref(float *ctx, float *probs, const float *q, const float *keys, const float *values,
                               const float *v, const int32_t *src_ids, const int32_t *sent, int kind, int N, int S,
                               int Dk, int Dv) {
  for (int r = 0; r < N; r++) {
    size_t b = (size_t)sent[r];
    const float *qr = q + (size_t)r * Dk;
    float *p = probs + (size_t)r * S;
    double mx = -INFINITY, sum = 0.0;
    for (int pass = 0; pass < 2; pass++)
      for (int j = 0; j < S; j++) {
        double sc = ref_score(qr, keys + (b * S + j) * Dk, v, src_ids && src_ids[b * S + j] == XLAT_PAD, kind, Dk);
        if (pass == 0 && sc > mx) mx = sc;
        if (pass == 1) sum += exp(sc - mx);
      }
    for (int j = 0; j < S; j++) {
      double sc = ref_score(qr, keys + (b * S + j) * Dk, v, src_ids && src_ids[b * S + j] == XLAT_PAD, kind, Dk);
      p[j] = mx == -INFINITY ? 0.0f : (float)(exp(sc - mx) / sum);
    }
    for (int d = 0; d < Dv; d++) {
      double acc = 0.0;
      for (int j = 0; j < S; j++) acc += (double)p[j] * values[(b * S + j) * Dv + d];
      ctx[(size_t)r * Dv + d] = (float)acc;
    }
  }
}

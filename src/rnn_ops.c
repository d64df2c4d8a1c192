/* rnn_ops.c - forward/backward kernels of recurrent layers and of the attention of recurrent decoders (shapes and
 * conventions in rnn_ops.h). The time-independent work is batched: a layer's input projections are one sgemm over
 * all T*B rows, and so are its weight gradients; only the recurrent product h W_hh^T (and its transpose in backward)
 * runs step by step, one sgemm of M = B rows each. Gate math is element-wise loops over restrict pointers on
 * xlat_sigmoidf / xlat_tanhf, which the compiler vectorizes. Nothing here allocates. */
#include <cblas.h>
#include <string.h>

#include "ops.h"
#include "rnn_ops.h"

int rnn_cell_gates(int cell) {
  XLAT_ASSERT(cell == RNN_CELL_TANH || cell == RNN_CELL_GRU || cell == RNN_CELL_LSTM);
  return cell == RNN_CELL_TANH ? 1 : cell == RNN_CELL_GRU ? 3 : 4;
}

int rnn_cell_act_floats(int cell, int H) { return (cell == RNN_CELL_TANH ? 1 : cell == RNN_CELL_GRU ? 4 : 5) * H; }

/* ---- gate math of one row ---------------------------------------------------------------------------------------
 * a = gx + gh + b_hh with gh the bias-free recurrent product: adding b_hh here saves a pass that would copy it into
 * gh before the sgemm. */

static void tanh_row(float *restrict h, float *restrict act, const float *restrict gx, const float *restrict gh,
                     const float *restrict bh, int H) {
  for (int j = 0; j < H; j++) {
    float y = xlat_tanhf(gx[j] + gh[j] + bh[j]);
    h[j] = y;
    act[j] = y;
  }
}

static void gru_row(float *restrict h, float *restrict act, const float *restrict gx, const float *restrict gh,
                    const float *restrict bh, const float *restrict hp, int H) {
  float *ar = act, *az = act + H, *an = act + 2 * H, *ahn = act + 3 * H;
  for (int j = 0; j < H; j++) {
    float r = xlat_sigmoidf(gx[j] + gh[j] + bh[j]);
    float z = xlat_sigmoidf(gx[H + j] + gh[H + j] + bh[H + j]);
    float hn = gh[2 * H + j] + bh[2 * H + j]; /* b_hn stays inside r * (PyTorch's GRU, unlike Cho et al.'s) */
    float n = xlat_tanhf(gx[2 * H + j] + r * hn);
    h[j] = n + z * (hp[j] - n); /* (1-z) n + z h, in ATen's form */
    ar[j] = r, az[j] = z, an[j] = n, ahn[j] = hn;
  }
}

static void lstm_row(float *restrict h, float *restrict c, float *restrict act, const float *restrict gx,
                     const float *restrict gh, const float *restrict bh, const float *restrict cp, int H) {
  float *ai = act, *af = act + H, *ag = act + 2 * H, *ao = act + 3 * H, *atc = act + 4 * H;
  for (int j = 0; j < H; j++) {
    float i = xlat_sigmoidf(gx[j] + gh[j] + bh[j]);
    float f = xlat_sigmoidf(gx[H + j] + gh[H + j] + bh[H + j]);
    float g = xlat_tanhf(gx[2 * H + j] + gh[2 * H + j] + bh[2 * H + j]);
    float o = xlat_sigmoidf(gx[3 * H + j] + gh[3 * H + j] + bh[3 * H + j]);
    float cn = f * cp[j] + i * g, tc = xlat_tanhf(cn);
    c[j] = cn;
    h[j] = o * tc;
    ai[j] = i, af[j] = f, ag[j] = g, ao[j] = o, atc[j] = tc;
  }
}

void rnn_cell_forward(float *h, float *c, float *acts, float *gh, const float *gx, const float *h_prev,
                      const float *c_prev, const float *W_hh, const float *b_hh, int cell, int B, int H) {
  int GH = rnn_cell_gates(cell) * H;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, GH, H, 1.0f, h_prev, H, W_hh, H, 0.0f, gh, GH);
  rnn_cell_gates_forward(h, c, acts, gx, gh, b_hh, h_prev, c_prev, cell, B, H);
}

void rnn_cell_gates_forward(float *h, float *c, float *acts, const float *gx, const float *gh, const float *b_hh,
                            const float *h_prev, const float *c_prev, int cell, int B, int H) {
  int GH = rnn_cell_gates(cell) * H, A = rnn_cell_act_floats(cell, H);
  XLAT_ASSERT(cell != RNN_CELL_LSTM || (c && c_prev));
  for (int b = 0; b < B; b++) {
    size_t g = (size_t)b * GH, s = (size_t)b * H;
    float *act = acts + (size_t)b * A;
    if (cell == RNN_CELL_TANH)
      tanh_row(h + s, act, gx + g, gh + g, b_hh, H);
    else if (cell == RNN_CELL_GRU)
      gru_row(h + s, act, gx + g, gh + g, b_hh, h_prev + s, H);
    else
      lstm_row(h + s, c + s, act, gx + g, gh + g, b_hh, c_prev + s, H);
  }
}

/* ---- gate backward of one row -----------------------------------------------------------------------------------
 * dgx: the gradient of the pre-activations gx + gh. For RNN and LSTM it is also gh's gradient; for GRU gh's n block
 * is r times it (dghn). dhp: dh_prev's direct term (GRU's z * dh), added; dcp: dc_prev, added. No optional
 * pointers: a NULL test inside the loop stops its vectorization. */

static void tanh_row_backward(float *restrict dgx, const float *restrict dh, const float *restrict act, int H) {
  for (int j = 0; j < H; j++) dgx[j] = dh[j] * (1.0f - act[j] * act[j]);
}

static void gru_row_backward(float *restrict dgx, float *restrict dghn, float *restrict dhp, const float *restrict dh,
                             const float *restrict act, const float *restrict hp, int H) {
  const float *ar = act, *az = act + H, *an = act + 2 * H, *ahn = act + 3 * H;
  for (int j = 0; j < H; j++) {
    float r = ar[j], z = az[j], n = an[j], d = dh[j];
    float dan = d * (1.0f - z) * (1.0f - n * n);
    float dar = dan * ahn[j] * r * (1.0f - r);
    float daz = d * (hp[j] - n) * z * (1.0f - z);
    dgx[j] = dar, dgx[H + j] = daz, dgx[2 * H + j] = dan;
    dghn[j] = dan * r;
    dhp[j] += d * z;
  }
}

static void lstm_row_backward(float *restrict dgx, float *restrict dcp, const float *restrict dh,
                              const float *restrict dc, const float *restrict act, const float *restrict cp, int H) {
  const float *ai = act, *af = act + H, *ag = act + 2 * H, *ao = act + 3 * H, *atc = act + 4 * H;
  for (int j = 0; j < H; j++) {
    float i = ai[j], f = af[j], g = ag[j], o = ao[j], tc = atc[j], d = dh[j];
    float dct = dc[j] + d * o * (1.0f - tc * tc);
    dgx[j] = dct * g * i * (1.0f - i);
    dgx[H + j] = dct * cp[j] * f * (1.0f - f);
    dgx[2 * H + j] = dct * i * (1.0f - g * g);
    dgx[3 * H + j] = d * tc * o * (1.0f - o);
    dcp[j] += dct * f;
  }
}

/* The gate backward of B rows: dgx (B,G*H) =, and gh's gradient: dgh (B,3H) = for GRU (the r and z blocks copied
 * from dgx, so one sgemm takes the whole of it), dgx itself otherwise. dh_prev += GRU's direct term only; dc_prev +=
 * and dc: LSTM only, then not NULL. */
static void gates_backward(float *dgx, float *dgh, float *dh_prev, float *dc_prev, const float *dh, const float *dc,
                           const float *acts, const float *h_prev, const float *c_prev, int cell, int B, int H) {
  int GH = rnn_cell_gates(cell) * H, A = rnn_cell_act_floats(cell, H);
  for (int b = 0; b < B; b++) {
    size_t g = (size_t)b * GH, s = (size_t)b * H;
    const float *act = acts + (size_t)b * A;
    if (cell == RNN_CELL_TANH) {
      tanh_row_backward(dgx + g, dh + s, act, H);
    } else if (cell == RNN_CELL_GRU) {
      gru_row_backward(dgx + g, dgh + g + 2 * H, dh_prev + s, dh + s, act, h_prev + s, H);
      memcpy(dgh + g, dgx + g, 2 * (size_t)H * sizeof *dgh);
    } else {
      lstm_row_backward(dgx + g, dc_prev + s, dh + s, dc + s, act, c_prev + s, H);
    }
  }
}

void rnn_cell_backward(float *dgx, float *dh_prev, float *dc_prev, float *dW_hh, float *db_hh, float *scratch,
                       const float *dh, const float *dc, const float *acts, const float *h_prev, const float *c_prev,
                       const float *W_hh, int cell, int B, int H) {
  int GH = rnn_cell_gates(cell) * H;
  float *dgh = cell == RNN_CELL_GRU ? scratch : dgx;
  XLAT_ASSERT(dh_prev && (cell != RNN_CELL_LSTM || dc_prev));
  if (cell == RNN_CELL_LSTM && !dc) { /* scratch is free for LSTM: a zero dc */
    memset(scratch, 0, (size_t)B * H * sizeof *scratch);
    dc = scratch;
  }
  gates_backward(dgx, dgh, dh_prev, dc_prev, dh, dc, acts, h_prev, c_prev, cell, B, H);
  /* gh = h_prev W_hh^T + b_hh: dh_prev += dgh W_hh, dW_hh += dgh^T h_prev, db_hh += column sums of dgh */
  linear_backward(dh_prev, dW_hh, db_hh, dgh, h_prev, W_hh, B, H, GH);
}

/* ---- one layer, one direction ------------------------------------------------------------------------------------ */

/* Cache: acts (T,B,A), then the state entering each step hs (T,B,H), then (LSTM) the cell state entering it cs. */
size_t rnn_layer_cache_floats(int cell, int B, int T, int nin, int H) {
  (void)nin;
  size_t rows = (size_t)T * B;
  return rows * ((size_t)rnn_cell_act_floats(cell, H) + (size_t)H * (cell == RNN_CELL_LSTM ? 2 : 1));
}

/* Forward: gx (T,B,G*H), gh (B,G*H), the final h (and LSTM's c) for a NULL h_last / c_last (B,H each).
 * Backward: dgx (T,B,G*H), GRU's dgh (T,B,G*H), dh (and LSTM's dc) of two consecutive steps ((B,H) each). */
size_t rnn_layer_scratch_floats(int cell, int B, int T, int nin, int H) {
  (void)nin;
  size_t rows = (size_t)T * B, GH = (size_t)rnn_cell_gates(cell) * H, BH = (size_t)B * H;
  int lstm = cell == RNN_CELL_LSTM;
  size_t fwd = rows * GH + (size_t)B * GH + (lstm ? 2 : 1) * BH;
  size_t bwd = rows * GH * (cell == RNN_CELL_GRU ? 2 : 1) + (lstm ? 4 : 2) * BH;
  return fwd > bwd ? fwd : bwd;
}

void rnn_layer_forward(float *out, float *h_last, float *c_last, float *cache, float *scratch, const float *x,
                       const float *h0, const float *c0, const float *W_ih, const float *b_ih, const float *W_hh,
                       const float *b_hh, const uint8_t *keep, int reverse, int cell, int B, int T, int nin, int H) {
  int GH = rnn_cell_gates(cell) * H, A = rnn_cell_act_floats(cell, H), lstm = cell == RNN_CELL_LSTM;
  size_t BH = (size_t)B * H, rows = (size_t)T * B;
  float *acts = cache, *hs = acts + rows * A, *cs = lstm ? hs + rows * H : NULL;
  float *gx = scratch, *gh = gx + rows * GH, *h_end = gh + (size_t)B * GH, *c_end = lstm ? h_end + BH : NULL;
  if (T == 0) {
    if (h_last) h0 ? memcpy(h_last, h0, BH * sizeof *h_last) : memset(h_last, 0, BH * sizeof *h_last);
    if (lstm && c_last) c0 ? memcpy(c_last, c0, BH * sizeof *c_last) : memset(c_last, 0, BH * sizeof *c_last);
    return;
  }
  linear_forward(gx, x, W_ih, b_ih, (int)rows, nin, GH);
  for (int s = 0; s < T; s++) {
    int t = reverse ? T - 1 - s : s, tn = reverse ? t - 1 : t + 1;
    float *hin = hs + (size_t)t * BH, *cin = lstm ? cs + (size_t)t * BH : NULL;
    if (s == 0) {
      h0 ? memcpy(hin, h0, BH * sizeof *hin) : memset(hin, 0, BH * sizeof *hin);
      if (lstm) c0 ? memcpy(cin, c0, BH * sizeof *cin) : memset(cin, 0, BH * sizeof *cin);
    }
    /* the new state goes where the next step reads it; the last step's to h_last / c_last */
    float *hnew = s < T - 1 ? hs + (size_t)tn * BH : h_last ? h_last : h_end;
    float *cnew = !lstm ? NULL : s < T - 1 ? cs + (size_t)tn * BH : c_last ? c_last : c_end;
    rnn_cell_forward(hnew, cnew, acts + (size_t)t * B * A, gh, gx + (size_t)t * B * GH, hin, cin, W_hh, b_hh, cell,
                     B, H);
    float *o = out + (size_t)t * BH;
    if (!keep) {
      memcpy(o, hnew, BH * sizeof *o);
      continue;
    }
    for (int b = 0; b < B; b++) {
      size_t r = (size_t)b * H;
      if (keep[(size_t)t * B + b]) {
        memcpy(o + r, hnew + r, (size_t)H * sizeof *o);
      } else { /* padding: the state passes through unchanged, the output is zero */
        memset(o + r, 0, (size_t)H * sizeof *o);
        memcpy(hnew + r, hin + r, (size_t)H * sizeof *hnew);
        if (lstm) memcpy(cnew + r, cin + r, (size_t)H * sizeof *cnew);
      }
    }
  }
}

void rnn_layer_backward(float *dx, float *dh0, float *dc0, float *dW_ih, float *db_ih, float *dW_hh, float *db_hh,
                        float *scratch, const float *dout, const float *dh_last, const float *dc_last,
                        const float *cache, const float *x, const float *W_ih, const float *W_hh, const uint8_t *keep,
                        int reverse, int cell, int B, int T, int nin, int H) {
  int GH = rnn_cell_gates(cell) * H, A = rnn_cell_act_floats(cell, H), lstm = cell == RNN_CELL_LSTM;
  size_t BH = (size_t)B * H, rows = (size_t)T * B;
  const float *acts = cache, *hs = acts + rows * A, *cs = lstm ? hs + rows * H : NULL;
  float *dgx = scratch, *dgh = cell == RNN_CELL_GRU ? dgx + rows * GH : dgx;
  float *dh = (cell == RNN_CELL_GRU ? dgh : dgx) + rows * GH, *dh_prev = dh + BH;
  float *dc = lstm ? dh_prev + BH : NULL, *dc_prev = lstm ? dc + BH : NULL;
  /* dh, dc: the gradient of the state leaving the current step; dh_prev, dc_prev: of the state entering it */
  dh_last ? memcpy(dh, dh_last, BH * sizeof *dh) : memset(dh, 0, BH * sizeof *dh);
  if (lstm) dc_last ? memcpy(dc, dc_last, BH * sizeof *dc) : memset(dc, 0, BH * sizeof *dc);
  for (int s = T - 1; s >= 0; s--) {
    int t = reverse ? T - 1 - s : s;
    const float *d = dout ? dout + (size_t)t * BH : NULL;
    for (int b = 0; b < B; b++) {
      size_t r = (size_t)b * H;
      if (!keep || keep[(size_t)t * B + b]) {
        if (d)
          for (int j = 0; j < H; j++) dh[r + j] += d[r + j];
        memset(dh_prev + r, 0, (size_t)H * sizeof *dh);
        if (lstm) memset(dc_prev + r, 0, (size_t)H * sizeof *dc);
      } else { /* padding: the gradient passes to the previous state; the cell sees none */
        memcpy(dh_prev + r, dh + r, (size_t)H * sizeof *dh);
        memset(dh + r, 0, (size_t)H * sizeof *dh);
        if (lstm) {
          memcpy(dc_prev + r, dc + r, (size_t)H * sizeof *dc);
          memset(dc + r, 0, (size_t)H * sizeof *dc);
        }
      }
    }
    size_t g = (size_t)t * B * GH;
    gates_backward(dgx + g, dgh + g, dh_prev, lstm ? dc_prev : NULL, dh, lstm ? dc : NULL, acts + (size_t)t * B * A,
                   hs + (size_t)t * BH, lstm ? cs + (size_t)t * BH : NULL, cell, B, H);
    if (s > 0 || dh0) /* dh_prev += dgh W_hh; the first step's only feeds dh0 */
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, H, GH, 1.0f, dgh + g, GH, W_hh, H, 1.0f, dh_prev, H);
    float *tmp = dh;
    dh = dh_prev, dh_prev = tmp;
    tmp = dc, dc = dc_prev, dc_prev = tmp;
  }
  if (dh0)
    for (size_t i = 0; i < BH; i++) dh0[i] += dh[i];
  if (lstm && dc0)
    for (size_t i = 0; i < BH; i++) dc0[i] += dc[i];
  if (T == 0) return;
  /* all steps at once: gx = x W_ih^T + b_ih and gh = h W_hh^T + b_hh over the T*B rows */
  linear_backward(dx, dW_ih, db_ih, dgx, x, W_ih, (int)rows, nin, GH);
  linear_backward(NULL, dW_hh, db_hh, dgh, hs, W_hh, (int)rows, H, GH);
}

/* ---- attention ------------------------------------------------------------------------------------------------- */

/* Bahdanau's tanh-heavy loops are kernels.h's (additive_score, additive_backward): the widest instruction set the
 * CPU runs, the same bits on every one. */

void rnn_attention_forward(float *ctx, float *probs, const float *q, const float *keys, const float *values,
                           const float *v, const int32_t *src_ids, const int32_t *sent, int kind, int N, int S,
                           int Dk, int Dv) {
  XLAT_ASSERT(kind == RNN_ATTN_DOT || kind == RNN_ATTN_GENERAL || kind == RNN_ATTN_ADDITIVE);
  XLAT_ASSERT(kind != RNN_ATTN_ADDITIVE || v);
  const xlat_kernels *kt = xlat_kernels_get();
  for (int r = 0; r < N; r++) {
    size_t b = (size_t)sent[r];
    const float *qr = q + (size_t)r * Dk, *K = keys + b * S * Dk, *V = values + b * S * Dv;
    const int32_t *ids = src_ids ? src_ids + b * S : NULL;
    float *p = probs + (size_t)r * S, *o = ctx + (size_t)r * Dv;
    if (kind == RNN_ATTN_ADDITIVE)
      for (int j = 0; j < S; j++) p[j] = kt->additive_score(qr, K + (size_t)j * Dk, v, Dk);
    else
      cblas_sgemv(CblasRowMajor, CblasNoTrans, S, Dk, 1.0f, K, Dk, qr, 1, 0.0f, p, 1);
    float mx = -INFINITY, sum = 0.0f;
    for (int j = 0; j < S; j++)
      if ((!ids || ids[j] != XLAT_PAD) && p[j] > mx) mx = p[j];
    if (mx == -INFINITY) { /* every key masked: zero probabilities and context */
      memset(p, 0, (size_t)S * sizeof *p);
      memset(o, 0, (size_t)Dv * sizeof *o);
      continue;
    }
    for (int j = 0; j < S; j++) {
      p[j] = (!ids || ids[j] != XLAT_PAD) ? xlat_expf(p[j] - mx) : 0.0f;
      sum += p[j];
    }
    float inv = 1.0f / sum;
    for (int j = 0; j < S; j++) p[j] *= inv;
    cblas_sgemv(CblasRowMajor, CblasTrans, S, Dv, 1.0f, V, Dv, p, 1, 0.0f, o, 1);
  }
}

void rnn_attention_backward(float *dq, float *dkeys, float *dvalues, float *dv, float *scratch, const float *dctx,
                            const float *probs, const float *q, const float *keys, const float *values,
                            const float *v, const int32_t *src_ids, const int32_t *sent, int kind, int N, int S,
                            int Dk, int Dv) {
  (void)src_ids; /* masked keys have p = 0, so their gradients are 0 without looking at the ids */
  XLAT_ASSERT(kind != RNN_ATTN_ADDITIVE || (v && dv));
  const xlat_kernels *kt = xlat_kernels_get();
  float *ds = scratch;
  for (int r = 0; r < N; r++) {
    size_t b = (size_t)sent[r];
    const float *qr = q + (size_t)r * Dk, *K = keys + b * S * Dk, *V = values + b * S * Dv;
    const float *p = probs + (size_t)r * S, *d = dctx + (size_t)r * Dv;
    float *dqr = dq + (size_t)r * Dk, *dK = dkeys + b * S * Dk, *dV = dvalues + b * S * Dv;
    /* ctx = p V: dV += p^T dctx, dp = V dctx */
    cblas_sger(CblasRowMajor, S, Dv, 1.0f, p, 1, d, 1, dV, Dv);
    cblas_sgemv(CblasRowMajor, CblasNoTrans, S, Dv, 1.0f, V, Dv, d, 1, 0.0f, ds, 1);
    /* softmax: ds = p * (dp - sum(p dp)); zero at masked keys and on a fully masked row */
    float dot = 0.0f;
    for (int j = 0; j < S; j++) dot += p[j] * ds[j];
    for (int j = 0; j < S; j++) ds[j] = p[j] * (ds[j] - dot);
    if (kind == RNN_ATTN_ADDITIVE) {
      for (int j = 0; j < S; j++)
        if (p[j] != 0.0f) kt->additive_backward(dqr, dK + (size_t)j * Dk, dv, qr, K + (size_t)j * Dk, v, ds[j], Dk);
    } else { /* scores = K q: dq += K^T ds, dK += ds q^T */
      cblas_sgemv(CblasRowMajor, CblasTrans, S, Dk, 1.0f, K, Dk, ds, 1, 1.0f, dqr, 1);
      cblas_sger(CblasRowMajor, S, Dk, 1.0f, ds, 1, qr, 1, dK, Dk);
    }
  }
}

/* ops.c - forward/backward kernels of the Transformer (shapes and conventions in ops.h). Matrix products go through
 * cblas_sgemm (OpenBLAS threads do the parallel work); the row reductions of softmax, loss and layer norm through
 * the instruction-set-dispatched kernels.h; element-wise loops are plain C the compiler vectorizes for the
 * baseline. The naive references (*_ref) live in ops_ref.c. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "ops.h"

/* Partial sums of the one reduction left here (layer norm backward); the others are kernels.h's row_* loops. */
enum { LANES = 16 };

/* ---- embedding ------------------------------------------------------------------------------------------------- */

void embed_forward(float *out, const int32_t *ids, const float *emb, const float *pos, int B, int T, int C,
                   float scale) {
  for (int b = 0; b < B; b++)
    for (int t = 0; t < T; t++) {
      float *o = out + ((size_t)b * T + t) * C;
      const float *e = emb + (size_t)ids[(size_t)b * T + t] * C;
      if (!pos) {
        for (int c = 0; c < C; c++) o[c] = e[c] * scale;
        continue;
      }
      const float *p = pos + (size_t)t * C;
      for (int c = 0; c < C; c++) o[c] = e[c] * scale + p[c];
    }
}

void embed_backward(float *demb, float *dpos, const float *dout, const int32_t *ids, int B, int T, int C,
                    float scale) {
  for (int b = 0; b < B; b++)
    for (int t = 0; t < T; t++) {
      const float *d = dout + ((size_t)b * T + t) * C;
      float *de = demb + (size_t)ids[(size_t)b * T + t] * C;
      for (int c = 0; c < C; c++) de[c] += d[c] * scale;
      if (dpos) {
        float *dp = dpos + (size_t)t * C;
        for (int c = 0; c < C; c++) dp[c] += d[c];
      }
    }
}

/* ---- layer normalization --------------------------------------------------------------------------------------- */

void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *g, const float *b, int N,
                       int C) {
  const xlat_kernels *k = xlat_kernels_get();
  for (int n = 0; n < N; n++) {
    const float *x = inp + (size_t)n * C;
    float *o = out + (size_t)n * C;
    float m = k->row_sum(x, C) / (float)C;
    float s = 1.0f / sqrtf(k->row_sq_dev_sum(x, m, C) / (float)C + 1e-5f);
    for (int c = 0; c < C; c++) o[c] = (x[c] - m) * s * g[c] + b[c];
    mean[n] = m;
    rstd[n] = s;
  }
}

void layernorm_backward(float *dinp, float *dg, float *db, const float *dout, const float *inp, const float *mean,
                        const float *rstd, const float *g, int N, int C) {
  for (int n = 0; n < N; n++) {
    const float *x = inp + (size_t)n * C, *d = dout + (size_t)n * C;
    float *di = dinp + (size_t)n * C, m = mean[n], s = rstd[n];
    /* dx = s * (dnorm - mean(dnorm) - xhat * mean(dnorm * xhat)), dnorm = dout * g */
    float ad[LANES] = {0}, ax[LANES] = {0};
    int c = 0;
    for (; c + LANES <= C; c += LANES)
      for (int j = 0; j < LANES; j++) {
        float dn = d[c + j] * g[c + j];
        ad[j] += dn;
        ax[j] += dn * (x[c + j] - m) * s;
      }
    for (; c < C; c++) {
      ad[0] += d[c] * g[c];
      ax[0] += d[c] * g[c] * (x[c] - m) * s;
    }
    for (int j = 1; j < LANES; j++) ad[0] += ad[j], ax[0] += ax[j];
    float mean_d = ad[0] / (float)C, mean_dx = ax[0] / (float)C;
    for (c = 0; c < C; c++) {
      float xh = (x[c] - m) * s;
      dg[c] += d[c] * xh;
      db[c] += d[c];
      di[c] += s * (d[c] * g[c] - mean_d - xh * mean_dx);
    }
  }
}

/* ---- linear ---------------------------------------------------------------------------------------------------- */

void linear_forward(float *out, const float *inp, const float *W, const float *b, int N, int nin, int nout) {
  if (b)
    for (int n = 0; n < N; n++) memcpy(out + (size_t)n * nout, b, (size_t)nout * sizeof *b);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, nout, nin, 1.0f, inp, nin, W, nin, b ? 1.0f : 0.0f, out,
              nout);
}

void linear_backward(float *dinp, float *dW, float *db, const float *dout, const float *inp, const float *W, int N,
                     int nin, int nout) {
  if (dinp)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, nin, nout, 1.0f, dout, nout, W, nin, 1.0f, dinp, nin);
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nout, nin, N, 1.0f, dout, nout, inp, nin, 1.0f, dW, nin);
  if (db)
    for (int n = 0; n < N; n++) {
      const float *d = dout + (size_t)n * nout;
      for (int o = 0; o < nout; o++) db[o] += d[o];
    }
}

/* ---- dropout masks --------------------------------------------------------------------------------------------- */

/* Dropout decisions. One draw from the caller's generator keys each call; unit i is kept when the top 16 bits of
 * hash(key, i) are >= p * 2^16 (p rounded to a multiple of 2^-16: 0.1 becomes 0.100006); kernels.h's dropout_mask
 * has the hash. */
static uint32_t drop_threshold(float p) { return (uint32_t)lrintf(p * 65536.0f); }

static void draw_mask(uint8_t *mask, size_t n, float p, xlat_rng *rng) {
  xlat_kernels_get()->dropout_mask(mask, n, drop_threshold(p), xlat_rng_next(rng));
}

/* ---- attention ------------------------------------------------------------------------------------------------- */

/* Row t of a (T,S) score block: masked softmax in place. */
static void masked_softmax_row(float *row, const int32_t *keys, int S, int limit) {
  /* limit: keys s >= limit are masked (causal), S when none */
  float mx = -INFINITY;
  for (int s = 0; s < limit; s++)
    if ((!keys || keys[s] != XLAT_PAD) && row[s] > mx) mx = row[s];
  if (mx == -INFINITY) { /* every key masked: zero probabilities */
    memset(row, 0, (size_t)S * sizeof *row);
    return;
  }
  float sum = 0.0f;
  for (int s = 0; s < limit; s++) {
    float e = (!keys || keys[s] != XLAT_PAD) ? xlat_expf(row[s] - mx) : 0.0f;
    row[s] = e;
    sum += e;
  }
  float inv = 1.0f / sum;
  for (int s = 0; s < limit; s++) row[s] *= inv;
  for (int s = limit; s < S; s++) row[s] = 0.0f;
}

/* Relative positions (Shaw et al. 2018): key s of the query at position i has bucket clip(s - i, -K, K) + K, so
 * keys s <= i - K share bucket 0, keys s >= i + K bucket 2K, and each key between has a bucket of its own,
 * s - i + K. [*lo, *hi) is that middle run of keys, clamped to [0, S). */
static void rel_runs(int S, int i, int K, int *lo, int *hi) {
  int a = i - K + 1, b = i + K;
  *lo = a < 0 ? 0 : (a > S ? S : a);
  *hi = b < 0 ? 0 : (b > S ? S : b);
}

/* row[s] += table[bucket of s] for s < S: a relative term gathered into a (T,S) row. */
static void rel_gather(float *row, const float *table, int S, int i, int K) {
  int lo, hi;
  rel_runs(S, i, K, &lo, &hi);
  for (int s = 0; s < lo; s++) row[s] += table[0];
  for (int s = lo; s < hi; s++) row[s] += table[s - i + K];
  for (int s = hi; s < S; s++) row[s] += table[2 * K];
}

/* sums[r] = sum of row[s] over the keys s of bucket r, in the order of s (the transpose of rel_gather). */
static void rel_scatter(float *sums, const float *row, int S, int i, int K) {
  int lo, hi;
  rel_runs(S, i, K, &lo, &hi);
  memset(sums, 0, (size_t)(2 * K + 1) * sizeof *sums);
  for (int s = 0; s < lo; s++) sums[0] += row[s];
  for (int s = lo; s < hi; s++) sums[s - i + K] = row[s];
  for (int s = hi; s < S; s++) sums[2 * K] += row[s];
}

/* The body of attention_forward and attention_rel_forward: rel_k == NULL for plain attention (rel_v too; the
 * relative scratch (T,2K+1) follows the (T,S) one). */
static void attention_fwd(float *out, float *probs, uint8_t *mask, float *scratch, const float *q, int ldq,
                          size_t qbs, const float *k, const float *v, int ldkv, size_t kvbs, const float *rel_k,
                          const float *rel_v, int K, const int32_t *key_ids, int causal, int q_offset, int B, int T,
                          int S, int C, int H, float p, xlat_rng *rng) {
  int D = C / H, R = 2 * K + 1;
  float scale = 1.0f / sqrtf((float)D), keep = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;
  float *rel = rel_k ? scratch + (size_t)T * S : NULL; /* (T,R) */
  for (int b = 0; b < B; b++) {
    const int32_t *keys = key_ids ? key_ids + (size_t)b * S : NULL;
    for (int h = 0; h < H; h++) {
      const float *qh = q + b * qbs + (size_t)h * D, *kh = k + b * kvbs + (size_t)h * D,
                  *vh = v + b * kvbs + (size_t)h * D;
      float *P = probs + ((size_t)b * H + h) * T * S, *oh = out + (size_t)b * T * C + (size_t)h * D;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, S, D, scale, qh, ldq, kh, ldkv, 0.0f, P, S);
      if (rel) { /* + q_i . rel_k[r] / sqrt(D): the 2K+1 products of each query, gathered */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, R, D, scale, qh, ldq, rel_k, D, 0.0f, rel, R);
        for (int t = 0; t < T; t++) rel_gather(P + (size_t)t * S, rel + (size_t)t * R, S, t + q_offset, K);
      }
      for (int t = 0; t < T; t++) {
        int limit = causal ? (t + q_offset + 1 < S ? t + q_offset + 1 : S) : S;
        masked_softmax_row(P + (size_t)t * S, keys, S, limit);
      }
      const float *Pused = P;
      if (p > 0.0f) {
        uint8_t *M = mask + ((size_t)b * H + h) * T * S;
        draw_mask(M, (size_t)T * S, p, rng);
        xlat_kernels_get()->masked_scale(scratch, NULL, M, P, (size_t)T * S, keep);
        Pused = scratch;
      }
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, D, S, 1.0f, Pused, S, vh, ldkv, 0.0f, oh, C);
      if (rel) { /* + sum_r (probabilities of bucket r) rel_v[r] */
        for (int t = 0; t < T; t++) rel_scatter(rel + (size_t)t * R, Pused + (size_t)t * S, S, t + q_offset, K);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, D, R, 1.0f, rel, R, rel_v, D, 1.0f, oh, C);
      }
    }
  }
}

void attention_forward(float *out, float *probs, uint8_t *mask, float *scratch, const float *q, int ldq, size_t qbs,
                       const float *k, const float *v, int ldkv, size_t kvbs, const int32_t *key_ids, int causal,
                       int q_offset, int B, int T, int S, int C, int H, float p, xlat_rng *rng) {
  attention_fwd(out, probs, mask, scratch, q, ldq, qbs, k, v, ldkv, kvbs, NULL, NULL, 0, key_ids, causal, q_offset, B,
                T, S, C, H, p, rng);
}

void attention_rel_forward(float *out, float *probs, uint8_t *mask, float *scratch, const float *q, int ldq,
                           size_t qbs, const float *k, const float *v, int ldkv, size_t kvbs, const float *rel_k,
                           const float *rel_v, int K, const int32_t *key_ids, int causal, int q_offset, int B, int T,
                           int S, int C, int H, float p, xlat_rng *rng) {
  XLAT_ASSERT(rel_k && rel_v && K >= 1 && scratch);
  attention_fwd(out, probs, mask, scratch, q, ldq, qbs, k, v, ldkv, kvbs, rel_k, rel_v, K, key_ids, causal, q_offset,
                B, T, S, C, H, p, rng);
}

/* The body of attention_backward and attention_rel_backward (rel_k == NULL: plain attention; the relative scratch
 * (2,T,2K+1) follows the (2,T,S) one). */
static void attention_bwd(float *dq, float *dk, float *dv, float *drel_k, float *drel_v, float *scratch,
                          const float *dout, const float *probs, const uint8_t *mask, const float *q, int ldq,
                          size_t qbs, const float *k, const float *v, int ldkv, size_t kvbs, const float *rel_k,
                          const float *rel_v, int K, int q_offset, int B, int T, int S, int C, int H, float p) {
  int D = C / H, R = 2 * K + 1;
  float scale = 1.0f / sqrtf((float)D), keep = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;
  float *dP = scratch, *Pd = scratch + (size_t)T * S;
  float *rel = rel_k ? scratch + 2 * (size_t)T * S : NULL, *drel = rel ? rel + (size_t)T * R : NULL; /* (T,R) each */
  for (int b = 0; b < B; b++)
    for (int h = 0; h < H; h++) {
      size_t off = b * qbs + (size_t)h * D, koff = b * kvbs + (size_t)h * D;
      const float *P = probs + ((size_t)b * H + h) * T * S, *douth = dout + (size_t)b * T * C + (size_t)h * D;
      const uint8_t *M = p > 0.0f ? mask + ((size_t)b * H + h) * T * S : NULL;
      const float *Pused = P;
      if (M) {
        xlat_kernels_get()->masked_scale(Pd, NULL, M, P, (size_t)T * S, keep);
        Pused = Pd;
      }
      /* dV += Pused^T dout; dPused = dout V^T */
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, S, D, T, 1.0f, Pused, S, douth, C, 1.0f, dv + koff, ldkv);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, S, D, 1.0f, douth, C, v + koff, ldkv, 0.0f, dP, S);
      if (rel) {
        /* out += Pb rel_v, Pb the bucket sums of Pused: drel_v += Pb^T dout; dPused += gather(dout rel_v^T) */
        for (int t = 0; t < T; t++) rel_scatter(rel + (size_t)t * R, Pused + (size_t)t * S, S, t + q_offset, K);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, R, D, T, 1.0f, rel, R, douth, C, 1.0f, drel_v, D);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, R, D, 1.0f, douth, C, rel_v, D, 0.0f, drel, R);
        for (int t = 0; t < T; t++) rel_gather(dP + (size_t)t * S, drel + (size_t)t * R, S, t + q_offset, K);
      }
      /* softmax backward: dscore = P * (dP - sum(dP * P)), dP through the dropout mask first */
      for (int t = 0; t < T; t++) {
        float *d = dP + (size_t)t * S;
        const float *pr = P + (size_t)t * S;
        if (M) {
          const uint8_t *mr = M + (size_t)t * S;
          for (int s = 0; s < S; s++) d[s] = mr[s] ? d[s] * keep : 0.0f;
        }
        float dot = 0.0f;
        for (int s = 0; s < S; s++) dot += d[s] * pr[s];
        for (int s = 0; s < S; s++) d[s] = pr[s] * (d[s] - dot);
      }
      if (rel) {
        /* scores += scale Q rel_k^T gathered: with dRq the bucket sums of dscore, dQ += scale dRq rel_k and
         * drel_k += scale dRq^T Q */
        for (int t = 0; t < T; t++) rel_scatter(rel + (size_t)t * R, dP + (size_t)t * S, S, t + q_offset, K);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, D, R, scale, rel, R, rel_k, D, 1.0f, dq + off, ldq);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, R, D, T, scale, rel, R, q + off, ldq, 1.0f, drel_k, D);
      }
      /* scores = scale * Q K^T: dQ += scale dS K, dK += scale dS^T Q */
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, D, S, scale, dP, S, k + koff, ldkv, 1.0f, dq + off,
                  ldq);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, S, D, T, scale, dP, S, q + off, ldq, 1.0f, dk + koff,
                  ldkv);
    }
}

void attention_backward(float *dq, float *dk, float *dv, float *scratch, const float *dout, const float *probs,
                        const uint8_t *mask, const float *q, int ldq, size_t qbs, const float *k, const float *v,
                        int ldkv, size_t kvbs, int B, int T, int S, int C, int H, float p) {
  attention_bwd(dq, dk, dv, NULL, NULL, scratch, dout, probs, mask, q, ldq, qbs, k, v, ldkv, kvbs, NULL, NULL, 0, 0, B,
                T, S, C, H, p);
}

void attention_rel_backward(float *dq, float *dk, float *dv, float *drel_k, float *drel_v, float *scratch,
                            const float *dout, const float *probs, const uint8_t *mask, const float *q, int ldq,
                            size_t qbs, const float *k, const float *v, int ldkv, size_t kvbs, const float *rel_k,
                            const float *rel_v, int K, int q_offset, int B, int T, int S, int C, int H, float p) {
  XLAT_ASSERT(rel_k && rel_v && drel_k && drel_v && K >= 1);
  attention_bwd(dq, dk, dv, drel_k, drel_v, scratch, dout, probs, mask, q, ldq, qbs, k, v, ldkv, kvbs, rel_k, rel_v, K,
                q_offset, B, T, S, C, H, p);
}

/* ---- activation + dropout -------------------------------------------------------------------------------------- */

static float gelu(float x) { return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f)); }

static float gelu_grad(float x) {
  float cdf = 0.5f * (1.0f + erff(x * 0.70710678118654752f));
  return cdf + x * 0.39894228040143268f * expf(-0.5f * x * x);
}

void act_dropout_forward(float *out, uint8_t *mask, const float *inp, size_t n, int activation, float p,
                         xlat_rng *rng) {
  if (activation == XLAT_ACT_GELU)
    for (size_t i = 0; i < n; i++) out[i] = gelu(inp[i]);
  else
    xlat_kernels_get()->relu_gate(out, inp, inp, n, 1.0f);
  if (p > 0.0f && mask)
    dropout_forward(out, mask, n, p, rng);
  else if (p > 0.0f) /* ReLU's backward reads the mask back off its output: no need to store it */
    xlat_kernels_get()->dropout_unstored(out, n, drop_threshold(p), xlat_rng_next(rng), 1.0f / (1.0f - p));
}

void act_dropout_backward(float *dinp, const float *dout, const float *inp, const float *out, const uint8_t *mask,
                          size_t n, int activation, float p) {
  float keep = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;
  if (activation == XLAT_ACT_GELU) {
    if (p > 0.0f)
      for (size_t i = 0; i < n; i++) dinp[i] = mask[i] ? dout[i] * keep * gelu_grad(inp[i]) : 0.0f;
    else
      for (size_t i = 0; i < n; i++) dinp[i] = dout[i] * gelu_grad(inp[i]);
  } else {
    /* out > 0 exactly when the unit was positive and kept: no mask needed */
    xlat_kernels_get()->relu_gate(dinp, out, dout, n, keep);
  }
}

/* ---- residual + dropout ---------------------------------------------------------------------------------------- */

void residual_dropout_forward(float *out, uint8_t *mask, const float *res, const float *x, size_t n, float p,
                              xlat_rng *rng) {
  if (p > 0.0f) {
    float keep = 1.0f / (1.0f - p);
    draw_mask(mask, n, p, rng);
    xlat_kernels_get()->masked_scale(out, res, mask, x, n, keep);
  } else {
    for (size_t i = 0; i < n; i++) out[i] = res[i] + x[i];
  }
}

void residual_dropout_backward(float *dx, const float *dout, const uint8_t *mask, size_t n, float p) {
  if (p > 0.0f) {
    float keep = 1.0f / (1.0f - p);
    xlat_kernels_get()->masked_scale(dx, NULL, mask, dout, n, keep);
  } else if (dx != dout) {
    memcpy(dx, dout, n * sizeof *dx);
  }
}

void dropout_forward(float *x, uint8_t *mask, size_t n, float p, xlat_rng *rng) {
  if (p <= 0.0f) return;
  float keep = 1.0f / (1.0f - p);
  draw_mask(mask, n, p, rng);
  xlat_kernels_get()->masked_scale(x, NULL, mask, x, n, keep);
}

void dropout_backward(float *dx, const uint8_t *mask, size_t n, float p) {
  if (p <= 0.0f) return;
  float keep = 1.0f / (1.0f - p);
  xlat_kernels_get()->masked_scale(dx, NULL, mask, dx, n, keep);
}

/* ---- log-softmax + label-smoothed cross entropy ---------------------------------------------------------------- */

static float row_lse(const xlat_kernels *k, const float *l, int V) {
  float mx = k->row_max(l, V);
  return mx + logf(k->row_exp_sum(NULL, l, mx, V));
}

int64_t xent_forward(float *loss, float *nll, float *lse, const float *logits, const int32_t *targets, int N, int V,
                     float eps) {
  const xlat_kernels *k = xlat_kernels_get();
  int64_t count = 0;
  for (int n = 0; n < N; n++) {
    const float *l = logits + (size_t)n * V;
    float z = row_lse(k, l, V);
    lse[n] = z;
    if (targets[n] == XLAT_PAD) {
      loss[n] = nll[n] = 0.0f;
      continue;
    }
    float nl = z - l[targets[n]], smooth = (float)((double)z - k->row_sum_double(l, V) / V);
    nll[n] = nl;
    loss[n] = (1.0f - eps) * nl + eps * smooth;
    count++;
  }
  return count;
}

void xent_backward(float *dlogits, const float *logits, const float *lse, const int32_t *targets, int N, int V,
                   float eps, float dscale) {
  float uni = eps / (float)V * dscale;
  for (int n = 0; n < N; n++) {
    const float *l = logits + (size_t)n * V;
    float *d = dlogits + (size_t)n * V;
    if (targets[n] == XLAT_PAD) {
      memset(d, 0, (size_t)V * sizeof *d);
      continue;
    }
    float z = lse[n];
    for (int v = 0; v < V; v++) d[v] = xlat_expf(l[v] - z) * dscale - uni;
    d[targets[n]] -= (1.0f - eps) * dscale;
  }
}

int64_t xent_forward_backward(float *logits, float *loss, const int32_t *targets, int N, int V, float eps,
                              float dscale) {
  const xlat_kernels *k = xlat_kernels_get();
  int64_t count = 0;
  float uni = eps / (float)V * dscale;
  for (int n = 0; n < N; n++) {
    float *l = logits + (size_t)n * V;
    int32_t y = targets[n];
    if (y == XLAT_PAD) {
      loss[n] = 0.0f;
      memset(l, 0, (size_t)V * sizeof *l);
      continue;
    }
    float mx = k->row_max(l, V), ly = l[y];
    double lsum = k->row_sum_double(l, V);
    float esum = k->row_exp_sum(l, l, mx, V), z = mx + logf(esum), scale = dscale / esum;
    loss[n] = (1.0f - eps) * (z - ly) + eps * (float)((double)z - lsum / V);
    for (int v = 0; v < V; v++) l[v] = l[v] * scale - uni;
    l[y] -= (1.0f - eps) * dscale;
    count++;
  }
  return count;
}

void logsoftmax_forward(float *out, const float *logits, int N, int V) {
  const xlat_kernels *k = xlat_kernels_get();
  for (int n = 0; n < N; n++) {
    const float *l = logits + (size_t)n * V;
    float *o = out + (size_t)n * V, z = row_lse(k, l, V);
    for (int v = 0; v < V; v++) o[v] = l[v] - z;
  }
}

void xlat_set_threads(int n) { openblas_set_num_threads(n < 1 ? 1 : n); }

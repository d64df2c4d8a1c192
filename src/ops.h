/* ops.h - the Transformer's kernels as forward/backward pairs (ops.c), with naive references for the tests.
 *
 * Conventions (llm.c style): outputs first, then inputs, then dimensions; every array carries its shape with the
 * fixed letters B batch, S source (key) length, T target (query) length, C d_model, H heads, D = C/H, F d_ff,
 * V vocabulary, N rows (tokens), I/O a linear layer's in/out features (nin, nout). Row-major everywhere. Backward
 * kernels ACCUMULATE (+=) into parameter gradients and into the activation gradients marked "+="; activation
 * gradients marked "=" are overwritten (saves zeroing a buffer). Forward kernels store what backward needs (layernorm
 * mean/rstd, attention probabilities, dropout masks). Masks are bytes, 1 = kept; a kept value is scaled by 1/(1-p);
 * p is used rounded to a multiple of 2^-16. Nothing here allocates; nothing here prints.
 */
#ifndef XLAT_OPS_H
#define XLAT_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"
#include "kernels.h"

/* ---- embedding: out[b,t] = emb[ids[b,t]] * scale + pos[t] (scale is sqrt(C)) ------------------------------------ */
void embed_forward(float *out /* (B*T,C) */, const int32_t *ids /* (B,T) */, const float *emb /* (V,C) */,
                   const float *pos /* (T,C): rows for positions 0..T-1, or NULL: none */, int B, int T, int C,
                   float scale);
/* demb += (rows of ids), dpos += (NULL: fixed positions) */
void embed_backward(float *demb /* (V,C) */, float *dpos /* (T,C) or NULL */, const float *dout /* (B*T,C) */,
                    const int32_t *ids /* (B,T) */, int B, int T, int C, float scale);

/* ---- layer normalization over C (eps 1e-5, biased variance, as torch.nn.LayerNorm) ----------------------------- */
void layernorm_forward(float *out /* (N,C) */, float *mean /* (N) */, float *rstd /* (N) */,
                       const float *inp /* (N,C) */, const float *g /* (C) */, const float *b /* (C) */, int N,
                       int C);
/* dinp +=, dg +=, db += */
void layernorm_backward(float *dinp /* (N,C) */, float *dg /* (C) */, float *db /* (C) */,
                        const float *dout /* (N,C) */, const float *inp /* (N,C) */, const float *mean /* (N) */,
                        const float *rstd /* (N) */, const float *g /* (C) */, int N, int C);

/* ---- linear layer: out = inp W^T + b (W is (O,I) as PyTorch), one cblas_sgemm ---------------------------------- */
void linear_forward(float *out /* (N,O) */, const float *inp /* (N,I) */, const float *W /* (O,I) */,
                    const float *b /* (O) or NULL */, int N, int nin, int nout);
/* dinp += (skipped when NULL), dW +=, db += (skipped when NULL) */
void linear_backward(float *dinp /* (N,I) or NULL */, float *dW /* (O,I) */, float *db /* (O) or NULL */,
                     const float *dout /* (N,O) */, const float *inp /* (N,I) */, const float *W /* (O,I) */, int N,
                     int nin, int nout);
void linear_forward_ref(float *out, const float *inp, const float *W, const float *b, int N, int nin, int nout);

/* ---- multi-head scaled dot-product attention (Vaswani et al. 2017, section 3.2) --------------------------------
 * Query row (b,t) is at q + b*qbs + t*ldq; key and value row (b,s) at k/v + b*kvbs + s*ldkv; head h uses columns
 * [h*D, (h+1)*D) of each row. So packed QKV (N,3C) buffers, packed KV (N,2C) buffers and a decoder's K/V cache are
 * all read in place, without copying sentences or heads out. Keys whose id in key_ids (B,S) is XLAT_PAD are masked
 * (key_ids NULL: none); causal != 0 masks key s > query t + q_offset (q_offset: position of the first query, for
 * incremental decoding). A query whose keys are all masked gets zero probabilities (and a zero output).
 * probs (B,H,T,S) keeps the softmax for backward; with p > 0 the probabilities used for the output are
 * probs * mask / (1-p), mask (B,H,T,S) drawn from rng (mask and rng unused when p == 0). */
void attention_forward(float *out /* (B*T,C) */, float *probs /* (B,H,T,S) */, uint8_t *mask /* (B,H,T,S) */,
                       float *scratch /* (T,S), used when p > 0 */,
                       const float *q, int ldq, size_t qbs, const float *k, const float *v, int ldkv, size_t kvbs,
                       const int32_t *key_ids /* (B,S) or NULL */, int causal, int q_offset, int B, int T, int S,
                       int C, int H, float p, xlat_rng *rng);
/* dq, dk, dv += (same layouts as q, k, v); scratch holds 2*T*S floats. */
void attention_backward(float *dq, float *dk, float *dv, float *scratch /* (2,T,S) */, const float *dout /* (B*T,C) */,
                        const float *probs /* (B,H,T,S) */, const uint8_t *mask /* (B,H,T,S) */, const float *q,
                        int ldq, size_t qbs, const float *k, const float *v, int ldkv, size_t kvbs, int B, int T,
                        int S, int C, int H, float p);
void attention_forward_ref(float *out, float *probs, const float *q, int ldq, size_t qbs, const float *k,
                           const float *v, int ldkv, size_t kvbs, const int32_t *key_ids, int causal, int q_offset,
                           int B, int T, int S, int C, int H);

/* ---- self-attention with relative positions (Shaw et al. 2018, "Self-Attention with Relative Position
 * Representations", eqs. 3-4) -------------------------------------------------------------------------------------
 * attention_forward's self-attention (same layouts, masks and dropout) where query row t is position i = t + q_offset
 * and key s is position s, with learned embeddings of the clipped distance r(i,s) = clip(s - i, -K, K) + K added to
 * the keys and the values, shared by the heads:
 *   e_is = q_i . (k_s + rel_k[r(i,s)]) / sqrt(D),   z_i = sum_s p_is (v_s + rel_v[r(i,s)]).
 * Beyond plain attention this costs O(T (2K+1) D) per head, never a (T,S,D) tensor: the 2K+1 products q_i . rel_k[r]
 * (one sgemm) are gathered into the scores, and the probabilities summed per distance bucket (dropout applied)
 * times rel_v (one sgemm) join the output. scratch holds T*S + T*(2K+1) floats (used whatever p). */
void attention_rel_forward(float *out /* (B*T,C) */, float *probs /* (B,H,T,S) */, uint8_t *mask /* (B,H,T,S) */,
                           float *scratch /* T*S + T*(2K+1) */, const float *q, int ldq, size_t qbs, const float *k,
                           const float *v, int ldkv, size_t kvbs, const float *rel_k /* (2K+1,D) */,
                           const float *rel_v /* (2K+1,D) */, int K, const int32_t *key_ids /* (B,S) or NULL */,
                           int causal, int q_offset, int B, int T, int S, int C, int H, float p, xlat_rng *rng);
/* dq, dk, dv, drel_k, drel_v += (drel_k and drel_v (2K+1,D), summed over batch and heads); scratch holds
 * 2*T*S + 2*T*(2K+1) floats. */
void attention_rel_backward(float *dq, float *dk, float *dv, float *drel_k, float *drel_v,
                            float *scratch /* 2*T*S + 2*T*(2K+1) */, const float *dout /* (B*T,C) */,
                            const float *probs /* (B,H,T,S) */, const uint8_t *mask /* (B,H,T,S) */, const float *q,
                            int ldq, size_t qbs, const float *k, const float *v, int ldkv, size_t kvbs,
                            const float *rel_k, const float *rel_v, int K, int q_offset, int B, int T, int S, int C,
                            int H, float p);
/* The definition above in straight loops (no dropout). */
void attention_rel_forward_ref(float *out, float *probs, const float *q, int ldq, size_t qbs, const float *k,
                               const float *v, int ldkv, size_t kvbs, const float *rel_k, const float *rel_v, int K,
                               const int32_t *key_ids, int causal, int q_offset, int B, int T, int S, int C, int H);

/* ---- activation + dropout on the FFN inner layer -----------------------------------------------------------------
 * ReLU: out = relu(inp) * mask/(1-p); may run in place (out == inp) since backward needs only out.
 * GELU (exact, erf form as torch.nn.functional.gelu's default): out = x Phi(x) * mask/(1-p); out != inp, backward
 * needs inp. mask (n) written when p > 0; with ReLU it may be NULL (not stored: backward reads it off out). */
void act_dropout_forward(float *out /* (n) */, uint8_t *mask /* (n) */, const float *inp /* (n) */, size_t n,
                         int activation, float p, xlat_rng *rng);
/* dinp = (may alias dout); inp: pre-activation (GELU only, may be NULL for ReLU); out: forward output (ReLU). */
void act_dropout_backward(float *dinp /* (n) */, const float *dout /* (n) */, const float *inp /* (n) */,
                          const float *out /* (n) */, const uint8_t *mask /* (n) */, size_t n, int activation,
                          float p);

/* ---- residual with dropout on the branch: out = res + x * mask/(1-p) (mask written when p > 0) ------------------- */
void residual_dropout_forward(float *out /* (n) */, uint8_t *mask /* (n) */, const float *res /* (n) */,
                              const float *x /* (n) */, size_t n, float p, xlat_rng *rng);
/* dx = dout * mask/(1-p) (dx may alias dout); the residual's gradient is dout itself. */
void residual_dropout_backward(float *dx /* (n) */, const float *dout /* (n) */, const uint8_t *mask /* (n) */,
                               size_t n, float p);
/* Plain dropout in place: x *= mask/(1-p) (embeddings). */
void dropout_forward(float *x /* (n) */, uint8_t *mask /* (n) */, size_t n, float p, xlat_rng *rng);
void dropout_backward(float *dx /* (n) */, const uint8_t *mask /* (n) */, size_t n, float p); /* in place */

/* ---- log-softmax + label-smoothed cross entropy --------------------------------------------------------------------
 * As torch.nn.CrossEntropyLoss(label_smoothing=eps, ignore_index=XLAT_PAD): per token
 * loss = (1-eps) * (-logp[y]) + eps * mean over all V of (-logp[v]); nll = -logp[y]; both 0 where y == XLAT_PAD.
 * lse (N) keeps each row's log-sum-exp for backward. Returns the number of non-pad targets. */
int64_t xent_forward(float *loss /* (N) */, float *nll /* (N) */, float *lse /* (N) */, const float *logits /* (N,V) */,
                     const int32_t *targets /* (N) */, int N, int V, float eps);
/* dlogits = d(sum of loss)/dlogits * dscale (dlogits may alias logits; pad rows get zeros). */
void xent_backward(float *dlogits /* (N,V) */, const float *logits /* (N,V) */, const float *lse /* (N) */,
                   const int32_t *targets /* (N) */, int N, int V, float eps, float dscale);
/* The training step's fused form: loss (N) as xent_forward, and the logits overwritten in place by the gradient of
 * the summed loss times dscale (one exp per logit instead of two). Returns the number of non-pad targets. */
int64_t xent_forward_backward(float *logits /* (N,V) in, dlogits out */, float *loss /* (N) */,
                              const int32_t *targets /* (N) */, int N, int V, float eps, float dscale);
/* out = log_softmax(logits) row by row (may run in place). */
void logsoftmax_forward(float *out /* (N,V) */, const float *logits /* (N,V) */, int N, int V);

#endif

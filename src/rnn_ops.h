/* rnn_ops.h - kernels of the recurrent seq2seq models (rnn_ops.c) as forward/backward pairs: one step of an Elman
 * RNN, GRU or LSTM cell; one layer in one direction over a padded batch; Luong and Bahdanau attention of a recurrent
 * decoder over the encoder's memory. Naive references for the tests are in rnn_ops_ref.c.
 *
 * Conventions are ops.h's: outputs first (scratch last among them), then inputs, then dimensions; every array
 * carries its shape; row-major; backward ACCUMULATES (+=) into parameter gradients and into activation gradients
 * marked "+=", and overwrites those marked "="; nothing allocates, nothing prints. Letters: B batch, T steps, I input
 * features, H hidden size, G gates (1 RNN, 3 GRU, 4 LSTM), A = rnn_cell_act_floats(cell, H), S source length,
 * N attention query rows, Dk / Dv key / value widths. I is spelled nin in code (complex.h, which cblas.h
 * includes, defines I).
 *
 * Sequence buffers are TIME-MAJOR, (T,B,.): step t's B rows are contiguous, so a step's recurrent product is one
 * sgemm with M = B. Weights are laid out exactly as PyTorch's nn.RNN / nn.GRU / nn.LSTM (weight_ih_l0 etc.):
 * W_ih (G*H,I), b_ih (G*H), W_hh (G*H,H), b_hh (G*H), gate blocks of H rows in PyTorch's order:
 *   RNN  h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)                         (nn.RNN, nonlinearity tanh)
 *   GRU  r, z = sigmoid(gx_r + gh_r), sigmoid(gx_z + gh_z)                     (nn.GRU; Cho et al. 2014)
 *        n = tanh(gx_n + r * gh_n), h' = (1 - z) * n + z * h                   (b_hn inside r *: gh = h W_hh^T + b_hh)
 *   LSTM i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of gx + gh               (nn.LSTM; Hochreiter & Schmidhuber
 *        c' = f * c + i * g, h' = o * tanh(c')                                  1997, with forget gate, no peepholes)
 * where gx = x W_ih^T + b_ih and gh = h W_hh^T + b_hh.
 */
#ifndef XLAT_RNN_OPS_H
#define XLAT_RNN_OPS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels.h"

enum { RNN_CELL_TANH = 0, RNN_CELL_GRU = 1, RNN_CELL_LSTM = 2 };
enum { RNN_ATTN_DOT = 1, RNN_ATTN_GENERAL = 2, RNN_ATTN_ADDITIVE = 3 };

/* sigmoid and tanh as plain arithmetic on xlat_expf, so the gate loops vectorize (calls to expf / tanhf would stop
 * that; glibc's vector versions need -ffast-math; rnn_ops.c is built with -fno-trapping-math so that GCC vectorizes
 * the exp's range clamp). Both within 2e-7 relative of the exact function (measured 1.3e-7 and 1.5e-7, as glibc's
 * tanhf and expf give; test_rnn_ops checks it). tanh is Cephes' tanhf: an odd polynomial below |x| 0.625,
 * 1 - 2/(e^2|x| + 1) above. */
static inline float xlat_sigmoidf(float x) { return 1.0f / (1.0f + xlat_expf(-x)); }

static inline float xlat_tanhf(float x) {
  float ax = fabsf(x), z = x * x;
  float p = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z + 1.33314422036e-1f) * z -
             3.33332819422e-1f) * z * x + x;
  float big = 1.0f - 2.0f / (xlat_expf(2.0f * ax) + 1.0f);
  return ax < 0.625f ? p : (x < 0.0f ? -big : big);
}

/* ---- one cell step for B rows ------------------------------------------------------------------------------------
 * G (1, 3, 4) and A, the floats per row that forward keeps for backward: RNN H (h'), GRU 4H (r, z, n, gh_n),
 * LSTM 5H (i, f, g, o, tanh c'). */
int rnn_cell_gates(int cell);
int rnn_cell_act_floats(int cell, int H);

/* h = the new state, c = the new cell state (LSTM; NULL otherwise), acts = what backward needs. gx is the input's
 * projection x W_ih^T + b_ih plus anything else the caller adds per step (an attention context's projection); the
 * recurrent product gh = h_prev W_hh^T + b_hh goes to scratch gh. h and c must not alias h_prev and c_prev (backward
 * needs the old state). */
void rnn_cell_forward(float *h /* (B,H) */, float *c /* (B,H) or NULL */, float *acts /* (B,A) */,
                      float *gh /* (B,G*H) scratch */, const float *gx /* (B,G*H) */, const float *h_prev /* (B,H) */,
                      const float *c_prev /* (B,H), LSTM only */, const float *W_hh /* (G*H,H) */,
                      const float *b_hh /* (G*H) */, int cell, int B, int H);
/* rnn_cell_forward's gate arithmetic for a caller that has the recurrent product gh = h_prev W_hh^T (without
 * b_hh) from elsewhere: the decoder's row-independent matmul_rows (kernels.h). */
void rnn_cell_gates_forward(float *h /* (B,H) */, float *c /* (B,H) or NULL */, float *acts /* (B,A) */,
                            const float *gx /* (B,G*H) */, const float *gh /* (B,G*H) */, const float *b_hh /* (G*H) */,
                            const float *h_prev /* (B,H) */, const float *c_prev /* (B,H), LSTM only */, int cell,
                            int B, int H);
/* dgx = (the gradient of gx, and so of b_ih and of whatever the caller added into gx); dh_prev +=, dc_prev += (LSTM;
 * NULL otherwise), dW_hh +=, db_hh +=. dh: the gradient of h; dc: of c (LSTM: what flows into c from the next step;
 * NULL = zero). scratch (B,G*H): GRU's gh gradient (it differs from dgx in the n block), LSTM's zero dc. */
void rnn_cell_backward(float *dgx /* (B,G*H) */, float *dh_prev /* (B,H) */, float *dc_prev /* (B,H) or NULL */,
                       float *dW_hh /* (G*H,H) */, float *db_hh /* (G*H) */, float *scratch /* (B,G*H) */,
                       const float *dh /* (B,H) */, const float *dc /* (B,H) or NULL */, const float *acts /* (B,A) */,
                       const float *h_prev /* (B,H) */, const float *c_prev /* (B,H), LSTM */,
                       const float *W_hh /* (G*H,H) */, int cell, int B, int H);
void rnn_cell_forward_ref(float *h, float *c, float *acts, const float *gx, const float *h_prev, const float *c_prev,
                          const float *W_hh, const float *b_hh, int cell, int B, int H);

/* ---- one layer, one direction, over a right-padded batch --------------------------------------------------------
 * keep (T,B): 1 at a sentence's real steps, 0 at padding (NULL: all real). As PyTorch's pack_padded_sequence /
 * pad_packed_sequence: a padded step leaves the state unchanged and writes out = 0, so h_last / c_last are the state
 * after each row's last real step; with reverse != 0 the steps run t = T-1 .. 0 and each row starts from h0 / c0 at
 * its last real step. h0 / c0 NULL: zeros. A row with no real step gets h_last = h0. x at padded steps must be finite
 * (its value does not matter).
 * The input projections of all T steps are one sgemm (T*B,I) x (I,G*H) into scratch; each step is then one sgemm
 * (B,H) x (H,G*H) and the gate loop. gx is not kept: backward needs only the cache, which holds per step the gate
 * activations (T,B,A), the state entering the step (T,B,H) and, for LSTM, the cell state entering it (T,B,H). */
size_t rnn_layer_cache_floats(int cell, int B, int T, int nin, int H);
/* Floats of scratch for forward and for backward (the larger of the two; contents not kept between calls). */
size_t rnn_layer_scratch_floats(int cell, int B, int T, int nin, int H);
/* out: the hidden state at every real step, 0 at padded steps. h_last, c_last: the final states (each may be NULL;
 * c_last is used by LSTM only). */
void rnn_layer_forward(float *out /* (T,B,H) */, float *h_last /* (B,H) or NULL */, float *c_last /* (B,H) or NULL */,
                       float *cache /* rnn_layer_cache_floats */, float *scratch /* rnn_layer_scratch_floats */,
                       const float *x /* (T,B,I) */, const float *h0 /* (B,H) or NULL */,
                       const float *c0 /* (B,H) or NULL */, const float *W_ih /* (G*H,I) */,
                       const float *b_ih /* (G*H) */, const float *W_hh /* (G*H,H) */, const float *b_hh /* (G*H) */,
                       const uint8_t *keep /* (T,B) or NULL */, int reverse, int cell, int B, int T, int nin, int H);
/* dx +=, dh0 +=, dc0 += (each skipped when NULL), dW_ih +=, db_ih +=, dW_hh +=, db_hh +=. dout, dh_last, dc_last:
 * the gradients of out, h_last and c_last (each NULL = zero; dout at padded steps is ignored). cache as forward
 * left it; x, W_ih, W_hh, keep, reverse and the dimensions as given to forward. The weight gradients are summed over
 * all steps in one sgemm each. */
void rnn_layer_backward(float *dx /* (T,B,I) or NULL */, float *dh0 /* (B,H) or NULL */,
                        float *dc0 /* (B,H) or NULL */, float *dW_ih /* (G*H,I) */, float *db_ih /* (G*H) */,
                        float *dW_hh /* (G*H,H) */, float *db_hh /* (G*H) */,
                        float *scratch /* rnn_layer_scratch_floats */, const float *dout /* (T,B,H) or NULL */,
                        const float *dh_last /* (B,H) or NULL */, const float *dc_last /* (B,H) or NULL */,
                        const float *cache, const float *x /* (T,B,I) */, const float *W_ih /* (G*H,I) */,
                        const float *W_hh /* (G*H,H) */, const uint8_t *keep /* (T,B) or NULL */, int reverse,
                        int cell, int B, int T, int nin, int H);

/* ---- attention of a recurrent decoder over the encoder memory ---------------------------------------------------
 * N query rows; row r belongs to sentence sent[r] and attends over that sentence's S keys and values, stored
 * BATCH-major (B,S,.) (B is implied by sent). Keys whose id in src_ids is XLAT_PAD are masked (src_ids NULL: none);
 * a row whose keys are all masked gets zero probabilities and a zero context. No 1/sqrt(d) scaling.
 *   RNN_ATTN_DOT      score_j = q . keys_j                       (Luong et al. 2015, "dot"; Dk = query width)
 *   RNN_ATTN_GENERAL  score_j = q . (W_a mem_j): the caller passes keys = memory W_a^T (linear_forward), so the
 *                     kernel is dot's; its linear_backward takes dkeys to dW_a and the memory
 *   RNN_ATTN_ADDITIVE score_j = v . tanh(qa + keys_j)            (Bahdanau et al. 2015): the caller passes
 *                     qa = q W_q^T (N,A) for q and keys = memory U^T (B,S,A); Dk = A
 * p = softmax over j of the scores; ctx = sum_j p_j values_j. */
void rnn_attention_forward(float *ctx /* (N,Dv) */, float *probs /* (N,S) */, const float *q /* (N,Dk) */,
                           const float *keys /* (B,S,Dk) */, const float *values /* (B,S,Dv) */,
                           const float *v /* (Dk), additive only, else NULL */, const int32_t *src_ids /* (B,S) */,
                           const int32_t *sent /* (N) */, int kind, int N, int S, int Dk, int Dv);
/* dq +=, dkeys +=, dvalues +=, dv += (additive only; NULL otherwise). dkeys may be dvalues (Luong's dot over the
 * memory itself: keys = values = memory). dctx: the gradient of ctx; probs as forward wrote them. scratch holds S
 * floats. Additive recomputes tanh(qa + keys_j) rather than caching N*S*A floats. */
void rnn_attention_backward(float *dq /* (N,Dk) */, float *dkeys /* (B,S,Dk) */, float *dvalues /* (B,S,Dv) */,
                            float *dv /* (Dk) or NULL */, float *scratch /* (S) */, const float *dctx /* (N,Dv) */,
                            const float *probs /* (N,S) */, const float *q /* (N,Dk) */,
                            const float *keys /* (B,S,Dk) */, const float *values /* (B,S,Dv) */,
                            const float *v /* (Dk) or NULL */, const int32_t *src_ids /* (B,S) */,
                            const int32_t *sent /* (N) */, int kind, int N, int S, int Dk, int Dv);
void rnn_attention_forward_ref(float *ctx, float *probs, const float *q, const float *keys, const float *values,
                               const float *v, const int32_t *src_ids, const int32_t *sent, int kind, int N, int S,
                               int Dk, int Dv);

#endif

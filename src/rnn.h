/* rnn.h - what the recurrent encoder-decoders' files share (rnn_params.c: config checks, parameter layout and
 * views; rnn_train.c: the training forward/backward; rnn_decode.c: the cached decoder). The cells and attention
 * kernels are rnn_ops.c's. The rest of the library reaches these models only through their arch tables (arch.h).
 *
 * The model (E emb_dim, H d_model, D = H/2 with a bidirectional encoder else H, cell = Elman tanh, GRU or LSTM as
 * PyTorch's nn.RNN / nn.GRU / nn.LSTM; dropout p = cfg dropout on the marked places, none in eval mode):
 *
 *   encoder  x0 = drop(src_embed[src]) (E); layer l runs a forward cell of D units (and a backward one) over the
 *            sentence's real tokens, as pack_padded_sequence does; its output, both directions concatenated (H),
 *            is the next layer's input after drop(); its final state (and LSTM cell state), both directions
 *            concatenated, is fin_l (H). The top layer's outputs are the memory m_1..m_S (H).
 *   decoder  enc_layers == dec_layers: decoder layer l starts from fin_l (its LSTM cell state from the encoder's).
 *            At step t, with e_t = drop(tgt_embed[y_{t-1}]) (E; y_0 = BOS) and s_t^l layer l's state:
 *              layer 0's input is e_t plus an extra input z_t (H) through its own matrix feed_w:
 *                none      z_t = fin_top, the context vector at every step (Cho et al. 2014)
 *                additive  z_t = c_t, attention with the previous top state s_{t-1}^top as query (Bahdanau et al.
 *                          2015), computed before the step
 *                dot / general with input feeding: z_t = o_{t-1} (o_0 = 0) (Luong et al. 2015); without: no z_t
 *              layer l > 0's input is drop(s_t^(l-1));
 *              dot / general: c_t = attention with s_t^top as query (Luong), computed after the step; none: c_t =
 *              fin_top;
 *              o_t = drop(tanh(out_w [s_t^top; c_t]))  (H), the attentional vector; logits = o_t out_proj^T.
 *   attention over the memory, padding masked, no scaling: dot  score_j = s . m_j;  general  s . (attn_w m_j);
 *            additive  attn_v . tanh(attn_w s + attn_u m_j); p = softmax(score), c = sum_j p_j m_j.
 *
 * Parameters, in table order (names are the checkpoints' and golden files' keys; PyTorch's layouts):
 *   the token tables of xlat_embedding_params (arch.h): "src_embed" (Vs,E), "tgt_embed" (V,E), "out_proj" (V,H),
 *   or when tied (then E == H) "embed" for all three, or "src_embed" and "tgt_embed" = out_proj (separate
 *   vocabularies);
 *   per encoder layer l and direction d (fwd, bwd): "enc.l.d.w_ih" (G*D, E or H), ".b_ih" (G*D), ".w_hh" (G*D,D),
 *   ".b_hh" (G*D);
 *   per decoder layer l: "dec.l.w_ih" (G*H, E or H), ".b_ih" (G*H), ".w_hh" (G*H,H), ".b_hh" (G*H);
 *   "dec.feed_w" (G*H,H) when layer 0 has an extra input; "attn.w" (H,H) for general and additive, "attn.u" (H,H)
 *   and "attn.v" (1,H) for additive; "out.w" (H,2H).
 */
#ifndef XLAT_RNN_H
#define XLAT_RNN_H

#include "arch.h"

/* One recurrent layer's weights (PyTorch's weight_ih_l0 etc.). */
typedef struct {
  float *w_ih, *b_ih, *w_hh, *b_hh;
} rnn_layer;

typedef struct {
  float *src_embed, *tgt_embed, *out_proj; /* (Vs,E) (V,E) (V,H); shared when tied (xlat_embedding_params) */
  rnn_layer *enc;                          /* [enc_layers * dirs]: layer l direction d at l * dirs + d */
  rnn_layer *dec;                          /* [dec_layers] */
  float *feed_w;                           /* (G*H,H) or NULL */
  float *attn_w, *attn_u, *attn_v;         /* (H,H) (H,H) (H), or NULL where the attention has none */
  float *out_w;                            /* (H,2H) */
} rnn_weights;

/* The cell of an architecture (rnn_ops.h's RNN_CELL_*) and the sizes every file derives from the config. */
typedef struct {
  int cell, G;   /* cell kind, gates */
  int E, H, D;   /* embedding, decoder hidden, encoder hidden per direction */
  int dirs;      /* 1 or 2 */
  int feed;      /* layer 0 of the decoder has the extra input z_t */
  int luong;     /* dot or general: attention after the step, on s_t */
} rnn_dims;

rnn_dims rnn_dims_of(const xlat_config *cfg);

/* rnn_params.c */
xlat_status rnn_check(const xlat_config *cfg);
size_t rnn_params(const xlat_config *cfg, xlat_tensor_info *out, size_t cap);
void *rnn_bind(const xlat_config *cfg, float *block, int tables);
void rnn_unbind(void *w);
float *rnn_out_proj(void *w);
int32_t rnn_out_dim(const xlat_config *cfg);
/* rnn_train.c */
xlat_status rnn_acts_new(const xlat_config *cfg, int32_t max_tokens, int32_t max_len, void **out);
void rnn_acts_free(void *acts);
const float *rnn_forward(void *acts, const xlat_pass *ps, const void *w);
void rnn_backward(void *acts, const xlat_pass *ps, const void *w, void *gw, float *dout);
/* rnn_decode.c */
void *rnn_panels_new(const xlat_model *m);
void rnn_panels_pack(void *panels, const xlat_model *m);
void rnn_panels_free(void *panels);
xlat_status rnn_dec_new(const xlat_model *m, const void *panels, xlat_dec_shape cap, void **out);
void rnn_dec_free(void *dec);
void rnn_encode(void *dec, const int32_t *src, int32_t B, int32_t S);
void rnn_step(void *dec, int32_t N, const int32_t *hyp_sent, const int32_t *tokens, int32_t pos, float *logprobs,
              float *attn);
void rnn_copy_row(void *dec, int32_t to, int32_t from, int32_t cached);
void rnn_state_bytes(const xlat_config *cfg, double *per_hyp_pos, double *per_src_pos, double *per_hyp);

#endif

/* transformer.h - what the Transformer's files share (transformer_params.c: parameter layout and views;
 * transformer_train.c: the training forward/backward; transformer_decode.c: the cached decoder). Vaswani et al.
 * 2017, post-norm or pre-norm, with sinusoidal, learned or relative positions (Shaw et al. 2018). The rest of the
 * library reaches it only through xlat_arch_transformer (arch.h). */
#ifndef XLAT_TRANSFORMER_H
#define XLAT_TRANSFORMER_H

#include "arch.h"

/* Every layer's weights as pointers into one block. Linear weights are (out,in) like PyTorch (y = x W^T + b).
 * Attention in_w is (3C,C) with rows [0,C) the query, [C,2C) the key and [2C,3C) the value projection (PyTorch's
 * nn.MultiheadAttention in_proj_weight); in_b (3C). Cross-attention uses the same packing: queries from the decoder
 * through rows [0,C), keys and values from the encoder output through rows [C,3C). */
typedef struct {
  float *in_w, *in_b, *out_w, *out_b; /* (3C,C) (3C) (C,C) (C) */
  /* Relative positions (Shaw et al. 2018), self-attention only: row r = clip(j - i, -K, K) + K is added to the key
   * (rel_k) and to the value (rel_v) of key j for query i, shared by the heads; NULL otherwise. */
  float *rel_k, *rel_v; /* (2K+1,D) (2K+1,D) */
} tf_attn;

typedef struct {
  tf_attn self_attn;
  tf_attn cross_attn; /* decoder layers only (NULL pointers in encoder layers) */
  float *ffn_w1, *ffn_b1;       /* (F,C) (F) */
  float *ffn_w2, *ffn_b2;       /* (C,F) (C) */
  /* norm1 after/before self-attention, norm2 after/before cross-attention (decoder only), norm3 after/before the
   * FFN (encoder layers use norm1 and norm3). */
  float *norm1_g, *norm1_b, *norm2_g, *norm2_b, *norm3_g, *norm3_b; /* (C) each */
} tf_layer;

typedef struct {
  float *src_embed; /* (Vs,C); shared with the next two when tied (xlat_embedding_params, arch.h) */
  float *tgt_embed; /* (V,C) */
  float *out_proj;  /* (V,C): logits = h out_proj^T, no bias */
  float *src_pos, *tgt_pos;  /* (max_len,C) learned positions, else NULL */
  tf_layer *enc;   /* [enc_layers] */
  tf_layer *dec;   /* [dec_layers] */
  float *enc_norm_g, *enc_norm_b, *dec_norm_g, *dec_norm_b; /* (C) final norms, pre-norm only (else NULL) */
  float *sinusoid; /* (max_len,C) fixed positional encoding of the model's view; NULL unless sinusoidal */
} tf_weights;

/* Positional encoding added at position pos (0 = first token) of the source (side 0) or target (side 1): the
 * learned row or the sinusoid PE(pos,2i) = sin(pos / 10000^(2i/C)), PE(pos,2i+1) = cos(pos / 10000^(2i/C));
 * NULL with relative positions (nothing is added: the self-attentions see distances instead). */
const float *tf_position(const tf_weights *w, const xlat_config *cfg, int side, int32_t pos); /* (C) */

/* transformer_params.c */
size_t tf_params(const xlat_config *cfg, xlat_tensor_info *out, size_t cap);
void *tf_bind(const xlat_config *cfg, float *block, int tables);
void tf_unbind(void *w);
float *tf_out_proj(void *w);
int32_t tf_out_dim(const xlat_config *cfg);
/* transformer_train.c */
xlat_status tf_acts_new(const xlat_config *cfg, int32_t max_tokens, int32_t max_len, void **out);
void tf_acts_free(void *acts);
const float *tf_forward(void *acts, const xlat_pass *ps, const void *w);
void tf_backward(void *acts, const xlat_pass *ps, const void *w, void *gw, float *dout);
/* transformer_decode.c */
void *tf_panels_new(const xlat_model *m);
void tf_panels_pack(void *panels, const xlat_model *m);
void tf_panels_free(void *panels);
xlat_status tf_dec_new(const xlat_model *m, const void *panels, xlat_dec_shape cap, void **out);
void tf_dec_free(void *dec);
void tf_encode(void *dec, const int32_t *src, int32_t B, int32_t S);
void tf_step(void *dec, int32_t N, const int32_t *hyp_sent, const int32_t *tokens, int32_t pos, float *logprobs,
             float *attn);
void tf_copy_row(void *dec, int32_t to, int32_t from, int32_t cached);
void tf_state_bytes(const xlat_config *cfg, double *per_hyp_pos, double *per_src_pos, double *per_hyp);

#endif

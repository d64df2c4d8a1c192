/* transformer_params.c - the Transformer's config checks, its parameter layout (a fixed-order table of named
 * tensors in one contiguous block), the per-layer pointer view (tf_weights) of any such block (weights, gradients,
 * Adam moments, EMA), and its entry in the architecture table. Order: embeddings (xlat_embedding_params, arch.h),
 * learned positions, encoder layers, encoder final norm (pre-norm), decoder
 * layers, decoder final norm (pre-norm). With relative positions each self-attention's tensors are followed by its
 * relative-position embeddings of keys and values, "self_attn.rel_k" and "self_attn.rel_v" (2K+1, D). */
#include <math.h>
#include <string.h>

#include "transformer.h"

static xlat_status tf_check(const xlat_config *c) {
  if (c->n_heads < 1 || c->d_model % c->n_heads != 0)
    return xlat_fail(XLAT_ERR_ARG, "model config: n_heads %d must be >= 1 and divide d_model %d", c->n_heads,
                     c->d_model);
  if (c->d_ff < 1 || c->d_ff > 1 << 20)
    return xlat_fail(XLAT_ERR_ARG, "model config: d_ff %d out of range (expected 1..1048576)", c->d_ff);
  if (c->pre_norm != 0 && c->pre_norm != 1)
    return xlat_fail(XLAT_ERR_ARG, "model config: pre_norm %d (expected 0 or 1)", c->pre_norm);
  if (c->activation != XLAT_ACT_RELU && c->activation != XLAT_ACT_GELU)
    return xlat_fail(XLAT_ERR_ARG, "model config: activation %d (expected 0 relu or 1 gelu)", c->activation);
  if (c->positions != XLAT_POS_SINUSOIDAL && c->positions != XLAT_POS_LEARNED && c->positions != XLAT_POS_RELATIVE)
    return xlat_fail(XLAT_ERR_ARG, "model config: positions %d (expected 0 sinusoidal, 1 learned or 2 relative)",
                     c->positions);
  if (c->positions == XLAT_POS_RELATIVE && (c->rel_clip < 1 || c->rel_clip > 65536))
    return xlat_fail(XLAT_ERR_ARG, "model config: rel_clip %d out of range with relative positions (expected "
                     "1..65536)", c->rel_clip);
  if (c->positions != XLAT_POS_RELATIVE && c->rel_clip != 0)
    return xlat_fail(XLAT_ERR_ARG, "model config: rel_clip %d, but relative positions are off (expected 0)",
                     c->rel_clip);
  if (c->emb_dim != 0 || c->attention != 0 || c->bidirectional != 0 || c->input_feeding != 0)
    return xlat_fail(XLAT_ERR_ARG, "model config: emb_dim, attention, bidirectional and input_feeding are options "
                     "of the recurrent architectures (0 for the Transformer)");
  return XLAT_OK;
}

/* rel: the relative-position embeddings' rows (2K+1; 0 for none) and width D. */
static void add_attn(xlat_table *t, const char *p, int C, int rel, int D) {
  xlat_table_add(t, p, ".in_w", 2, 3 * C, C);
  xlat_table_add(t, p, ".in_b", 1, 3 * C, 1);
  xlat_table_add(t, p, ".out_w", 2, C, C);
  xlat_table_add(t, p, ".out_b", 1, C, 1);
  if (rel) {
    xlat_table_add(t, p, ".rel_k", 2, rel, D);
    xlat_table_add(t, p, ".rel_v", 2, rel, D);
  }
}

/* Rows of each relative-position table: one per clipped distance -K..K; 0 without relative positions. */
static int rel_rows(const xlat_config *cfg) {
  return cfg->positions == XLAT_POS_RELATIVE ? 2 * cfg->rel_clip + 1 : 0;
}

static void add_norm(xlat_table *t, const char *p, int C) {
  xlat_table_add(t, p, ".g", 1, C, 1);
  xlat_table_add(t, p, ".b", 1, C, 1);
}

static void add_layer(xlat_table *t, const char *stack, int l, int decoder, const xlat_config *cfg) {
  int C = cfg->d_model, F = cfg->d_ff;
  char p[24], name[40];
  snprintf(p, sizeof p, "%s.%d", stack, l);
  snprintf(name, sizeof name, "%s.self_attn", p);
  add_attn(t, name, C, rel_rows(cfg), C / cfg->n_heads);
  snprintf(name, sizeof name, "%s.norm1", p);
  add_norm(t, name, C);
  if (decoder) {
    snprintf(name, sizeof name, "%s.cross_attn", p);
    add_attn(t, name, C, 0, 0);
    snprintf(name, sizeof name, "%s.norm2", p);
    add_norm(t, name, C);
  }
  xlat_table_add(t, p, ".ffn.w1", 2, F, C);
  xlat_table_add(t, p, ".ffn.b1", 1, F, 1);
  xlat_table_add(t, p, ".ffn.w2", 2, C, F);
  xlat_table_add(t, p, ".ffn.b2", 1, C, 1);
  snprintf(name, sizeof name, "%s.norm3", p);
  add_norm(t, name, C);
}

size_t tf_params(const xlat_config *cfg, xlat_tensor_info *out, size_t cap) {
  xlat_table t = {out, cap, 0, 0};
  int V = cfg->vocab_size, Vs = xlat_config_src_vocab(cfg), C = cfg->d_model;
  xlat_embedding_params(&t, cfg, Vs, V, C, C);
  if (cfg->positions == XLAT_POS_LEARNED) {
    xlat_table_add(&t, "src_pos", "", 2, cfg->max_len, C);
    xlat_table_add(&t, "tgt_pos", "", 2, cfg->max_len, C);
  }
  for (int l = 0; l < cfg->enc_layers; l++) add_layer(&t, "enc", l, 0, cfg);
  if (cfg->pre_norm) add_norm(&t, "enc.norm", C);
  for (int l = 0; l < cfg->dec_layers; l++) add_layer(&t, "dec", l, 1, cfg);
  if (cfg->pre_norm) add_norm(&t, "dec.norm", C);
  return t.n;
}

static void bind_attn(tf_attn *a, float **p, int C, int rel, int D) {
  a->in_w = *p, *p += 3 * (size_t)C * C;
  a->in_b = *p, *p += 3 * (size_t)C;
  a->out_w = *p, *p += (size_t)C * C;
  a->out_b = *p, *p += C;
  if (rel) {
    a->rel_k = *p, *p += (size_t)rel * D;
    a->rel_v = *p, *p += (size_t)rel * D;
  }
}

static void bind_layer(tf_layer *L, float **p, int decoder, const xlat_config *cfg) {
  int C = cfg->d_model, F = cfg->d_ff;
  memset(L, 0, sizeof *L);
  bind_attn(&L->self_attn, p, C, rel_rows(cfg), C / cfg->n_heads);
  L->norm1_g = *p, *p += C;
  L->norm1_b = *p, *p += C;
  if (decoder) {
    bind_attn(&L->cross_attn, p, C, 0, 0);
    L->norm2_g = *p, *p += C;
    L->norm2_b = *p, *p += C;
  }
  L->ffn_w1 = *p, *p += (size_t)F * C;
  L->ffn_b1 = *p, *p += F;
  L->ffn_w2 = *p, *p += (size_t)C * F;
  L->ffn_b2 = *p, *p += C;
  L->norm3_g = *p, *p += C;
  L->norm3_b = *p, *p += C;
}

void tf_unbind(void *view) {
  tf_weights *w = view;
  if (!w) return;
  free(w->enc);
  free(w->dec);
  free(w->sinusoid);
  free(w);
}

void *tf_bind(const xlat_config *cfg, float *block, int tables) {
  int C = cfg->d_model, sinusoid = tables && cfg->positions == XLAT_POS_SINUSOIDAL;
  tf_weights *w = calloc(1, sizeof *w);
  if (!w) return NULL;
  w->enc = calloc((size_t)cfg->enc_layers + 1, sizeof *w->enc);
  w->dec = calloc((size_t)cfg->dec_layers + 1, sizeof *w->dec);
  if (sinusoid) w->sinusoid = xlat_alloc_floats((size_t)cfg->max_len * C);
  if (!w->enc || !w->dec || (sinusoid && !w->sinusoid)) {
    tf_unbind(w);
    return NULL;
  }
  float *p = xlat_embedding_bind(cfg, block, C, C, &w->src_embed, &w->tgt_embed, &w->out_proj);
  if (cfg->positions == XLAT_POS_LEARNED) {
    w->src_pos = p, p += (size_t)cfg->max_len * C;
    w->tgt_pos = p, p += (size_t)cfg->max_len * C;
  }
  for (int l = 0; l < cfg->enc_layers; l++) bind_layer(&w->enc[l], &p, 0, cfg);
  if (cfg->pre_norm) {
    w->enc_norm_g = p, p += C;
    w->enc_norm_b = p, p += C;
  }
  for (int l = 0; l < cfg->dec_layers; l++) bind_layer(&w->dec[l], &p, 1, cfg);
  if (cfg->pre_norm) {
    w->dec_norm_g = p, p += C;
    w->dec_norm_b = p, p += C;
  }
  XLAT_ASSERT((size_t)(p - block) == xlat_param_count(cfg));
  /* PE(pos,2i) = sin(pos / 10000^(2i/C)), PE(pos,2i+1) = cos(pos / 10000^(2i/C)), in double then rounded */
  if (w->sinusoid)
    for (int pos = 0; pos < cfg->max_len; pos++)
      for (int i = 0; 2 * i < C; i++) {
        double angle = pos / pow(10000.0, 2.0 * i / C);
        w->sinusoid[(size_t)pos * C + 2 * i] = (float)sin(angle);
        if (2 * i + 1 < C) w->sinusoid[(size_t)pos * C + 2 * i + 1] = (float)cos(angle);
      }
  return w;
}

float *tf_out_proj(void *w) { return ((tf_weights *)w)->out_proj; }
int32_t tf_out_dim(const xlat_config *cfg) { return cfg->d_model; }

const float *tf_position(const tf_weights *w, const xlat_config *cfg, int side, int32_t pos) {
  if (cfg->positions == XLAT_POS_RELATIVE) return NULL;
  const float *table = cfg->positions == XLAT_POS_LEARNED ? (side ? w->tgt_pos : w->src_pos) : w->sinusoid;
  return table + (size_t)pos * cfg->d_model;
}

const xlat_arch xlat_arch_transformer = {
    .name = "transformer",
    .check = tf_check,
    .params = tf_params,
    .bind = tf_bind,
    .unbind = tf_unbind,
    .out_proj = tf_out_proj,
    .out_dim = tf_out_dim,
    .acts_new = tf_acts_new,
    .acts_free = tf_acts_free,
    .forward = tf_forward,
    .backward = tf_backward,
    .panels_new = tf_panels_new,
    .panels_pack = tf_panels_pack,
    .panels_free = tf_panels_free,
    .dec_new = tf_dec_new,
    .dec_free = tf_dec_free,
    .encode = tf_encode,
    .step = tf_step,
    .copy_row = tf_copy_row,
    .state_bytes = tf_state_bytes,
};

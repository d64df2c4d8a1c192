/* params.c - the parameter layout: a fixed-order table of named tensors in one contiguous block, and the binding
 * of the per-layer pointer struct (xlat_weights) to any such block (weights, gradients, Adam moments, EMA).
 * Order: embeddings ("embed" when tied, else "src_embed", "tgt_embed", "out_proj"), learned positions, encoder
 * layers, encoder final norm (pre-norm), decoder layers, decoder final norm (pre-norm). */
#include <string.h>

#include "internal.h"

typedef struct {
  xlat_tensor_info *out;
  size_t cap, n, offset;
} table;

/* Appends tensor prefix+suffix (names stay far below the 48-byte field). */
static void add(table *t, const char *prefix, const char *suffix, int ndim, int rows, int cols) {
  if (t->out && t->n < t->cap) {
    xlat_tensor_info *e = &t->out[t->n];
    size_t lp = strlen(prefix), ls = strlen(suffix);
    XLAT_ASSERT(lp + ls < sizeof e->name);
    memcpy(e->name, prefix, lp);
    memcpy(e->name + lp, suffix, ls + 1);
    e->offset = t->offset;
    e->ndim = ndim;
    e->rows = rows;
    e->cols = cols;
  }
  t->n++;
  t->offset += (size_t)rows * cols;
}

static void add_attn(table *t, const char *p, int C) {
  add(t, p, ".in_w", 2, 3 * C, C);
  add(t, p, ".in_b", 1, 3 * C, 1);
  add(t, p, ".out_w", 2, C, C);
  add(t, p, ".out_b", 1, C, 1);
}

static void add_norm(table *t, const char *p, int C) {
  add(t, p, ".g", 1, C, 1);
  add(t, p, ".b", 1, C, 1);
}

static void add_layer(table *t, const char *stack, int l, int decoder, const xlat_config *cfg) {
  int C = cfg->d_model, F = cfg->d_ff;
  char p[24], name[40];
  snprintf(p, sizeof p, "%s.%d", stack, l);
  snprintf(name, sizeof name, "%s.self_attn", p);
  add_attn(t, name, C);
  snprintf(name, sizeof name, "%s.norm1", p);
  add_norm(t, name, C);
  if (decoder) {
    snprintf(name, sizeof name, "%s.cross_attn", p);
    add_attn(t, name, C);
    snprintf(name, sizeof name, "%s.norm2", p);
    add_norm(t, name, C);
  }
  add(t, p, ".ffn.w1", 2, F, C);
  add(t, p, ".ffn.b1", 1, F, 1);
  add(t, p, ".ffn.w2", 2, C, F);
  add(t, p, ".ffn.b2", 1, C, 1);
  snprintf(name, sizeof name, "%s.norm3", p);
  add_norm(t, name, C);
}

static table walk(const xlat_config *cfg, xlat_tensor_info *out, size_t cap) {
  table t = {out, cap, 0, 0};
  int V = cfg->vocab_size, C = cfg->d_model;
  if (cfg->tied_embeddings) {
    add(&t, "embed", "", 2, V, C);
  } else {
    add(&t, "src_embed", "", 2, V, C);
    add(&t, "tgt_embed", "", 2, V, C);
    add(&t, "out_proj", "", 2, V, C);
  }
  if (cfg->learned_positions) {
    add(&t, "src_pos", "", 2, cfg->max_len, C);
    add(&t, "tgt_pos", "", 2, cfg->max_len, C);
  }
  for (int l = 0; l < cfg->enc_layers; l++) add_layer(&t, "enc", l, 0, cfg);
  if (cfg->pre_norm) add_norm(&t, "enc.norm", C);
  for (int l = 0; l < cfg->dec_layers; l++) add_layer(&t, "dec", l, 1, cfg);
  if (cfg->pre_norm) add_norm(&t, "dec.norm", C);
  return t;
}

size_t xlat_param_table(const xlat_config *cfg, xlat_tensor_info *out, size_t cap) { return walk(cfg, out, cap).n; }

size_t xlat_param_count(const xlat_config *cfg) { return walk(cfg, NULL, 0).offset; }

static void bind_attn(xlat_attn_weights *a, float **p, int C) {
  a->in_w = *p, *p += 3 * (size_t)C * C;
  a->in_b = *p, *p += 3 * (size_t)C;
  a->out_w = *p, *p += (size_t)C * C;
  a->out_b = *p, *p += C;
}

static void bind_layer(xlat_layer_weights *L, float **p, int decoder, int C, int F) {
  memset(L, 0, sizeof *L);
  bind_attn(&L->self_attn, p, C);
  L->norm1_g = *p, *p += C;
  L->norm1_b = *p, *p += C;
  if (decoder) {
    bind_attn(&L->cross_attn, p, C);
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

xlat_status xlat_weights_bind(xlat_weights *w, const xlat_config *cfg, float *block) {
  int V = cfg->vocab_size, C = cfg->d_model, F = cfg->d_ff;
  memset(w, 0, sizeof *w);
  w->enc = calloc((size_t)cfg->enc_layers + 1, sizeof *w->enc);
  w->dec = calloc((size_t)cfg->dec_layers + 1, sizeof *w->dec);
  if (!w->enc || !w->dec) {
    xlat_weights_release(w);
    return xlat_fail(XLAT_ERR_NOMEM, "model: out of memory for the layer table");
  }
  float *p = block;
  if (cfg->tied_embeddings) {
    w->src_embed = w->tgt_embed = w->out_proj = p, p += (size_t)V * C;
  } else {
    w->src_embed = p, p += (size_t)V * C;
    w->tgt_embed = p, p += (size_t)V * C;
    w->out_proj = p, p += (size_t)V * C;
  }
  if (cfg->learned_positions) {
    w->src_pos = p, p += (size_t)cfg->max_len * C;
    w->tgt_pos = p, p += (size_t)cfg->max_len * C;
  }
  for (int l = 0; l < cfg->enc_layers; l++) bind_layer(&w->enc[l], &p, 0, C, F);
  if (cfg->pre_norm) {
    w->enc_norm_g = p, p += C;
    w->enc_norm_b = p, p += C;
  }
  for (int l = 0; l < cfg->dec_layers; l++) bind_layer(&w->dec[l], &p, 1, C, F);
  if (cfg->pre_norm) {
    w->dec_norm_g = p, p += C;
    w->dec_norm_b = p, p += C;
  }
  XLAT_ASSERT((size_t)(p - block) == xlat_param_count(cfg));
  return XLAT_OK;
}

void xlat_weights_release(xlat_weights *w) {
  free(w->enc);
  free(w->dec);
  w->enc = w->dec = NULL;
}

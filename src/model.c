/* model.c - configuration presets and checks, model allocation and initialization, and the training path: the
 * encoder-decoder forward pass as a list of kernel calls (ops.h) over one activation arena, and the backward pass as
 * the same list reversed. Vaswani et al. 2017 ("Attention Is All You Need"), with the pre-norm variant of
 * Wang et al. 2019 / Xiong et al. 2020 (layer norm inside each residual branch plus a final norm per stack).
 *
 * Each residual sublayer computes, from its input x and its function Fn (attention or feed-forward):
 *   post-norm: y = LN(x + dropout(Fn(x)))        pre-norm: y = x + dropout(Fn(LN(x)))
 * Batches are right-padded: padding keys are masked in encoder self-attention and cross-attention; the causal mask
 * alone protects the decoder (a real target position never sees a later, padded one). Incremental decoding is in
 * decoder.c and reuses these kernels.
 */
#include <math.h>
#include <string.h>
#include <zlib.h>

#include "ops.h"

/* ---- configuration --------------------------------------------------------------------------------------------- */

xlat_status xlat_config_preset(const char *name, xlat_config *out) {
  static const struct {
    const char *name;
    int32_t C, layers, H, F;
  } presets[] = {{"tiny", 128, 2, 4, 512}, {"small", 256, 3, 4, 1024}, {"base", 512, 6, 8, 2048},
                 {"big", 1024, 6, 16, 4096}};
  for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
    if (!name || strcmp(name, presets[i].name) != 0) continue;
    *out = (xlat_config){.arch = XLAT_ARCH_TRANSFORMER,
                         .vocab_size = 8000,
                         .d_model = presets[i].C,
                         .n_heads = presets[i].H,
                         .d_ff = presets[i].F,
                         .enc_layers = presets[i].layers,
                         .dec_layers = presets[i].layers,
                         .max_len = 256,
                         .pre_norm = 0,
                         .activation = XLAT_ACT_RELU,
                         .tied_embeddings = 1,
                         .learned_positions = 0,
                         .dropout = 0.1f,
                         .attn_dropout = 0.0f};
    return XLAT_OK;
  }
  return xlat_fail(XLAT_ERR_ARG, "unknown model preset \"%s\" (expected tiny, small, base or big)",
                   name ? name : "(null)");
}

static const char *const ARCH_NAMES[XLAT_N_ARCHS] = {"transformer"};

const char *xlat_arch_name(int32_t kind) { return kind >= 0 && kind < XLAT_N_ARCHS ? ARCH_NAMES[kind] : NULL; }

int32_t xlat_arch_by_name(const char *name) {
  for (int32_t k = 0; k < XLAT_N_ARCHS; k++)
    if (name && strcmp(name, ARCH_NAMES[k]) == 0) return k;
  return -1;
}

xlat_status xlat_config_check(const xlat_config *c) {
  if (!xlat_arch_name(c->arch))
    return xlat_fail(XLAT_ERR_ARG, "model config: architecture %d unknown (expected 0..%d)", c->arch, XLAT_N_ARCHS - 1);
  if (c->vocab_size < 4 || c->vocab_size > (1 << 24))
    return xlat_fail(XLAT_ERR_ARG, "model config: vocab_size %d out of range (expected 4..16777216)", c->vocab_size);
  if (c->d_model < 1 || c->d_model > 65536)
    return xlat_fail(XLAT_ERR_ARG, "model config: d_model %d out of range (expected 1..65536)", c->d_model);
  if (c->n_heads < 1 || c->d_model % c->n_heads != 0)
    return xlat_fail(XLAT_ERR_ARG, "model config: n_heads %d must be >= 1 and divide d_model %d", c->n_heads,
                     c->d_model);
  if (c->d_ff < 1 || c->d_ff > 1 << 20)
    return xlat_fail(XLAT_ERR_ARG, "model config: d_ff %d out of range (expected 1..1048576)", c->d_ff);
  if (c->enc_layers < 1 || c->enc_layers > 1000 || c->dec_layers < 1 || c->dec_layers > 1000)
    return xlat_fail(XLAT_ERR_ARG, "model config: enc_layers %d / dec_layers %d out of range (expected 1..1000)",
                     c->enc_layers, c->dec_layers);
  if (c->max_len < 1 || c->max_len > 65536)
    return xlat_fail(XLAT_ERR_ARG, "model config: max_len %d out of range (expected 1..65536)", c->max_len);
  if (c->pre_norm != 0 && c->pre_norm != 1)
    return xlat_fail(XLAT_ERR_ARG, "model config: pre_norm %d (expected 0 or 1)", c->pre_norm);
  if (c->activation != XLAT_ACT_RELU && c->activation != XLAT_ACT_GELU)
    return xlat_fail(XLAT_ERR_ARG, "model config: activation %d (expected 0 relu or 1 gelu)", c->activation);
  if (c->tied_embeddings != 0 && c->tied_embeddings != 1)
    return xlat_fail(XLAT_ERR_ARG, "model config: tied_embeddings %d (expected 0 or 1)", c->tied_embeddings);
  if (c->learned_positions != 0 && c->learned_positions != 1)
    return xlat_fail(XLAT_ERR_ARG, "model config: learned_positions %d (expected 0 or 1)", c->learned_positions);
  if (!(c->dropout >= 0.0f && c->dropout < 1.0f))
    return xlat_fail(XLAT_ERR_ARG, "model config: dropout %g out of range (expected 0 <= p < 1)", c->dropout);
  if (!(c->attn_dropout >= 0.0f && c->attn_dropout < 1.0f))
    return xlat_fail(XLAT_ERR_ARG, "model config: attn_dropout %g out of range (expected 0 <= p < 1)",
                     c->attn_dropout);
  return XLAT_OK;
}

/* ---- model ----------------------------------------------------------------------------------------------------- */

/* 64-byte aligned, zeroed block of n floats (for sgemm and vector loads). */
float *xlat_alloc_floats(size_t n) {
  size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
  float *p = aligned_alloc(64, bytes ? bytes : 64);
  if (p) memset(p, 0, bytes);
  return p;
}

xlat_status xlat_model_alloc(const xlat_config *cfg, xlat_model **out) {
  *out = NULL;
  xlat_status st = xlat_config_check(cfg);
  if (st != XLAT_OK) return st;
  xlat_model *m = calloc(1, sizeof *m);
  if (!m) return xlat_fail(XLAT_ERR_NOMEM, "model: out of memory");
  m->cfg = *cfg;
  pthread_mutex_init(&m->panels_lock, NULL);
  m->n_params = xlat_param_count(cfg);
  m->params = xlat_alloc_floats(m->n_params);
  if (!m->params) {
    size_t n = m->n_params;
    xlat_model_free(m);
    return xlat_fail(XLAT_ERR_NOMEM, "model: out of memory for %zu parameters", n);
  }
  if ((st = xlat_weights_bind(&m->w, cfg, m->params)) != XLAT_OK) {
    xlat_model_free(m);
    return st;
  }
  if (!cfg->learned_positions) {
    int C = cfg->d_model;
    m->sinusoid = xlat_alloc_floats((size_t)cfg->max_len * C);
    if (!m->sinusoid) {
      xlat_model_free(m);
      return xlat_fail(XLAT_ERR_NOMEM, "model: out of memory for the position table");
    }
    /* PE(pos,2i) = sin(pos / 10000^(2i/C)), PE(pos,2i+1) = cos(pos / 10000^(2i/C)), in double then rounded */
    for (int pos = 0; pos < cfg->max_len; pos++)
      for (int i = 0; 2 * i < C; i++) {
        double angle = pos / pow(10000.0, 2.0 * i / C);
        m->sinusoid[(size_t)pos * C + 2 * i] = (float)sin(angle);
        if (2 * i + 1 < C) m->sinusoid[(size_t)pos * C + 2 * i + 1] = (float)cos(angle);
      }
  }
  *out = m;
  return XLAT_OK;
}

xlat_status xlat_model_new(const xlat_config *cfg, uint64_t seed, xlat_model **out) {
  xlat_status st = xlat_model_alloc(cfg, out);
  if (st != XLAT_OK) return st;
  xlat_model *m = *out;
  size_t n = xlat_param_table(cfg, NULL, 0);
  xlat_tensor_info *tab = malloc(n * sizeof *tab);
  if (!tab) {
    xlat_model_free(m);
    *out = NULL;
    return xlat_fail(XLAT_ERR_NOMEM, "model: out of memory");
  }
  xlat_param_table(cfg, tab, n);
  xlat_rng rng;
  xlat_rng_seed(&rng, seed);
  float emb_std = 1.0f / sqrtf((float)cfg->d_model);
  for (size_t i = 0; i < n; i++) {
    float *p = m->params + tab[i].offset;
    size_t count = (size_t)tab[i].rows * tab[i].cols;
    size_t len = strlen(tab[i].name);
    if (strstr(tab[i].name, "embed") || strcmp(tab[i].name, "out_proj") == 0 || strstr(tab[i].name, "_pos")) {
      for (size_t j = 0; j < count; j++) p[j] = emb_std * xlat_rng_normal(&rng);
    } else if (tab[i].ndim == 2) {
      /* Xavier uniform; a packed (3C,C) attention input is three (C,C) matrices */
      int fan_out = strstr(tab[i].name, ".in_w") ? tab[i].cols : tab[i].rows;
      float bound = sqrtf(6.0f / (float)(fan_out + tab[i].cols));
      for (size_t j = 0; j < count; j++) p[j] = bound * (2.0f * xlat_rng_uniform(&rng) - 1.0f);
    } else if (len > 2 && strcmp(tab[i].name + len - 2, ".g") == 0) {
      for (size_t j = 0; j < count; j++) p[j] = 1.0f;
    } /* biases and norm offsets stay 0 */
  }
  free(tab);
  return XLAT_OK;
}

void xlat_model_free(xlat_model *m) {
  if (!m) return;
  xlat_weights_release(&m->w);
  free(m->params);
  free(m->sinusoid);
  xlat_panels_free(m->panels);
  pthread_mutex_destroy(&m->panels_lock);
  free(m);
}

const xlat_config *xlat_model_config(const xlat_model *m) { return &m->cfg; }
size_t xlat_model_num_params(const xlat_model *m) { return m->n_params; }
uint64_t xlat_model_tokenizer_checksum(const xlat_model *m) { return m->tokenizer_checksum; }
void xlat_model_set_tokenizer_checksum(xlat_model *m, uint64_t checksum) { m->tokenizer_checksum = checksum; }

uint32_t xlat_model_checksum(const xlat_model *m) {
  return (uint32_t)crc32_z(0, (const unsigned char *)m->params, m->n_params * sizeof(float));
}

xlat_status xlat_model_set_dropout(xlat_model *m, float dropout, float attn_dropout) {
  if (!(dropout >= 0.0f && dropout < 1.0f && attn_dropout >= 0.0f && attn_dropout < 1.0f))
    return xlat_fail(XLAT_ERR_ARG, "dropout %g and attention dropout %g, expected both in [0, 1)", (double)dropout,
                     (double)attn_dropout);
  m->cfg.dropout = dropout;
  m->cfg.attn_dropout = attn_dropout;
  return XLAT_OK;
}

const float *xlat_model_position(const xlat_model *m, int side, int32_t pos) {
  const float *table = m->cfg.learned_positions ? (side ? m->w.tgt_pos : m->w.src_pos) : m->sinusoid;
  return table + (size_t)pos * m->cfg.d_model;
}

/* ---- activation arena ------------------------------------------------------------------------------------------ */

typedef struct {
  const float *x;           /* the sublayer's input (set by the forward pass) */
  float *ln, *mean, *rstd;  /* layer norm output and statistics */
  float *r;                 /* x + dropout(Fn(.)) */
  uint8_t *mask;            /* residual dropout */
} sub_acts;

typedef struct {
  float *q;       /* self: packed QKV (N,3C); cross: queries (N,C) */
  float *kv;      /* cross only: packed K/V of the encoder output (Ns,2C) */
  float *att;     /* heads' outputs before the output projection (N,C) */
  float *probs;   /* (B,H,T,S) */
  uint8_t *mask;  /* attention dropout (B,H,T,S), NULL when the config has none */
} attn_acts;

typedef struct {
  float *f, *g;   /* W1 x + b1 (N,F); its activation after dropout (N,F) (g == f with ReLU: in place) */
  uint8_t *mask;  /* (N,F) with dropout (ReLU backward reads the mask off g instead) */
} ffn_acts;

typedef struct {
  sub_acts s1, s2, s3; /* around self-attention, cross-attention (decoder), feed-forward */
  attn_acts self, cross;
  ffn_acts ffn;
} layer_acts;

struct xlat_arena {
  int32_t max_tokens, max_len;
  float *src_x, *tgt_x;      /* embeddings after dropout (N,C) */
  uint8_t *src_mask, *tgt_mask;
  layer_acts *enc, *dec;
  float *mem, *mem_mean, *mem_rstd; /* encoder output (pre-norm: final norm) */
  float *out, *out_mean, *out_rstd; /* decoder output fed to the projection */
  const float *enc_last, *dec_last; /* the last layers' outputs (inputs of the final norms) */
  float *packed;                     /* (N,C) decoder outputs of the non-pad target positions, in order */
  int32_t *rows, *packed_targets;   /* (N) their row in the batch and their target id */
  int32_t n_packed;
  float *logits;                    /* (N,V) (training: packed rows only), overwritten by its gradient */
  float *loss, *nll, *lse;          /* (N) */
  float *tmp;                       /* (N,C) sublayer function output */
  float *scratch;                   /* (2,max_len,max_len) attention scratch */
  /* gradient buffers, shared by all layers */
  float *dy, *dtmp, *dln, *datt, *dq, *dffn, *dmem, *dkv;
  void *block;
};

#define CARVE_F(c, n) ((float *)xlat_carve((c), (size_t)(n), sizeof(float)))
#define CARVE_B(c, n) ((uint8_t *)xlat_carve((c), (size_t)(n), 1))

static void carve_sub(xlat_carver *c, sub_acts *s, size_t N, int C, int dropout) {
  s->ln = CARVE_F(c, N * C);
  s->mean = CARVE_F(c, N);
  s->rstd = CARVE_F(c, N);
  s->r = CARVE_F(c, N * C);
  s->mask = dropout ? CARVE_B(c, N * C) : NULL;
}

static void carve_attn(xlat_carver *c, attn_acts *a, size_t N, const xlat_config *cfg, int L, int cross) {
  int C = cfg->d_model;
  size_t probs = N * (size_t)L * cfg->n_heads;
  a->q = CARVE_F(c, N * (cross ? C : 3 * C));
  a->kv = cross ? CARVE_F(c, N * 2 * C) : NULL;
  a->att = CARVE_F(c, N * C);
  a->probs = CARVE_F(c, probs);
  a->mask = cfg->attn_dropout > 0.0f ? CARVE_B(c, probs) : NULL;
}

static void carve_layer(xlat_carver *c, layer_acts *l, size_t N, const xlat_config *cfg, int L, int decoder) {
  int C = cfg->d_model, F = cfg->d_ff, drop = cfg->dropout > 0.0f;
  memset(l, 0, sizeof *l);
  carve_sub(c, &l->s1, N, C, drop);
  carve_attn(c, &l->self, N, cfg, L, 0);
  if (decoder) {
    carve_sub(c, &l->s2, N, C, drop);
    carve_attn(c, &l->cross, N, cfg, L, 1);
  }
  carve_sub(c, &l->s3, N, C, drop);
  l->ffn.f = CARVE_F(c, N * F);
  int gelu = cfg->activation == XLAT_ACT_GELU;
  l->ffn.g = gelu ? CARVE_F(c, N * F) : l->ffn.f;
  l->ffn.mask = drop ? CARVE_B(c, N * F) : NULL; /* act_dropout_forward draws the mask for ReLU too */
}

static void carve_all(xlat_carver *c, xlat_arena *a, const xlat_config *cfg) {
  size_t N = (size_t)a->max_tokens;
  int C = cfg->d_model, L = a->max_len, drop = cfg->dropout > 0.0f;
  size_t F = (size_t)cfg->d_ff;
  a->src_x = CARVE_F(c, N * C);
  a->tgt_x = CARVE_F(c, N * C);
  a->src_mask = drop ? CARVE_B(c, N * C) : NULL;
  a->tgt_mask = drop ? CARVE_B(c, N * C) : NULL;
  for (int l = 0; l < cfg->enc_layers; l++) carve_layer(c, &a->enc[l], N, cfg, L, 0);
  for (int l = 0; l < cfg->dec_layers; l++) carve_layer(c, &a->dec[l], N, cfg, L, 1);
  a->mem = CARVE_F(c, N * C);
  a->mem_mean = CARVE_F(c, N);
  a->mem_rstd = CARVE_F(c, N);
  a->out = CARVE_F(c, N * C);
  a->out_mean = CARVE_F(c, N);
  a->out_rstd = CARVE_F(c, N);
  a->packed = CARVE_F(c, N * C);
  a->rows = xlat_carve(c, N, sizeof(int32_t));
  a->packed_targets = xlat_carve(c, N, sizeof(int32_t));
  a->logits = CARVE_F(c, N * cfg->vocab_size);
  a->loss = CARVE_F(c, N);
  a->nll = CARVE_F(c, N);
  a->lse = CARVE_F(c, N);
  a->tmp = CARVE_F(c, N * C);
  a->scratch = CARVE_F(c, 2 * (size_t)L * L);
  a->dy = CARVE_F(c, N * C);
  a->dtmp = CARVE_F(c, N * C);
  a->dln = CARVE_F(c, N * C);
  a->datt = CARVE_F(c, N * C);
  a->dq = CARVE_F(c, N * 3 * C);
  a->dffn = CARVE_F(c, N * (F > 3 * (size_t)C ? F : 3 * (size_t)C));
  a->dmem = CARVE_F(c, N * C);
  a->dkv = CARVE_F(c, N * 2 * C);
}

xlat_status xlat_arena_new(const xlat_config *cfg, int32_t max_tokens, int32_t max_len, xlat_arena **out) {
  *out = NULL;
  if (max_tokens < 1 || max_len < 1 || max_len > cfg->max_len)
    return xlat_fail(XLAT_ERR_ARG, "training options: max_tokens %d / max_len %d out of range (expected >= 1 and "
                     "max_len <= model max_len %d)", max_tokens, max_len, cfg->max_len);
  xlat_arena *a = calloc(1, sizeof *a);
  if (!a) return xlat_fail(XLAT_ERR_NOMEM, "trainer: out of memory");
  a->max_tokens = max_tokens;
  a->max_len = max_len;
  a->enc = calloc((size_t)cfg->enc_layers, sizeof *a->enc);
  a->dec = calloc((size_t)cfg->dec_layers, sizeof *a->dec);
  xlat_carver c = {NULL, 0};
  if (a->enc && a->dec) carve_all(&c, a, cfg);
  if (a->enc && a->dec) a->block = aligned_alloc(64, c.used);
  if (!a->block) {
    size_t mb = c.used >> 20;
    xlat_arena_free(a);
    return xlat_fail(XLAT_ERR_NOMEM, "trainer: out of memory for the activation arena (%zu MiB for max_tokens %d, "
                     "max_len %d)", mb, max_tokens, max_len);
  }
  c = (xlat_carver){a->block, 0};
  carve_all(&c, a, cfg);
  *out = a;
  return XLAT_OK;
}

void xlat_arena_free(xlat_arena *a) {
  if (!a) return;
  free(a->enc);
  free(a->dec);
  free(a->block);
  free(a);
}

/* ---- forward --------------------------------------------------------------------------------------------------- */

typedef struct {
  const xlat_config *cfg;
  xlat_arena *a;
  const xlat_batch *b;
  float p, pa;   /* dropout and attention dropout in effect (0 in eval mode) */
  xlat_rng *rng; /* NULL in eval mode */
} pass;

/* The input Fn reads: x itself (post-norm) or LN(x) (pre-norm). */
static const float *sub_begin(const pass *ps, sub_acts *s, const float *x, const float *g, const float *bias,
                              int N) {
  s->x = x;
  if (!ps->cfg->pre_norm) return x;
  layernorm_forward(s->ln, s->mean, s->rstd, x, g, bias, N, ps->cfg->d_model);
  return s->ln;
}

/* The sublayer output from Fn's output fo (N,C). */
static const float *sub_end(const pass *ps, sub_acts *s, const float *fo, const float *g, const float *bias,
                            int N) {
  int C = ps->cfg->d_model;
  residual_dropout_forward(s->r, s->mask, s->x, fo, (size_t)N * C, ps->p, ps->rng);
  if (ps->cfg->pre_norm) return s->r;
  layernorm_forward(s->ln, s->mean, s->rstd, s->r, g, bias, N, C);
  return s->ln;
}

/* Self-attention of rows x (B,L,C) (L = S or T) into ps->a->tmp. */
static void self_attn_forward(const pass *ps, attn_acts *at, const xlat_attn_weights *w, const float *x,
                              const int32_t *key_ids, int causal, int B, int L) {
  const xlat_config *c = ps->cfg;
  int C = c->d_model, N = B * L;
  linear_forward(at->q, x, w->in_w, w->in_b, N, C, 3 * C);
  attention_forward(at->att, at->probs, at->mask, ps->a->scratch, at->q, 3 * C, (size_t)L * 3 * C, at->q + C,
                    at->q + 2 * C, 3 * C, (size_t)L * 3 * C, key_ids, causal, 0, B, L, L, C, c->n_heads, ps->pa,
                    ps->rng);
  linear_forward(ps->a->tmp, at->att, w->out_w, w->out_b, N, C, C);
}

static void cross_attn_forward(const pass *ps, attn_acts *at, const xlat_attn_weights *w, const float *x) {
  const xlat_config *c = ps->cfg;
  int C = c->d_model, B = ps->b->B, S = ps->b->S, T = ps->b->T;
  linear_forward(at->q, x, w->in_w, w->in_b, B * T, C, C);
  linear_forward(at->kv, ps->a->mem, w->in_w + (size_t)C * C, w->in_b + C, B * S, C, 2 * C);
  attention_forward(at->att, at->probs, at->mask, ps->a->scratch, at->q, C, (size_t)T * C, at->kv, at->kv + C,
                    2 * C, (size_t)S * 2 * C, ps->b->src, 0, 0, B, T, S, C, c->n_heads, ps->pa, ps->rng);
  linear_forward(ps->a->tmp, at->att, w->out_w, w->out_b, B * T, C, C);
}

static void ffn_forward(const pass *ps, ffn_acts *f, const xlat_layer_weights *w, const float *x, int N) {
  const xlat_config *c = ps->cfg;
  linear_forward(f->f, x, w->ffn_w1, w->ffn_b1, N, c->d_model, c->d_ff);
  act_dropout_forward(f->g, f->mask, f->f, (size_t)N * c->d_ff, c->activation, ps->p, ps->rng);
  linear_forward(ps->a->tmp, f->g, w->ffn_w2, w->ffn_b2, N, c->d_ff, c->d_model);
}

static void embed(const pass *ps, const xlat_model *m, float *x, uint8_t *mask, const int32_t *ids, int side, int L) {
  const xlat_config *c = ps->cfg;
  int B = ps->b->B, C = c->d_model;
  embed_forward(x, ids, side ? m->w.tgt_embed : m->w.src_embed, xlat_model_position(m, side, 0), B, L, C,
                sqrtf((float)C));
  dropout_forward(x, mask, (size_t)B * L * C, ps->p, ps->rng);
}

/* Encoder and decoder: the decoder output (B*T,C) in a->out. */
static void forward(const pass *ps, const xlat_model *m) {
  const xlat_config *c = ps->cfg;
  xlat_arena *a = ps->a;
  const xlat_weights *w = &m->w;
  int B = ps->b->B, S = ps->b->S, T = ps->b->T, Ns = B * S, Nt = B * T, C = c->d_model;

  embed(ps, m, a->src_x, a->src_mask, ps->b->src, 0, S);
  const float *x = a->src_x;
  for (int l = 0; l < c->enc_layers; l++) {
    layer_acts *la = &a->enc[l];
    const xlat_layer_weights *lw = &w->enc[l];
    const float *in = sub_begin(ps, &la->s1, x, lw->norm1_g, lw->norm1_b, Ns);
    self_attn_forward(ps, &la->self, &lw->self_attn, in, ps->b->src, 0, B, S);
    x = sub_end(ps, &la->s1, a->tmp, lw->norm1_g, lw->norm1_b, Ns);
    in = sub_begin(ps, &la->s3, x, lw->norm3_g, lw->norm3_b, Ns);
    ffn_forward(ps, &la->ffn, lw, in, Ns);
    x = sub_end(ps, &la->s3, a->tmp, lw->norm3_g, lw->norm3_b, Ns);
  }
  a->enc_last = x;
  if (c->pre_norm)
    layernorm_forward(a->mem, a->mem_mean, a->mem_rstd, x, w->enc_norm_g, w->enc_norm_b, Ns, C);
  else
    memcpy(a->mem, x, (size_t)Ns * C * sizeof *x);

  embed(ps, m, a->tgt_x, a->tgt_mask, ps->b->tgt_in, 1, T);
  x = a->tgt_x;
  for (int l = 0; l < c->dec_layers; l++) {
    layer_acts *la = &a->dec[l];
    const xlat_layer_weights *lw = &w->dec[l];
    const float *in = sub_begin(ps, &la->s1, x, lw->norm1_g, lw->norm1_b, Nt);
    self_attn_forward(ps, &la->self, &lw->self_attn, in, NULL, 1, B, T);
    x = sub_end(ps, &la->s1, a->tmp, lw->norm1_g, lw->norm1_b, Nt);
    in = sub_begin(ps, &la->s2, x, lw->norm2_g, lw->norm2_b, Nt);
    cross_attn_forward(ps, &la->cross, &lw->cross_attn, in);
    x = sub_end(ps, &la->s2, a->tmp, lw->norm2_g, lw->norm2_b, Nt);
    in = sub_begin(ps, &la->s3, x, lw->norm3_g, lw->norm3_b, Nt);
    ffn_forward(ps, &la->ffn, lw, in, Nt);
    x = sub_end(ps, &la->s3, a->tmp, lw->norm3_g, lw->norm3_b, Nt);
  }
  a->dec_last = x;
  if (c->pre_norm)
    layernorm_forward(a->out, a->out_mean, a->out_rstd, x, w->dec_norm_g, w->dec_norm_b, Nt, C);
  else
    memcpy(a->out, x, (size_t)Nt * C * sizeof *x);
}

/* Training and validation: the output projection of the non-pad target positions only (padding costs no
 * vocabulary-sized products): logits (n_packed,V) of a->packed, targets in a->packed_targets. */
static void project_packed(const pass *ps, const xlat_model *m) {
  xlat_arena *a = ps->a;
  int Nt = ps->b->B * ps->b->T, C = ps->cfg->d_model, k = 0;
  for (int i = 0; i < Nt; i++) {
    if (ps->b->tgt_out[i] == XLAT_PAD) continue;
    memcpy(a->packed + (size_t)k * C, a->out + (size_t)i * C, (size_t)C * sizeof *a->packed);
    a->rows[k] = i;
    a->packed_targets[k++] = ps->b->tgt_out[i];
  }
  a->n_packed = k;
  if (k > 0) linear_forward(a->logits, a->packed, m->w.out_proj, NULL, k, C, ps->cfg->vocab_size);
}

/* ---- backward -------------------------------------------------------------------------------------------------- */

/* grad (N,C) holds the gradient of the sublayer output. Writes d(Fn output) into a->dtmp, leaves in grad the
 * residual path's share of the input gradient, and returns the buffer Fn's backward accumulates its input gradient
 * into (grad itself in post-norm, a->dln in pre-norm: sub_back_end then takes it through the norm into grad). */
static float *sub_back_begin(const pass *ps, const sub_acts *s, const float *g, float *dg, float *db, float *grad,
                             int N) {
  xlat_arena *a = ps->a;
  int C = ps->cfg->d_model;
  size_t n = (size_t)N * C;
  memset(a->dln, 0, n * sizeof *a->dln);
  if (!ps->cfg->pre_norm) { /* y = LN(r), r = x + drop(Fn(x)) */
    layernorm_backward(a->dln, dg, db, grad, s->r, s->mean, s->rstd, g, N, C);
    memcpy(grad, a->dln, n * sizeof *grad);
  }
  residual_dropout_backward(a->dtmp, grad, s->mask, n, ps->p);
  return ps->cfg->pre_norm ? a->dln : grad;
}

static void sub_back_end(const pass *ps, const sub_acts *s, const float *g, float *dg, float *db, float *grad,
                         int N) {
  if (ps->cfg->pre_norm)
    layernorm_backward(grad, dg, db, ps->a->dln, s->x, s->mean, s->rstd, g, N, ps->cfg->d_model);
}

/* What Fn read: LN(x) in pre-norm, x in post-norm. */
static const float *sub_input(const pass *ps, const sub_acts *s) { return ps->cfg->pre_norm ? s->ln : s->x; }

static void self_attn_backward(const pass *ps, const attn_acts *at, const xlat_attn_weights *w,
                               const xlat_attn_weights *gw, const float *x, float *dx, int B, int L) {
  const xlat_config *c = ps->cfg;
  xlat_arena *a = ps->a;
  int C = c->d_model, N = B * L;
  memset(a->datt, 0, (size_t)N * C * sizeof *a->datt);
  linear_backward(a->datt, gw->out_w, gw->out_b, a->dtmp, at->att, w->out_w, N, C, C);
  memset(a->dq, 0, (size_t)N * 3 * C * sizeof *a->dq);
  attention_backward(a->dq, a->dq + C, a->dq + 2 * C, a->scratch, a->datt, at->probs, at->mask, at->q, 3 * C,
                     (size_t)L * 3 * C, at->q + C, at->q + 2 * C, 3 * C, (size_t)L * 3 * C, B, L, L, C, c->n_heads,
                     ps->pa);
  linear_backward(dx, gw->in_w, gw->in_b, a->dq, x, w->in_w, N, C, 3 * C);
}

static void cross_attn_backward(const pass *ps, const attn_acts *at, const xlat_attn_weights *w,
                                const xlat_attn_weights *gw, const float *x, float *dx) {
  const xlat_config *c = ps->cfg;
  xlat_arena *a = ps->a;
  int C = c->d_model, B = ps->b->B, S = ps->b->S, T = ps->b->T;
  memset(a->datt, 0, (size_t)B * T * C * sizeof *a->datt);
  linear_backward(a->datt, gw->out_w, gw->out_b, a->dtmp, at->att, w->out_w, B * T, C, C);
  memset(a->dq, 0, (size_t)B * T * C * sizeof *a->dq);
  memset(a->dkv, 0, (size_t)B * S * 2 * C * sizeof *a->dkv);
  attention_backward(a->dq, a->dkv, a->dkv + C, a->scratch, a->datt, at->probs, at->mask, at->q, C, (size_t)T * C,
                     at->kv, at->kv + C, 2 * C, (size_t)S * 2 * C, B, T, S, C, c->n_heads, ps->pa);
  linear_backward(dx, gw->in_w, gw->in_b, a->dq, x, w->in_w, B * T, C, C);
  linear_backward(a->dmem, gw->in_w + (size_t)C * C, gw->in_b + C, a->dkv, a->mem, w->in_w + (size_t)C * C, B * S,
                  C, 2 * C);
}

static void ffn_backward(const pass *ps, const ffn_acts *f, const xlat_layer_weights *w,
                         const xlat_layer_weights *gw, const float *x, float *dx, int N) {
  const xlat_config *c = ps->cfg;
  xlat_arena *a = ps->a;
  size_t nf = (size_t)N * c->d_ff;
  memset(a->dffn, 0, nf * sizeof *a->dffn);
  linear_backward(a->dffn, gw->ffn_w2, gw->ffn_b2, a->dtmp, f->g, w->ffn_w2, N, c->d_ff, c->d_model);
  act_dropout_backward(a->dffn, a->dffn, f->f, f->g, f->mask, nf, c->activation, ps->p);
  linear_backward(dx, gw->ffn_w1, gw->ffn_b1, a->dffn, x, w->ffn_w1, N, c->d_model, c->d_ff);
}

/* Backward of the final norm (pre-norm) or the identity: grad (N,C) from the gradient dout of the stack output. */
static void final_norm_backward(const pass *ps, float *grad, const float *dout, const float *x, const float *mean,
                                const float *rstd, const float *g, float *dg, float *db, int N) {
  int C = ps->cfg->d_model;
  if (ps->cfg->pre_norm) {
    memset(grad, 0, (size_t)N * C * sizeof *grad);
    layernorm_backward(grad, dg, db, dout, x, mean, rstd, g, N, C);
  } else if (grad != dout) {
    memcpy(grad, dout, (size_t)N * C * sizeof *grad);
  }
}

/* Gradients of the summed loss (dlogits of the packed rows already in a->logits) accumulated into gw. */
static void backward(const pass *ps, const xlat_model *m, const xlat_weights *gw) {
  const xlat_config *c = ps->cfg;
  xlat_arena *a = ps->a;
  const xlat_weights *w = &m->w;
  int B = ps->b->B, S = ps->b->S, T = ps->b->T, Ns = B * S, Nt = B * T, C = c->d_model;
  float *grad = a->dy;

  int np = a->n_packed;
  memset(a->dtmp, 0, (size_t)np * C * sizeof *a->dtmp);
  if (np > 0) linear_backward(a->dtmp, gw->out_proj, NULL, a->logits, a->packed, w->out_proj, np, C, c->vocab_size);
  memset(a->dln, 0, (size_t)Nt * C * sizeof *a->dln);
  for (int k = 0; k < np; k++)
    memcpy(a->dln + (size_t)a->rows[k] * C, a->dtmp + (size_t)k * C, (size_t)C * sizeof *a->dln);
  final_norm_backward(ps, grad, a->dln, a->dec_last, a->out_mean, a->out_rstd, w->dec_norm_g, gw->dec_norm_g,
                      gw->dec_norm_b, Nt);
  memset(a->dmem, 0, (size_t)Ns * C * sizeof *a->dmem);
  for (int l = c->dec_layers - 1; l >= 0; l--) {
    const layer_acts *la = &a->dec[l];
    const xlat_layer_weights *lw = &w->dec[l], *lg = &gw->dec[l];
    float *din = sub_back_begin(ps, &la->s3, lw->norm3_g, lg->norm3_g, lg->norm3_b, grad, Nt);
    ffn_backward(ps, &la->ffn, lw, lg, sub_input(ps, &la->s3), din, Nt);
    sub_back_end(ps, &la->s3, lw->norm3_g, lg->norm3_g, lg->norm3_b, grad, Nt);
    din = sub_back_begin(ps, &la->s2, lw->norm2_g, lg->norm2_g, lg->norm2_b, grad, Nt);
    cross_attn_backward(ps, &la->cross, &lw->cross_attn, &lg->cross_attn, sub_input(ps, &la->s2), din);
    sub_back_end(ps, &la->s2, lw->norm2_g, lg->norm2_g, lg->norm2_b, grad, Nt);
    din = sub_back_begin(ps, &la->s1, lw->norm1_g, lg->norm1_g, lg->norm1_b, grad, Nt);
    self_attn_backward(ps, &la->self, &lw->self_attn, &lg->self_attn, sub_input(ps, &la->s1), din, B, T);
    sub_back_end(ps, &la->s1, lw->norm1_g, lg->norm1_g, lg->norm1_b, grad, Nt);
  }
  dropout_backward(grad, a->tgt_mask, (size_t)Nt * C, ps->p);
  embed_backward(gw->tgt_embed, gw->tgt_pos, grad, ps->b->tgt_in, B, T, C, sqrtf((float)C));

  final_norm_backward(ps, grad, a->dmem, a->enc_last, a->mem_mean, a->mem_rstd, w->enc_norm_g, gw->enc_norm_g,
                      gw->enc_norm_b, Ns);
  for (int l = c->enc_layers - 1; l >= 0; l--) {
    const layer_acts *la = &a->enc[l];
    const xlat_layer_weights *lw = &w->enc[l], *lg = &gw->enc[l];
    float *din = sub_back_begin(ps, &la->s3, lw->norm3_g, lg->norm3_g, lg->norm3_b, grad, Ns);
    ffn_backward(ps, &la->ffn, lw, lg, sub_input(ps, &la->s3), din, Ns);
    sub_back_end(ps, &la->s3, lw->norm3_g, lg->norm3_g, lg->norm3_b, grad, Ns);
    din = sub_back_begin(ps, &la->s1, lw->norm1_g, lg->norm1_g, lg->norm1_b, grad, Ns);
    self_attn_backward(ps, &la->self, &lw->self_attn, &lg->self_attn, sub_input(ps, &la->s1), din, B, S);
    sub_back_end(ps, &la->s1, lw->norm1_g, lg->norm1_g, lg->norm1_b, grad, Ns);
  }
  dropout_backward(grad, a->src_mask, (size_t)Ns * C, ps->p);
  embed_backward(gw->src_embed, gw->src_pos, grad, ps->b->src, B, S, C, sqrtf((float)C));
}

/* ---- entry points -------------------------------------------------------------------------------------------- */

static xlat_status check_batch(const xlat_trainer *t, const xlat_batch *b) {
  const xlat_arena *a = t->arena;
  int32_t V = t->model->cfg.vocab_size;
  if (b->B < 1 || b->S < 1 || b->T < 1 || b->S > a->max_len || b->T > a->max_len ||
      (int64_t)b->B * b->S > a->max_tokens || (int64_t)b->B * b->T > a->max_tokens)
    return xlat_fail(XLAT_ERR_ARG, "batch B %d, S %d, T %d exceeds the trainer's max_tokens %d / max_len %d", b->B,
                     b->S, b->T, a->max_tokens, a->max_len);
  for (size_t i = 0; i < (size_t)b->B * b->S; i++)
    if (b->src[i] < 0 || b->src[i] >= V)
      return xlat_fail(XLAT_ERR_ARG, "batch: source id %d at %zu out of range (vocabulary %d)", b->src[i], i, V);
  for (size_t i = 0; i < (size_t)b->B * b->T; i++)
    if (b->tgt_in[i] < 0 || b->tgt_in[i] >= V || b->tgt_out[i] < 0 || b->tgt_out[i] >= V)
      return xlat_fail(XLAT_ERR_ARG, "batch: target id at %zu out of range (vocabulary %d)", i, V);
  return XLAT_OK;
}

static pass make_pass(xlat_trainer *t, const xlat_batch *b, int train) {
  const xlat_config *c = &t->model->cfg;
  return (pass){c, t->arena, b, train ? c->dropout : 0.0f, train ? c->attn_dropout : 0.0f, train ? &t->rng : NULL};
}

xlat_status xlat_trainer_accumulate(xlat_trainer *t, const xlat_batch *b, double *loss_sum, int64_t *ntokens) {
  xlat_status st = check_batch(t, b);
  if (st != XLAT_OK) return st;
  if (t->rank > 0) { /* another rank's masks, a function of where it is (dist.c): nothing to save for a resume */
    uint64_t mix = t->seed;
    xlat_splitmix64(&mix);
    xlat_rng_seed(&t->rng, mix ^ ((uint64_t)t->rank << 48) ^ ((uint64_t)t->step << 16) ^ (uint64_t)t->accum_calls);
  }
  t->accum_calls++;
  pass ps = make_pass(t, b, 1);
  forward(&ps, t->model);
  project_packed(&ps, t->model);
  xlat_arena *a = t->arena;
  int np = a->n_packed, V = t->model->cfg.vocab_size;
  int64_t n = xent_forward_backward(a->logits, a->loss, a->packed_targets, np, V, t->opt.label_smoothing, 1.0f);
  double sum = 0.0;
  for (int i = 0; i < np; i++) sum += a->loss[i];
  backward(&ps, t->model, &t->gw);
  t->accum_tokens += n;
  if (loss_sum) *loss_sum += sum;
  if (ntokens) *ntokens += n;
  return XLAT_OK;
}

xlat_status xlat_trainer_eval_loss(xlat_trainer *t, const xlat_batch *b, double *nll_sum, int64_t *ntokens) {
  xlat_status st = check_batch(t, b);
  if (st != XLAT_OK) return st;
  pass ps = make_pass(t, b, 0);
  const xlat_model *m = xlat_trainer_ema_model(t); /* the weights validation keeps as best.xlat */
  forward(&ps, m);
  project_packed(&ps, m);
  xlat_arena *a = t->arena;
  int np = a->n_packed;
  int64_t n = xent_forward(a->loss, a->nll, a->lse, a->logits, a->packed_targets, np, t->model->cfg.vocab_size, 0.0f);
  double sum = 0.0;
  for (int i = 0; i < np; i++) sum += a->nll[i];
  if (nll_sum) *nll_sum += sum;
  if (ntokens) *ntokens += n;
  return XLAT_OK;
}

xlat_status xlat_trainer_forward(xlat_trainer *t, const xlat_batch *b, int logprobs, float *out) {
  xlat_status st = check_batch(t, b);
  if (st != XLAT_OK) return st;
  pass ps = make_pass(t, b, 0);
  forward(&ps, t->model);
  int Nt = b->B * b->T, V = t->model->cfg.vocab_size;
  linear_forward(t->arena->logits, t->arena->out, t->model->w.out_proj, NULL, Nt, t->model->cfg.d_model, V);
  if (logprobs)
    logsoftmax_forward(out, t->arena->logits, Nt, V);
  else
    memcpy(out, t->arena->logits, (size_t)Nt * V * sizeof *out);
  return XLAT_OK;
}

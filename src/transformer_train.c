/* transformer_train.c - the Transformer's training path: the encoder-decoder forward pass as a list of kernel calls
 * (ops.h) over one activation arena, and the backward pass as the same list reversed. Vaswani et al. 2017
 * ("Attention Is All You Need"), with the pre-norm variant of Wang et al. 2019 / Xiong et al. 2020 (layer norm
 * inside each residual branch plus a final norm per stack), and sinusoidal, learned or relative positions (Shaw et
 * al. 2018: no position added to the embeddings; encoder and decoder self-attention, not cross-attention, add
 * learned embeddings of the clipped key-query distance to keys and values).
 *
 * Each residual sublayer computes, from its input x and its function Fn (attention or feed-forward):
 *   post-norm: y = LN(x + dropout(Fn(x)))        pre-norm: y = x + dropout(Fn(LN(x)))
 * Batches are right-padded: padding keys are masked in encoder self-attention and cross-attention; the causal mask
 * alone protects the decoder (a real target position never sees a later, padded one). The output projection and
 * the loss are the trainer's (train_step.c); incremental decoding is transformer_decode.c.
 */
#include <math.h>
#include <string.h>

#include "ops.h"
#include "transformer.h"

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

typedef struct {
  int32_t max_tokens, max_len;
  float *src_x, *tgt_x;      /* embeddings after dropout (N,C) */
  uint8_t *src_mask, *tgt_mask;
  layer_acts *enc, *dec;
  float *mem, *mem_mean, *mem_rstd; /* encoder output (pre-norm: final norm) */
  float *out, *out_mean, *out_rstd; /* decoder output fed to the projection */
  const float *enc_last, *dec_last; /* the last layers' outputs (inputs of the final norms) */
  float *tmp;                       /* (N,C) sublayer function output */
  float *scratch;                   /* attention scratch: (2,max_len,max_len), + (2,max_len,2K+1) relative */
  /* gradient buffers, shared by all layers */
  float *dy, *dtmp, *dln, *datt, *dq, *dffn, *dmem, *dkv;
  void *block;
} tf_acts;

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

static void carve_all(xlat_carver *c, tf_acts *a, const xlat_config *cfg) {
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
  a->tmp = CARVE_F(c, N * C);
  size_t rel = cfg->positions == XLAT_POS_RELATIVE ? 2 * (size_t)cfg->rel_clip + 1 : 0;
  a->scratch = CARVE_F(c, 2 * (size_t)L * L + 2 * (size_t)L * rel);
  a->dy = CARVE_F(c, N * C);
  a->dtmp = CARVE_F(c, N * C);
  a->dln = CARVE_F(c, N * C);
  a->datt = CARVE_F(c, N * C);
  a->dq = CARVE_F(c, N * 3 * C);
  a->dffn = CARVE_F(c, N * (F > 3 * (size_t)C ? F : 3 * (size_t)C));
  a->dmem = CARVE_F(c, N * C);
  a->dkv = CARVE_F(c, N * 2 * C);
}

xlat_status tf_acts_new(const xlat_config *cfg, int32_t max_tokens, int32_t max_len, void **out) {
  *out = NULL;
  tf_acts *a = calloc(1, sizeof *a);
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
    tf_acts_free(a);
    return xlat_fail(XLAT_ERR_NOMEM, "trainer: out of memory for the activation arena (%zu MiB for max_tokens %d, "
                     "max_len %d)", mb, max_tokens, max_len);
  }
  c = (xlat_carver){a->block, 0};
  carve_all(&c, a, cfg);
  *out = a;
  return XLAT_OK;
}

void tf_acts_free(void *acts) {
  tf_acts *a = acts;
  if (!a) return;
  free(a->enc);
  free(a->dec);
  free(a->block);
  free(a);
}

/* ---- forward --------------------------------------------------------------------------------------------------- */

/* The batch's pass (xlat_pass) with this architecture's arena. */
typedef struct {
  const xlat_config *cfg;
  tf_acts *a;
  const xlat_batch *b;
  float p, pa;   /* dropout and attention dropout in effect (0 in eval mode) */
  xlat_rng *rng; /* NULL in eval mode */
  const xlat_pass *x;
} pass;

static pass make_pass(void *acts, const xlat_pass *x) { return (pass){x->cfg, acts, x->b, x->p, x->pa, x->rng, x}; }

/* Every gradient from layer lg on is final (xlat_pass.grads_final). */
static void layer_final(const pass *ps, const tf_layer *lg) {
  if (ps->x->grads_final) ps->x->grads_final(ps->x->grads_ctx, lg->self_attn.in_w);
}

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

/* Self-attention of rows x (B,L,C) (L = S or T) into ps->a->tmp; with relative positions (w->rel_k) Shaw et al.'s. */
static void self_attn_forward(const pass *ps, attn_acts *at, const tf_attn *w, const float *x,
                              const int32_t *key_ids, int causal, int B, int L) {
  const xlat_config *c = ps->cfg;
  int C = c->d_model, N = B * L;
  size_t bs = (size_t)L * 3 * C;
  linear_forward(at->q, x, w->in_w, w->in_b, N, C, 3 * C);
  if (w->rel_k)
    attention_rel_forward(at->att, at->probs, at->mask, ps->a->scratch, at->q, 3 * C, bs, at->q + C, at->q + 2 * C,
                          3 * C, bs, w->rel_k, w->rel_v, c->rel_clip, key_ids, causal, 0, B, L, L, C, c->n_heads,
                          ps->pa, ps->rng);
  else
    attention_forward(at->att, at->probs, at->mask, ps->a->scratch, at->q, 3 * C, bs, at->q + C, at->q + 2 * C,
                      3 * C, bs, key_ids, causal, 0, B, L, L, C, c->n_heads, ps->pa, ps->rng);
  linear_forward(ps->a->tmp, at->att, w->out_w, w->out_b, N, C, C);
}

static void cross_attn_forward(const pass *ps, attn_acts *at, const tf_attn *w, const float *x) {
  const xlat_config *c = ps->cfg;
  int C = c->d_model, B = ps->b->B, S = ps->b->S, T = ps->b->T;
  linear_forward(at->q, x, w->in_w, w->in_b, B * T, C, C);
  linear_forward(at->kv, ps->a->mem, w->in_w + (size_t)C * C, w->in_b + C, B * S, C, 2 * C);
  attention_forward(at->att, at->probs, at->mask, ps->a->scratch, at->q, C, (size_t)T * C, at->kv, at->kv + C,
                    2 * C, (size_t)S * 2 * C, ps->b->src, 0, 0, B, T, S, C, c->n_heads, ps->pa, ps->rng);
  linear_forward(ps->a->tmp, at->att, w->out_w, w->out_b, B * T, C, C);
}

static void ffn_forward(const pass *ps, ffn_acts *f, const tf_layer *w, const float *x, int N) {
  const xlat_config *c = ps->cfg;
  linear_forward(f->f, x, w->ffn_w1, w->ffn_b1, N, c->d_model, c->d_ff);
  act_dropout_forward(f->g, f->mask, f->f, (size_t)N * c->d_ff, c->activation, ps->p, ps->rng);
  linear_forward(ps->a->tmp, f->g, w->ffn_w2, w->ffn_b2, N, c->d_ff, c->d_model);
}

static void embed(const pass *ps, const tf_weights *w, float *x, uint8_t *mask, const int32_t *ids, int side,
                  int L) {
  const xlat_config *c = ps->cfg;
  int B = ps->b->B, C = c->d_model;
  embed_forward(x, ids, side ? w->tgt_embed : w->src_embed, tf_position(w, c, side, 0), B, L, C,
                sqrtf((float)C));
  dropout_forward(x, mask, (size_t)B * L * C, ps->p, ps->rng);
}

/* Encoder and decoder: the decoder output (B*T,C) in a->out. */
static void forward(const pass *ps, const tf_weights *w) {
  const xlat_config *c = ps->cfg;
  tf_acts *a = ps->a;
  int B = ps->b->B, S = ps->b->S, T = ps->b->T, Ns = B * S, Nt = B * T, C = c->d_model;

  embed(ps, w, a->src_x, a->src_mask, ps->b->src, 0, S);
  const float *x = a->src_x;
  for (int l = 0; l < c->enc_layers; l++) {
    layer_acts *la = &a->enc[l];
    const tf_layer *lw = &w->enc[l];
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

  embed(ps, w, a->tgt_x, a->tgt_mask, ps->b->tgt_in, 1, T);
  x = a->tgt_x;
  for (int l = 0; l < c->dec_layers; l++) {
    layer_acts *la = &a->dec[l];
    const tf_layer *lw = &w->dec[l];
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

/* ---- backward -------------------------------------------------------------------------------------------------- */

/* grad (N,C) holds the gradient of the sublayer output. Writes d(Fn output) into a->dtmp, leaves in grad the
 * residual path's share of the input gradient, and returns the buffer Fn's backward accumulates its input gradient
 * into (grad itself in post-norm, a->dln in pre-norm: sub_back_end then takes it through the norm into grad). */
static float *sub_back_begin(const pass *ps, const sub_acts *s, const float *g, float *dg, float *db, float *grad,
                             int N) {
  tf_acts *a = ps->a;
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

static void self_attn_backward(const pass *ps, const attn_acts *at, const tf_attn *w,
                               const tf_attn *gw, const float *x, float *dx, int B, int L) {
  const xlat_config *c = ps->cfg;
  tf_acts *a = ps->a;
  int C = c->d_model, N = B * L;
  memset(a->datt, 0, (size_t)N * C * sizeof *a->datt);
  linear_backward(a->datt, gw->out_w, gw->out_b, a->dtmp, at->att, w->out_w, N, C, C);
  memset(a->dq, 0, (size_t)N * 3 * C * sizeof *a->dq);
  size_t bs = (size_t)L * 3 * C;
  if (w->rel_k)
    attention_rel_backward(a->dq, a->dq + C, a->dq + 2 * C, gw->rel_k, gw->rel_v, a->scratch, a->datt, at->probs,
                           at->mask, at->q, 3 * C, bs, at->q + C, at->q + 2 * C, 3 * C, bs, w->rel_k, w->rel_v,
                           c->rel_clip, 0, B, L, L, C, c->n_heads, ps->pa);
  else
    attention_backward(a->dq, a->dq + C, a->dq + 2 * C, a->scratch, a->datt, at->probs, at->mask, at->q, 3 * C, bs,
                       at->q + C, at->q + 2 * C, 3 * C, bs, B, L, L, C, c->n_heads, ps->pa);
  linear_backward(dx, gw->in_w, gw->in_b, a->dq, x, w->in_w, N, C, 3 * C);
}

static void cross_attn_backward(const pass *ps, const attn_acts *at, const tf_attn *w,
                                const tf_attn *gw, const float *x, float *dx) {
  const xlat_config *c = ps->cfg;
  tf_acts *a = ps->a;
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

static void ffn_backward(const pass *ps, const ffn_acts *f, const tf_layer *w,
                         const tf_layer *gw, const float *x, float *dx, int N) {
  const xlat_config *c = ps->cfg;
  tf_acts *a = ps->a;
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
static void backward(const pass *ps, const tf_weights *w, const tf_weights *gw, const float *dout) {
  const xlat_config *c = ps->cfg;
  tf_acts *a = ps->a;
  int B = ps->b->B, S = ps->b->S, T = ps->b->T, Ns = B * S, Nt = B * T, C = c->d_model;
  float *grad = a->dy;

  final_norm_backward(ps, grad, dout, a->dec_last, a->out_mean, a->out_rstd, w->dec_norm_g, gw->dec_norm_g,
                      gw->dec_norm_b, Nt);
  memset(a->dmem, 0, (size_t)Ns * C * sizeof *a->dmem);
  for (int l = c->dec_layers - 1; l >= 0; l--) {
    const layer_acts *la = &a->dec[l];
    const tf_layer *lw = &w->dec[l], *lg = &gw->dec[l];
    float *din = sub_back_begin(ps, &la->s3, lw->norm3_g, lg->norm3_g, lg->norm3_b, grad, Nt);
    ffn_backward(ps, &la->ffn, lw, lg, sub_input(ps, &la->s3), din, Nt);
    sub_back_end(ps, &la->s3, lw->norm3_g, lg->norm3_g, lg->norm3_b, grad, Nt);
    din = sub_back_begin(ps, &la->s2, lw->norm2_g, lg->norm2_g, lg->norm2_b, grad, Nt);
    cross_attn_backward(ps, &la->cross, &lw->cross_attn, &lg->cross_attn, sub_input(ps, &la->s2), din);
    sub_back_end(ps, &la->s2, lw->norm2_g, lg->norm2_g, lg->norm2_b, grad, Nt);
    din = sub_back_begin(ps, &la->s1, lw->norm1_g, lg->norm1_g, lg->norm1_b, grad, Nt);
    self_attn_backward(ps, &la->self, &lw->self_attn, &lg->self_attn, sub_input(ps, &la->s1), din, B, T);
    sub_back_end(ps, &la->s1, lw->norm1_g, lg->norm1_g, lg->norm1_b, grad, Nt);
    layer_final(ps, lg);
  }
  dropout_backward(grad, a->tgt_mask, (size_t)Nt * C, ps->p);
  embed_backward(gw->tgt_embed, gw->tgt_pos, grad, ps->b->tgt_in, B, T, C, sqrtf((float)C));

  final_norm_backward(ps, grad, a->dmem, a->enc_last, a->mem_mean, a->mem_rstd, w->enc_norm_g, gw->enc_norm_g,
                      gw->enc_norm_b, Ns);
  for (int l = c->enc_layers - 1; l >= 0; l--) {
    const layer_acts *la = &a->enc[l];
    const tf_layer *lw = &w->enc[l], *lg = &gw->enc[l];
    float *din = sub_back_begin(ps, &la->s3, lw->norm3_g, lg->norm3_g, lg->norm3_b, grad, Ns);
    ffn_backward(ps, &la->ffn, lw, lg, sub_input(ps, &la->s3), din, Ns);
    sub_back_end(ps, &la->s3, lw->norm3_g, lg->norm3_g, lg->norm3_b, grad, Ns);
    din = sub_back_begin(ps, &la->s1, lw->norm1_g, lg->norm1_g, lg->norm1_b, grad, Ns);
    self_attn_backward(ps, &la->self, &lw->self_attn, &lg->self_attn, sub_input(ps, &la->s1), din, B, S);
    sub_back_end(ps, &la->s1, lw->norm1_g, lg->norm1_g, lg->norm1_b, grad, Ns);
    layer_final(ps, lg);
  }
  dropout_backward(grad, a->src_mask, (size_t)Ns * C, ps->p);
  embed_backward(gw->src_embed, gw->src_pos, grad, ps->b->src, B, S, C, sqrtf((float)C));
}

/* ---- the seam (arch.h) ------------------------------------------------------------------------------------------ */

const float *tf_forward(void *acts, const xlat_pass *x, const void *w) {
  pass ps = make_pass(acts, x);
  forward(&ps, w);
  return ps.a->out;
}

void tf_backward(void *acts, const xlat_pass *x, const void *w, void *gw, float *dout) {
  pass ps = make_pass(acts, x);
  backward(&ps, w, gw, dout);
}

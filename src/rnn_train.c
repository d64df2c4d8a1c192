/* rnn_train.c - the recurrent encoder-decoders' training path (the model is rnn.h's): the encoder a layer at a time
 * (rnn_layer_forward: all input projections in one sgemm, then the recurrence), the decoder a step at a time (its
 * first layer may read the previous step's attention or output), then the backward pass in reverse. Activations
 * are time-major, (T,B,.), so a step's rows are contiguous; the output handed to the trainer is batch-major. Padded
 * source steps leave the encoder state alone; padded target steps are computed and get no gradient (the loss skips
 * them and no real step reads a later one). Nothing is allocated after rnn_acts_new.
 */
#include <string.h>

#include "ops.h"
#include "rnn.h"
#include "rnn_ops.h"

typedef struct {
  float *x;                 /* (S,B,I) the layer's input: embeddings, or drop() of the layer below's output */
  uint8_t *mask;            /* dropout mask of x (layers > 0) */
  float *out[2];            /* (S,B,D) per direction */
  float *h_last[2], *c_last[2]; /* (B,D) */
  float *cache[2];
  float *cat;               /* (S,B,H) both directions side by side (one direction: out[0]) */
} enc_acts;

typedef struct {
  float *s, *c;  /* (T+1,B,H) states and LSTM cell states; [0] the initial ones */
  float *acts;   /* (T,B,A) */
  float *x;      /* (T,B,H) layers > 0: drop() of the layer below's states */
  uint8_t *mask;
} dec_acts;

typedef struct {
  int32_t max_tokens, max_len;
  rnn_dims d;
  enc_acts *enc;
  dec_acts *dec;
  uint8_t *keep;                /* (S,B) real source steps */
  uint8_t *src_mask;            /* embedding dropout of enc[0].x */
  float *fin, *cfin;            /* (L,B,H) the encoder layers' final states */
  float *mem, *keys;            /* (B,S,H) memory; general: mem attn_w^T, additive: mem attn_u^T */
  float *tgt_x;                 /* (T,B,E) */
  uint8_t *tgt_mask;
  float *gx0;                   /* (T,B,G*H) tgt_x W_ih^T + b_ih of decoder layer 0 */
  float *z;                     /* (T,B,H) layer 0's extra input */
  float *qa;                    /* (T,B,H) additive queries */
  float *ctx, *probs;           /* (T,B,H) (T,B,S) */
  float *cat;                   /* (T,B,2H) [s_top; c] */
  float *o;                     /* (T,B,H) tanh(cat out_w^T) */
  float *o_drop;                /* (T,B,H) drop(o) */
  uint8_t *o_mask;
  float *out;                   /* (B,T,H) o_drop, batch-major */
  int32_t *sent;                /* (max_tokens) 0, 1, 2, ...: the attention kernels' row -> sentence */
  float *gx, *gh, *scratch;     /* step (B,G*H) x2, layer scratch */
  /* backward */
  float *dtm;                   /* (T,B,H) gradient of o_drop, time-major */
  float *dgx0;                  /* (T,B,G*H) */
  float *dgx;                   /* (B,G*H) */
  float *dh[2], *dc[2];         /* (L,B,H) each: gradients of the states after / before the current step */
  float *dcat, *dx, *dq;        /* (B,2H) (B,H) (B,H) */
  float *dmem, *dkeys;          /* (B,S,H) */
  float *dfin, *dcfin;          /* (L,B,H) */
  float *denc;                  /* (S,B,H) gradient of an encoder layer's cat, then of its input (max(E,H)) */
  float *ddir[2];               /* (S,B,D) a direction's output gradient */
  float *dxin;                  /* (S,B,max(E,H)) gradient of a layer's input */
  float *dtgt;                  /* (T,B,E) */
  void *block;
} rnn_acts;

static void carve_all(xlat_carver *cv, rnn_acts *a, const xlat_config *cfg) {
  const rnn_dims *d = &a->d;
  size_t N = (size_t)a->max_tokens, H = (size_t)d->H, E = (size_t)d->E, D = (size_t)d->D, L = (size_t)a->max_len;
  size_t GH = (size_t)d->G * H, A = (size_t)rnn_cell_act_floats(d->cell, d->H), EH = E > H ? E : H;
  size_t NL = (size_t)cfg->dec_layers, lstm = d->cell == RNN_CELL_LSTM;
#define F(n) ((float *)xlat_carve(cv, (size_t)(n), sizeof(float)))
#define U8(n) ((uint8_t *)xlat_carve(cv, (size_t)(n), 1))
  for (int l = 0; l < cfg->enc_layers; l++) {
    enc_acts *e = &a->enc[l];
    size_t nin = l ? H : E;
    e->x = F(N * nin);
    e->mask = U8(N * nin);
    for (int dir = 0; dir < d->dirs; dir++) {
      e->out[dir] = F(N * D);
      e->h_last[dir] = F(N * D);
      e->c_last[dir] = lstm ? F(N * D) : NULL;
      e->cache[dir] = F(rnn_layer_cache_floats(d->cell, (int)N, 1, (int)nin, d->D));
    }
    e->cat = d->dirs == 2 ? F(N * H) : e->out[0];
  }
  for (int l = 0; l < cfg->dec_layers; l++) {
    dec_acts *g = &a->dec[l];
    g->s = F(2 * N * H); /* (T+1)*B <= 2N */
    g->c = lstm ? F(2 * N * H) : NULL;
    g->acts = F(N * A);
    g->x = l ? F(N * H) : NULL;
    g->mask = l ? U8(N * H) : NULL;
  }
  a->keep = U8(N);
  a->src_mask = U8(N * E);
  a->fin = F(NL * N * H);
  a->cfin = lstm ? F(NL * N * H) : NULL;
  a->mem = F(N * H);
  a->keys = F(N * H);
  a->tgt_x = F(N * E);
  a->tgt_mask = U8(N * E);
  a->gx0 = F(N * GH);
  a->z = F(N * H);
  a->qa = F(N * H);
  a->ctx = F(N * H);
  a->probs = F(N * L);
  a->cat = F(N * 2 * H);
  a->o = F(N * H);
  a->o_drop = F(N * H);
  a->o_mask = U8(N * H);
  a->out = F(N * H);
  a->sent = xlat_carve(cv, N, sizeof(int32_t));
  a->gx = F(N * GH);
  a->gh = F(N * GH);
  size_t s0 = rnn_layer_scratch_floats(d->cell, (int)N, 1, (int)E, d->D);
  size_t s1 = rnn_layer_scratch_floats(d->cell, (int)N, 1, (int)H, d->H);
  a->scratch = F((s0 > s1 ? s0 : s1) + N * GH + L);
  a->dtm = F(N * H);
  a->dgx0 = F(N * GH);
  a->dgx = F(N * GH);
  for (int k = 0; k < 2; k++) {
    a->dh[k] = F(NL * N * H);
    a->dc[k] = lstm ? F(NL * N * H) : NULL;
    a->ddir[k] = F(N * D);
  }
  a->dcat = F(N * 2 * H);
  a->dx = F(N * H);
  a->dq = F(N * H);
  a->dmem = F(N * H);
  a->dkeys = F(N * H);
  a->dfin = F(NL * N * H);
  a->dcfin = lstm ? F(NL * N * H) : NULL;
  a->denc = F(N * EH);
  a->dxin = F(N * EH);
  a->dtgt = F(N * E);
#undef F
#undef U8
}

void rnn_acts_free(void *acts) {
  rnn_acts *a = acts;
  if (!a) return;
  free(a->enc);
  free(a->dec);
  free(a->block);
  free(a);
}

xlat_status rnn_acts_new(const xlat_config *cfg, int32_t max_tokens, int32_t max_len, void **out) {
  *out = NULL;
  rnn_acts *a = calloc(1, sizeof *a);
  if (!a) return xlat_fail(XLAT_ERR_NOMEM, "trainer: out of memory");
  a->max_tokens = max_tokens;
  a->max_len = max_len;
  a->d = rnn_dims_of(cfg);
  a->enc = calloc((size_t)cfg->enc_layers, sizeof *a->enc);
  a->dec = calloc((size_t)cfg->dec_layers, sizeof *a->dec);
  xlat_carver c = {NULL, 0};
  if (a->enc && a->dec) carve_all(&c, a, cfg);
  if (a->enc && a->dec) a->block = aligned_alloc(64, c.used);
  if (!a->block) {
    size_t mb = c.used >> 20;
    rnn_acts_free(a);
    return xlat_fail(XLAT_ERR_NOMEM, "trainer: out of memory for the activation arena (%zu MiB for max_tokens %d, "
                     "max_len %d)", mb, max_tokens, max_len);
  }
  c = (xlat_carver){a->block, 0};
  carve_all(&c, a, cfg);
  for (int32_t i = 0; i < max_tokens; i++) a->sent[i] = i;
  *out = a;
  return XLAT_OK;
}

/* ---- small pieces ------------------------------------------------------------------------------------------------ */

/* x (L,B,E) = emb rows of ids (B,L), time-major. */
static void embed_tm(float *x, const int32_t *ids, const float *emb, int B, int L, int E) {
  for (int t = 0; t < L; t++)
    for (int b = 0; b < B; b++)
      memcpy(x + ((size_t)t * B + b) * E, emb + (size_t)ids[(size_t)b * L + t] * E, sizeof(float) * E);
}

/* demb += dx (L,B,E) at the rows of ids (B,L). */
static void embed_tm_backward(float *demb, const float *dx, const int32_t *ids, int B, int L, int E) {
  for (int t = 0; t < L; t++)
    for (int b = 0; b < B; b++) {
      float *row = demb + (size_t)ids[(size_t)b * L + t] * E;
      const float *g = dx + ((size_t)t * B + b) * E;
      for (int j = 0; j < E; j++) row[j] += g[j];
    }
}

/* out (n, wa + wb) = [a (n, wa) | b (n, wb)] row by row, and its inverse split (either half may be NULL). */
static void concat_rows(float *out, const float *a, int wa, const float *b, int wb, size_t n) {
  for (size_t i = 0; i < n; i++) {
    memcpy(out + i * (wa + wb), a + i * wa, sizeof(float) * wa);
    memcpy(out + i * (wa + wb) + wa, b + i * wb, sizeof(float) * wb);
  }
}

static void split_rows(float *a, int wa, float *b, int wb, const float *in, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (a) memcpy(a + i * wa, in + i * (wa + wb), sizeof(float) * wa);
    if (b) memcpy(b + i * wb, in + i * (wa + wb) + wa, sizeof(float) * wb);
  }
}

/* (L,B,W) <-> (B,L,W); add != 0 accumulates into out. */
static void transpose_lb(float *out, const float *in, int L, int B, int W, int add) {
  for (int t = 0; t < L; t++)
    for (int b = 0; b < B; b++) {
      float *o = out + ((size_t)b * L + t) * W;
      const float *i = in + ((size_t)t * B + b) * W;
      if (add)
        for (int j = 0; j < W; j++) o[j] += i[j];
      else
        memcpy(o, i, sizeof(float) * W);
    }
}

static void add_to(float *y, const float *x, size_t n) {
  for (size_t i = 0; i < n; i++) y[i] += x[i];
}

/* The attention query's keys over the memory: the memory itself (dot) or its projection (general, additive). */
static const float *keys_of(const rnn_acts *a, const xlat_config *c) {
  return c->attention == XLAT_ATTN_DOT ? a->mem : a->keys;
}

/* ---- forward ----------------------------------------------------------------------------------------------------- */

static void encode(rnn_acts *a, const xlat_pass *ps, const rnn_weights *w) {
  const xlat_config *c = ps->cfg;
  const rnn_dims *d = &a->d;
  int B = ps->b->B, S = ps->b->S, H = d->H, D = d->D;
  size_t n = (size_t)S * B;
  for (int t = 0; t < S; t++)
    for (int b = 0; b < B; b++) a->keep[(size_t)t * B + b] = ps->b->src[(size_t)b * S + t] != XLAT_PAD;
  embed_tm(a->enc[0].x, ps->b->src, w->src_embed, B, S, d->E);
  dropout_forward(a->enc[0].x, a->src_mask, n * d->E, ps->p, ps->rng);
  for (int l = 0; l < c->enc_layers; l++) {
    enc_acts *e = &a->enc[l];
    int nin = l ? H : d->E;
    if (l > 0) {
      memcpy(e->x, a->enc[l - 1].cat, sizeof(float) * n * H);
      dropout_forward(e->x, e->mask, n * H, ps->p, ps->rng);
    }
    for (int dir = 0; dir < d->dirs; dir++) {
      const rnn_layer *lw = &w->enc[l * d->dirs + dir];
      rnn_layer_forward(e->out[dir], e->h_last[dir], e->c_last[dir], e->cache[dir], a->scratch, e->x, NULL, NULL,
                        lw->w_ih, lw->b_ih, lw->w_hh, lw->b_hh, a->keep, dir, d->cell, B, S, nin, D);
    }
    float *fin = a->fin + (size_t)l * B * H, *cfin = a->cfin ? a->cfin + (size_t)l * B * H : NULL;
    if (d->dirs == 2) {
      concat_rows(e->cat, e->out[0], D, e->out[1], D, n);
      concat_rows(fin, e->h_last[0], D, e->h_last[1], D, (size_t)B);
      if (cfin) concat_rows(cfin, e->c_last[0], D, e->c_last[1], D, (size_t)B);
    } else {
      memcpy(fin, e->h_last[0], sizeof(float) * B * H);
      if (cfin) memcpy(cfin, e->c_last[0], sizeof(float) * B * H);
    }
  }
  transpose_lb(a->mem, a->enc[c->enc_layers - 1].cat, S, B, H, 0);
  if (c->attention == XLAT_ATTN_GENERAL) linear_forward(a->keys, a->mem, w->attn_w, NULL, B * S, H, H);
  if (c->attention == XLAT_ATTN_ADDITIVE) linear_forward(a->keys, a->mem, w->attn_u, NULL, B * S, H, H);
}

/* ctx (B,H), probs (B,S) of query rows q (B,H) (additive: already projected) at one step. */
static void attend(rnn_acts *a, const xlat_pass *ps, const rnn_weights *w, float *ctx, float *probs, const float *q) {
  const xlat_config *c = ps->cfg;
  rnn_attention_forward(ctx, probs, q, keys_of(a, c), a->mem, w->attn_v, ps->b->src, a->sent, c->attention, ps->b->B,
                        ps->b->S, a->d.H, a->d.H);
}

static void decode(rnn_acts *a, const xlat_pass *ps, const rnn_weights *w) {
  const xlat_config *c = ps->cfg;
  const rnn_dims *d = &a->d;
  int B = ps->b->B, S = ps->b->S, T = ps->b->T, H = d->H, GH = d->G * H, L = c->dec_layers, top = L - 1;
  size_t BH = (size_t)B * H, BG = (size_t)B * GH;
  embed_tm(a->tgt_x, ps->b->tgt_in, w->tgt_embed, B, T, d->E);
  dropout_forward(a->tgt_x, a->tgt_mask, (size_t)T * B * d->E, ps->p, ps->rng);
  linear_forward(a->gx0, a->tgt_x, w->dec[0].w_ih, w->dec[0].b_ih, T * B, d->E, GH);
  const float *fin_top = a->fin + (size_t)top * BH;
  for (int l = 0; l < L; l++) {
    memcpy(a->dec[l].s, a->fin + (size_t)l * BH, sizeof(float) * BH);
    if (a->cfin) memcpy(a->dec[l].c, a->cfin + (size_t)l * BH, sizeof(float) * BH);
  }
  for (int t = 0; t < T; t++) {
    size_t tb = (size_t)t * BH;
    float *ctx = a->ctx + tb, *probs = a->probs + (size_t)t * B * S, *z = a->z + tb;
    if (c->attention == XLAT_ATTN_ADDITIVE) { /* Bahdanau: attend with the state before the step */
      linear_forward(a->qa + tb, a->dec[top].s + tb, w->attn_w, NULL, B, H, H);
      attend(a, ps, w, ctx, probs, a->qa + tb);
    }
    if (d->feed) {
      const float *src = c->attention == XLAT_ATTN_NONE ? fin_top : c->attention == XLAT_ATTN_ADDITIVE ? ctx : NULL;
      if (src)
        memcpy(z, src, sizeof(float) * BH);
      else if (t == 0)
        memset(z, 0, sizeof(float) * BH);
      else
        memcpy(z, a->o_drop + tb - BH, sizeof(float) * BH); /* input feeding: the previous attentional vector */
      linear_forward(a->gx, z, w->feed_w, NULL, B, H, GH);
      add_to(a->gx, a->gx0 + (size_t)t * BG, BG);
    } else {
      memcpy(a->gx, a->gx0 + (size_t)t * BG, sizeof(float) * BG);
    }
    for (int l = 0; l < L; l++) {
      dec_acts *g = &a->dec[l];
      const rnn_layer *lw = &w->dec[l];
      if (l > 0) {
        float *x = g->x + tb;
        memcpy(x, a->dec[l - 1].s + tb + BH, sizeof(float) * BH);
        dropout_forward(x, g->mask + tb, BH, ps->p, ps->rng);
        linear_forward(a->gx, x, lw->w_ih, lw->b_ih, B, H, GH);
      }
      rnn_cell_forward(g->s + tb + BH, g->c ? g->c + tb + BH : NULL, g->acts + (size_t)t * B * rnn_cell_act_floats(d->cell, H),
                       a->gh, a->gx, g->s + tb, g->c ? g->c + tb : NULL, lw->w_hh, lw->b_hh, d->cell, B, H);
    }
    const float *s_top = a->dec[top].s + tb + BH;
    if (d->luong) attend(a, ps, w, ctx, probs, s_top); /* Luong: attend with the new state */
    if (c->attention == XLAT_ATTN_NONE) memcpy(ctx, fin_top, sizeof(float) * BH);
    float *cat = a->cat + 2 * tb, *o = a->o + tb;
    concat_rows(cat, s_top, H, ctx, H, (size_t)B);
    linear_forward(o, cat, w->out_w, NULL, B, 2 * H, H);
    for (size_t i = 0; i < BH; i++) o[i] = xlat_tanhf(o[i]);
    memcpy(a->o_drop + tb, o, sizeof(float) * BH);
    dropout_forward(a->o_drop + tb, a->o_mask + tb, BH, ps->p, ps->rng);
  }
  transpose_lb(a->out, a->o_drop, T, B, H, 0);
}

const float *rnn_forward(void *acts, const xlat_pass *ps, const void *w) {
  rnn_acts *a = acts;
  encode(a, ps, w);
  decode(a, ps, w);
  return a->out;
}

/* ---- backward ---------------------------------------------------------------------------------------------------- */

/* Attention backward at one step: dctx (B,H) given; dq (B,H) "=" the query's gradient; keys / memory gradients
 * accumulate into a->dkeys / a->dmem. */
static void attend_backward(rnn_acts *a, const xlat_pass *ps, const rnn_weights *w, rnn_weights *gw, float *dq,
                            const float *dctx, const float *probs, const float *q) {
  const xlat_config *c = ps->cfg;
  int B = ps->b->B, H = a->d.H;
  memset(dq, 0, sizeof(float) * B * H);
  rnn_attention_backward(dq, c->attention == XLAT_ATTN_DOT ? a->dmem : a->dkeys, a->dmem, gw->attn_v, a->scratch,
                         dctx, probs, q, keys_of(a, c), a->mem, w->attn_v, ps->b->src, a->sent, c->attention, B,
                         ps->b->S, H, H);
}

static void decode_backward(rnn_acts *a, const xlat_pass *ps, const rnn_weights *w, rnn_weights *gw,
                            const float *dout) {
  const xlat_config *c = ps->cfg;
  const rnn_dims *d = &a->d;
  int B = ps->b->B, S = ps->b->S, T = ps->b->T, H = d->H, GH = d->G * H, L = c->dec_layers, top = L - 1;
  int A = rnn_cell_act_floats(d->cell, H);
  size_t BH = (size_t)B * H, BG = (size_t)B * GH, LBH = (size_t)L * BH;
  transpose_lb(a->dtm, dout, B, T, H, 0); /* (B,T,H) -> (T,B,H) */
  float *dh = a->dh[0], *dh_prev = a->dh[1], *dc = a->dc[0], *dc_prev = a->dc[1];
  memset(dh, 0, sizeof(float) * LBH);
  if (dc) memset(dc, 0, sizeof(float) * LBH);
  memset(a->dfin, 0, sizeof(float) * LBH);
  memset(a->dmem, 0, sizeof(float) * B * S * H);
  memset(a->dkeys, 0, sizeof(float) * B * S * H);
  float *dfin_top = a->dfin + (size_t)top * BH, *dctx = a->dcat + BH; /* dcat's second half, free after the split */
  for (int t = T - 1; t >= 0; t--) {
    size_t tb = (size_t)t * BH;
    float *dtop = dh + (size_t)top * BH;
    /* the output layer: o = tanh(cat out_w^T), then dropout */
    float *go = a->dtm + tb;
    dropout_backward(go, a->o_mask + tb, BH, ps->p);
    for (size_t i = 0; i < BH; i++) go[i] *= 1.0f - a->o[tb + i] * a->o[tb + i];
    memset(a->dcat, 0, sizeof(float) * 2 * BH);
    linear_backward(a->dcat, gw->out_w, NULL, go, a->cat + 2 * tb, w->out_w, B, 2 * H, H);
    float *dsplit = a->dx; /* (B,H) the s_top half */
    split_rows(dsplit, H, a->dq, H, a->dcat, (size_t)B);
    add_to(dtop, dsplit, BH);
    memcpy(dctx, a->dq, sizeof(float) * BH); /* (B,H) gradient of c_t so far */
    if (d->luong) {
      attend_backward(a, ps, w, gw, a->dq, dctx, a->probs + (size_t)t * B * S, a->dec[top].s + tb + BH);
      add_to(dtop, a->dq, BH);
    }
    /* the layers, top down; dh_prev / dc_prev collect the gradients of the states before the step */
    memset(dh_prev, 0, sizeof(float) * LBH);
    if (dc_prev) memset(dc_prev, 0, sizeof(float) * LBH);
    for (int l = top; l >= 0; l--) {
      dec_acts *g = &a->dec[l];
      const rnn_layer *lw = &w->dec[l];
      rnn_layer *lg = &gw->dec[l];
      size_t lo = (size_t)l * BH;
      float *dgx = l == 0 ? a->dgx0 + (size_t)t * BG : a->dgx;
      rnn_cell_backward(dgx, dh_prev + lo, dc_prev ? dc_prev + lo : NULL, lg->w_hh, lg->b_hh, a->gh, dh + lo,
                        dc ? dc + lo : NULL, g->acts + (size_t)t * B * A, g->s + tb, g->c ? g->c + tb : NULL,
                        lw->w_hh, d->cell, B, H);
      if (l > 0) { /* x = drop(s of the layer below after the step) */
        memset(a->dx, 0, sizeof(float) * BH);
        linear_backward(a->dx, lg->w_ih, lg->b_ih, dgx, g->x + tb, lw->w_ih, B, H, GH);
        dropout_backward(a->dx, g->mask + tb, BH, ps->p);
        add_to(dh + lo - BH, a->dx, BH);
      }
    }
    if (d->feed) { /* layer 0's extra input z_t */
      memset(a->dx, 0, sizeof(float) * BH);
      linear_backward(a->dx, gw->feed_w, NULL, a->dgx0 + (size_t)t * BG, a->z + tb, w->feed_w, B, H, GH);
      if (c->attention == XLAT_ATTN_NONE)
        add_to(dfin_top, a->dx, BH);
      else if (c->attention == XLAT_ATTN_ADDITIVE)
        add_to(dctx, a->dx, BH);
      else if (t > 0)
        add_to(a->dtm + tb - BH, a->dx, BH); /* input feeding: into the previous step's output */
    }
    if (c->attention == XLAT_ATTN_NONE) add_to(dfin_top, dctx, BH);
    if (c->attention == XLAT_ATTN_ADDITIVE) { /* query: s_top before the step, through attn_w */
      attend_backward(a, ps, w, gw, a->dq, dctx, a->probs + (size_t)t * B * S, a->qa + tb);
      linear_backward(dh_prev + (size_t)top * BH, gw->attn_w, NULL, a->dq, a->dec[top].s + tb, w->attn_w, B, H, H);
    }
    float *swap = dh;
    dh = dh_prev, dh_prev = swap;
    swap = dc, dc = dc_prev, dc_prev = swap;
  }
  /* the initial states are the encoder's final ones */
  add_to(a->dfin, dh, LBH);
  if (dc) memcpy(a->dcfin, dc, sizeof(float) * LBH);
  /* layer 0's input projection of every step at once, then the target embeddings */
  memset(a->dtgt, 0, sizeof(float) * T * B * d->E);
  linear_backward(a->dtgt, gw->dec[0].w_ih, gw->dec[0].b_ih, a->dgx0, a->tgt_x, w->dec[0].w_ih, T * B, d->E, GH);
  dropout_backward(a->dtgt, a->tgt_mask, (size_t)T * B * d->E, ps->p);
  embed_tm_backward(gw->tgt_embed, a->dtgt, ps->b->tgt_in, B, T, d->E);
}

/* Every gradient from `from` on is final (xlat_pass.grads_final). */
static void final(const xlat_pass *ps, const float *from) {
  if (ps->grads_final) ps->grads_final(ps->grads_ctx, from);
}

static void encode_backward(rnn_acts *a, const xlat_pass *ps, const rnn_weights *w, rnn_weights *gw) {
  const xlat_config *c = ps->cfg;
  const rnn_dims *d = &a->d;
  int B = ps->b->B, S = ps->b->S, H = d->H, D = d->D, top = c->enc_layers - 1;
  size_t n = (size_t)S * B, BH = (size_t)B * H;
  if (c->attention == XLAT_ATTN_GENERAL)
    linear_backward(a->dmem, gw->attn_w, NULL, a->dkeys, a->mem, w->attn_w, B * S, H, H);
  if (c->attention == XLAT_ATTN_ADDITIVE)
    linear_backward(a->dmem, gw->attn_u, NULL, a->dkeys, a->mem, w->attn_u, B * S, H, H);
  final(ps, gw->dec[0].w_ih); /* the decoder's and the attention's tensors lie above the encoder's */
  memset(a->denc, 0, sizeof(float) * n * H);
  transpose_lb(a->denc, a->dmem, B, S, H, 0); /* (B,S,H) -> (S,B,H): the gradient of the top layer's cat */
  float *dlast = a->dx, *dclast = a->dq; /* (B,D) per direction */
  for (int l = top; l >= 0; l--) {
    enc_acts *e = &a->enc[l];
    int nin = l ? H : d->E;
    const float *dfin = a->dfin + (size_t)l * BH, *dcfin = a->dcfin ? a->dcfin + (size_t)l * BH : NULL;
    memset(a->dxin, 0, sizeof(float) * n * nin);
    for (int dir = 0; dir < d->dirs; dir++) {
      const rnn_layer *lw = &w->enc[l * d->dirs + dir];
      rnn_layer *lg = &gw->enc[l * d->dirs + dir];
      const float *dout = a->denc;
      if (d->dirs == 2) {
        split_rows(dir ? NULL : a->ddir[0], D, dir ? a->ddir[1] : NULL, D, a->denc, n);
        dout = a->ddir[dir];
        split_rows(dir ? NULL : dlast, D, dir ? dlast : NULL, D, dfin, (size_t)B);
        if (dcfin) split_rows(dir ? NULL : dclast, D, dir ? dclast : NULL, D, dcfin, (size_t)B);
      } else {
        memcpy(dlast, dfin, sizeof(float) * BH);
        if (dcfin) memcpy(dclast, dcfin, sizeof(float) * BH);
      }
      rnn_layer_backward(a->dxin, NULL, NULL, lg->w_ih, lg->b_ih, lg->w_hh, lg->b_hh, a->scratch, dout, dlast,
                         dcfin ? dclast : NULL, e->cache[dir], e->x, lw->w_ih, lw->w_hh, a->keep, dir, d->cell, B, S,
                         nin, D);
    }
    if (l > 0) { /* x = drop(cat of the layer below) */
      dropout_backward(a->dxin, e->mask, n * H, ps->p);
      memcpy(a->denc, a->dxin, sizeof(float) * n * H);
    }
    final(ps, gw->enc[l * d->dirs].w_ih);
  }
  dropout_backward(a->dxin, a->src_mask, n * d->E, ps->p);
  embed_tm_backward(gw->src_embed, a->dxin, ps->b->src, B, S, d->E);
}

void rnn_backward(void *acts, const xlat_pass *ps, const void *w, void *gw, float *dout) {
  rnn_acts *a = acts;
  decode_backward(a, ps, w, gw, dout);
  encode_backward(a, ps, w, gw);
}

/* rnn_decode.c - the recurrent encoder-decoders' cached decoder (behind decoder.c's checks): the encoder once per
 * source batch, then one target step at a time for a batch of hypotheses, each hypothesis row holding its layers'
 * states (and the previous attentional vector with input feeding). The layer sequence is rnn_train.c's in eval
 * mode (rnn.h has the model).
 *
 * As in transformer_decode.c, every product is kernels.h's matmul_rows and attention is one query against its own
 * sentence's keys in a fixed order, so a row's result depends neither on the other rows nor on the batch's padding
 * (xlat-decode's output does not change with the batch size or the thread count). The step weights are packed once
 * per model and shared by its decoders. Nothing is allocated after rnn_dec_new.
 */
#include <math.h>
#include <string.h>

#include "ops.h"
#include "rnn.h"
#include "rnn_ops.h"

/* Packed panels (xlat_pack_weights) of every matrix a decoder multiplies by. */
typedef struct {
  float **enc_ih, **enc_hh; /* [enc_layers * dirs] */
  float **dec_ih, **dec_hh; /* [dec_layers] */
  float *feed, *attn_w, *attn_u, *out_w, *out_proj;
  void *block;
} panels;

typedef struct {
  const xlat_model *m;
  const rnn_weights *w;
  const panels *pk;
  const xlat_kernels *k;
  rnn_dims d;
  int32_t cap_sent, cap_src, cap_hyps;
  int32_t B, S;
  int32_t *src;         /* (B,S) the encoded ids */
  uint8_t *keep;        /* (S,B) */
  float *mem, *keys;    /* (B,S,H) memory; general: mem attn_w^T, additive: mem attn_u^T */
  float *fin, *cfin;    /* (L,cap_sent,H) the encoder layers' final states */
  float *s, *c;         /* (L,cap_hyps+1,H) each hypothesis row's layer states; row cap_hyps: reorder's spare */
  float *o_prev;        /* (cap_hyps+1,H) input feeding: the previous attentional vector */
  /* encoder scratch, (S*B) rows */
  float *ex, *ecat;     /* (S*B, max(E,H)) a layer's input, (S*B,H) its output */
  float *eout[2];       /* (S*B,D) */
  float *egx;           /* (S*B,G*D) */
  float *eh, *ec, *ehn, *ecn; /* (B,D) */
  /* step scratch, cap_hyps rows (the encoder's steps use it too) */
  float *x, *gx, *gh, *acts, *hn, *cn, *ctx, *qa, *cat, *o;
  float *scores, *panel;
  void *block;
} decoder;

/* ---- panels ------------------------------------------------------------------------------------------------------ */

static size_t panels_layout(panels *p, const xlat_config *c, char *base) {
  rnn_dims d = rnn_dims_of(c);
  xlat_carver cv = {base, 0};
  int ne = c->enc_layers * d.dirs, GD = d.G * d.D, GH = d.G * d.H;
  p->enc_ih = xlat_carve(&cv, (size_t)ne, sizeof(float *));
  p->enc_hh = xlat_carve(&cv, (size_t)ne, sizeof(float *));
  p->dec_ih = xlat_carve(&cv, (size_t)c->dec_layers, sizeof(float *));
  p->dec_hh = xlat_carve(&cv, (size_t)c->dec_layers, sizeof(float *));
#define PANEL(rows, cols) ((float *)xlat_carve(&cv, xlat_packed_floats((rows), (cols)), sizeof(float)))
  for (int i = 0; i < ne; i++) {
    float *ih = PANEL(GD, i < d.dirs ? d.E : d.H), *hh = PANEL(GD, d.D);
    if (base) p->enc_ih[i] = ih, p->enc_hh[i] = hh;
  }
  for (int l = 0; l < c->dec_layers; l++) {
    float *ih = PANEL(GH, l ? d.H : d.E), *hh = PANEL(GH, d.H);
    if (base) p->dec_ih[l] = ih, p->dec_hh[l] = hh;
  }
  p->feed = d.feed ? PANEL(GH, d.H) : NULL;
  p->attn_w = c->attention >= XLAT_ATTN_GENERAL ? PANEL(d.H, d.H) : NULL;
  p->attn_u = c->attention == XLAT_ATTN_ADDITIVE ? PANEL(d.H, d.H) : NULL;
  p->out_w = PANEL(d.H, 2 * d.H);
  p->out_proj = PANEL(c->vocab_size, d.H);
#undef PANEL
  return cv.used;
}

void *rnn_panels_new(const xlat_model *m) {
  panels *p = calloc(1, sizeof *p);
  if (p && (p->block = aligned_alloc(64, panels_layout(p, &m->cfg, NULL))) != NULL) {
    panels_layout(p, &m->cfg, p->block);
    return p;
  }
  free(p);
  return NULL;
}

void rnn_panels_pack(void *panels_, const xlat_model *m) {
  panels *p = panels_;
  const xlat_config *c = &m->cfg;
  const rnn_weights *w = m->w;
  rnn_dims d = rnn_dims_of(c);
  int GD = d.G * d.D, GH = d.G * d.H;
  for (int i = 0; i < c->enc_layers * d.dirs; i++) {
    xlat_pack_weights(p->enc_ih[i], w->enc[i].w_ih, GD, i < d.dirs ? d.E : d.H);
    xlat_pack_weights(p->enc_hh[i], w->enc[i].w_hh, GD, d.D);
  }
  for (int l = 0; l < c->dec_layers; l++) {
    xlat_pack_weights(p->dec_ih[l], w->dec[l].w_ih, GH, l ? d.H : d.E);
    xlat_pack_weights(p->dec_hh[l], w->dec[l].w_hh, GH, d.H);
  }
  if (p->feed) xlat_pack_weights(p->feed, w->feed_w, GH, d.H);
  if (p->attn_w) xlat_pack_weights(p->attn_w, w->attn_w, d.H, d.H);
  if (p->attn_u) xlat_pack_weights(p->attn_u, w->attn_u, d.H, d.H);
  xlat_pack_weights(p->out_w, w->out_w, d.H, 2 * d.H);
  xlat_pack_weights(p->out_proj, w->out_proj, c->vocab_size, d.H);
}

void rnn_panels_free(void *panels_) {
  panels *p = panels_;
  if (!p) return;
  free(p->block);
  free(p);
}

/* ---- state ------------------------------------------------------------------------------------------------------- */

static size_t layout(decoder *d, char *base) {
  const xlat_config *c = &d->m->cfg;
  const rnn_dims *r = &d->d;
  size_t H = (size_t)r->H, E = (size_t)r->E, D = (size_t)r->D, L = (size_t)c->dec_layers;
  size_t EH = E > H ? E : H, GH = (size_t)r->G * H, GD = (size_t)r->G * D, A = (size_t)rnn_cell_act_floats(r->cell, r->H);
  size_t sent = (size_t)d->cap_sent, SB = sent * d->cap_src, rows = (size_t)d->cap_hyps + 1;
  size_t R = rows > sent ? rows : sent; /* step scratch rows: hypotheses, or the encoder's sentences */
  xlat_carver cv = {base, 0};
#define F(n) ((float *)xlat_carve(&cv, (size_t)(n), sizeof(float)))
  d->src = xlat_carve(&cv, SB, sizeof(int32_t));
  d->keep = xlat_carve(&cv, SB, 1);
  d->mem = F(SB * H);
  d->keys = F(SB * H);
  d->fin = F(L * sent * H);
  d->cfin = r->cell == RNN_CELL_LSTM ? F(L * sent * H) : NULL;
  d->s = F(L * rows * H);
  d->c = r->cell == RNN_CELL_LSTM ? F(L * rows * H) : NULL;
  d->o_prev = F(rows * H);
  d->ex = F(SB * EH);
  d->ecat = F(SB * H);
  d->eout[0] = F(SB * D);
  d->eout[1] = F(SB * D);
  d->egx = F(SB * GD);
  d->eh = F(sent * D);
  d->ec = F(sent * D);
  d->ehn = F(sent * D);
  d->ecn = F(sent * D);
  d->x = F(R * EH);
  d->gx = F(R * GH);
  d->gh = F(R * GH);
  d->acts = F(R * A);
  d->hn = F(R * H);
  d->cn = F(R * H);
  d->ctx = F(R * H);
  d->qa = F(R * H);
  d->cat = F(R * 2 * H);
  d->o = F(R * H);
  d->scores = F(d->cap_src);
  d->panel = F(2 * EH * XLAT_PANEL);
#undef F
  return cv.used;
}

xlat_status rnn_dec_new(const xlat_model *m, const void *pk, xlat_dec_shape cap, void **out) {
  *out = NULL;
  decoder *d = calloc(1, sizeof *d);
  if (!d) return xlat_fail(XLAT_ERR_NOMEM, "decoder: out of memory");
  d->m = m;
  d->w = m->w;
  d->pk = pk;
  d->k = xlat_kernels_get();
  d->d = rnn_dims_of(&m->cfg);
  d->cap_sent = cap.sent, d->cap_src = cap.src, d->cap_hyps = cap.hyps;
  size_t bytes = layout(d, NULL);
  if (!(d->block = aligned_alloc(64, bytes))) {
    free(d);
    return xlat_fail(XLAT_ERR_NOMEM, "decoder: out of memory for %zu bytes of state", bytes);
  }
  layout(d, d->block);
  *out = d;
  return XLAT_OK;
}

void rnn_dec_free(void *d_) {
  decoder *d = d_;
  if (!d) return;
  free(d->block);
  free(d);
}

void rnn_state_bytes(const xlat_config *c, double *per_hyp_pos, double *per_src_pos, double *per_hyp) {
  rnn_dims d = rnn_dims_of(c);
  double H = d.H, E = d.E, GH = d.G * d.H;
  *per_hyp_pos = 0.0; /* a hypothesis's state does not grow with its length */
  *per_src_pos = 4.0 * (3 * H + (E > H ? E : H) + GH);
  *per_hyp = 4.0 * (2.0 * c->vocab_size + 2 * c->dec_layers * H + 8 * H + 3 * GH);
}

/* ---- encoder ----------------------------------------------------------------------------------------------------- */

void rnn_encode(void *d_, const int32_t *src, int32_t B, int32_t S) {
  decoder *d = d_;
  const xlat_config *c = &d->m->cfg;
  const rnn_weights *w = d->w;
  const rnn_dims *r = &d->d;
  int H = r->H, D = r->D, GD = r->G * D, lstm = r->cell == RNN_CELL_LSTM;
  size_t SB = (size_t)S * B;
  d->B = B, d->S = S;
  memcpy(d->src, src, sizeof(int32_t) * SB);
  for (int t = 0; t < S; t++)
    for (int b = 0; b < B; b++) {
      int32_t id = src[(size_t)b * S + t];
      d->keep[(size_t)t * B + b] = id != XLAT_PAD;
      memcpy(d->ex + ((size_t)t * B + b) * r->E, w->src_embed + (size_t)id * r->E, sizeof(float) * r->E);
    }
  for (int l = 0; l < c->enc_layers; l++) {
    int nin = l ? H : r->E;
    for (int dir = 0; dir < r->dirs; dir++) {
      int i = l * r->dirs + dir;
      const rnn_layer *lw = &w->enc[i];
      d->k->matmul_rows(d->egx, d->ex, lw->w_ih, d->pk->enc_ih[i], lw->b_ih, d->panel, (int)SB, GD, nin);
      memset(d->eh, 0, sizeof(float) * B * D);
      memset(d->ec, 0, sizeof(float) * B * D);
      for (int k = 0; k < S; k++) {
        int t = dir ? S - 1 - k : k;
        d->k->matmul_rows(d->gh, d->eh, lw->w_hh, d->pk->enc_hh[i], NULL, d->panel, B, GD, D);
        rnn_cell_gates_forward(d->ehn, lstm ? d->ecn : NULL, d->acts, d->egx + (size_t)t * B * GD, d->gh, lw->b_hh,
                               d->eh, lstm ? d->ec : NULL, r->cell, B, D);
        for (int b = 0; b < B; b++) { /* a padded step keeps the state and outputs 0 */
          float *out = d->eout[dir] + ((size_t)t * B + b) * D;
          if (!d->keep[(size_t)t * B + b]) {
            memset(out, 0, sizeof(float) * D);
            continue;
          }
          memcpy(d->eh + (size_t)b * D, d->ehn + (size_t)b * D, sizeof(float) * D);
          if (lstm) memcpy(d->ec + (size_t)b * D, d->ecn + (size_t)b * D, sizeof(float) * D);
          memcpy(out, d->ehn + (size_t)b * D, sizeof(float) * D);
        }
      }
      /* final states: layer l's row of fin, this direction's half */
      for (int b = 0; b < B; b++) {
        size_t at = ((size_t)l * d->cap_sent + b) * H + (size_t)dir * D;
        memcpy(d->fin + at, d->eh + (size_t)b * D, sizeof(float) * D);
        if (lstm) memcpy(d->cfin + at, d->ec + (size_t)b * D, sizeof(float) * D);
      }
    }
    for (size_t i = 0; i < SB; i++) { /* the next layer's input: both directions side by side */
      memcpy(d->ecat + i * H, d->eout[0] + i * D, sizeof(float) * D);
      if (r->dirs == 2) memcpy(d->ecat + i * H + D, d->eout[1] + i * D, sizeof(float) * D);
    }
    memcpy(d->ex, d->ecat, sizeof(float) * SB * H);
  }
  for (int t = 0; t < S; t++) /* memory, batch-major */
    for (int b = 0; b < B; b++)
      memcpy(d->mem + ((size_t)b * S + t) * H, d->ecat + ((size_t)t * B + b) * H, sizeof(float) * H);
  if (c->attention == XLAT_ATTN_GENERAL)
    d->k->matmul_rows(d->keys, d->mem, w->attn_w, d->pk->attn_w, NULL, d->panel, (int)SB, H, H);
  if (c->attention == XLAT_ATTN_ADDITIVE)
    d->k->matmul_rows(d->keys, d->mem, w->attn_u, d->pk->attn_u, NULL, d->panel, (int)SB, H, H);
}

/* ---- one step ---------------------------------------------------------------------------------------------------- */

/* ctx (H) and, when probs != NULL, the probabilities (S) of query q (H; additive: projected) over sentence sent. */
static void attend(decoder *d, float *ctx, float *probs, const float *q, int32_t sent) {
  const xlat_config *c = &d->m->cfg;
  int H = d->d.H, S = d->S;
  const int32_t *ids = d->src + (size_t)sent * S;
  const float *keys = (c->attention == XLAT_ATTN_DOT ? d->mem : d->keys) + (size_t)sent * S * H;
  const float *mem = d->mem + (size_t)sent * S * H;
  float mx = -INFINITY, *sc = d->scores;
  for (int j = 0; j < S; j++) {
    if (ids[j] == XLAT_PAD) continue;
    const float *kj = keys + (size_t)j * H;
    if (c->attention == XLAT_ATTN_ADDITIVE) {
      sc[j] = d->k->additive_score(q, kj, d->w->attn_v, H); /* training's kernel and sum */
    } else {
      sc[j] = d->k->dot(q, kj, H);
    }
    if (sc[j] > mx) mx = sc[j];
  }
  memset(ctx, 0, sizeof(float) * H);
  if (mx == -INFINITY) return; /* no real key: zero context, as in training */
  float sum = 0.0f;
  for (int j = 0; j < S; j++)
    if (ids[j] != XLAT_PAD) sum += sc[j] = expf(sc[j] - mx);
  for (int j = 0; j < S; j++) {
    if (ids[j] == XLAT_PAD) continue;
    float p = sc[j] / sum;
    for (int a = 0; a < H; a++) ctx[a] += p * mem[(size_t)j * H + a];
    if (probs) probs[j] = p;
  }
}

void rnn_step(void *d_, int32_t N, const int32_t *hyp_sent, const int32_t *tokens, int32_t pos, float *logprobs,
              float *attn) {
  decoder *d = d_;
  const xlat_config *c = &d->m->cfg;
  const rnn_weights *w = d->w;
  const panels *pk = d->pk;
  const rnn_dims *r = &d->d;
  int H = r->H, E = r->E, GH = r->G * H, L = c->dec_layers, top = L - 1, S = d->S, lstm = r->cell == RNN_CELL_LSTM;
  size_t rows = (size_t)d->cap_hyps + 1, NH = (size_t)N * H;
  if (pos == 0) /* every row starts from its sentence's encoder states */
    for (int l = 0; l < L; l++)
      for (int i = 0; i < N; i++) {
        size_t from = ((size_t)l * d->cap_sent + hyp_sent[i]) * H, to = ((size_t)l * rows + i) * H;
        memcpy(d->s + to, d->fin + from, sizeof(float) * H);
        if (lstm) memcpy(d->c + to, d->cfin + from, sizeof(float) * H);
        if (l == 0) memset(d->o_prev + (size_t)i * H, 0, sizeof(float) * H);
      }
  float *s_top = d->s + (size_t)top * rows * H;
  for (int i = 0; i < N; i++)
    memcpy(d->x + (size_t)i * E, w->tgt_embed + (size_t)tokens[i] * E, sizeof(float) * E);
  d->k->matmul_rows(d->gx, d->x, w->dec[0].w_ih, pk->dec_ih[0], w->dec[0].b_ih, d->panel, N, GH, E);
  if (c->attention == XLAT_ATTN_ADDITIVE) { /* Bahdanau: attend with the state before the step */
    d->k->matmul_rows(d->qa, s_top, w->attn_w, pk->attn_w, NULL, d->panel, N, H, H);
    for (int i = 0; i < N; i++)
      attend(d, d->ctx + (size_t)i * H, attn ? attn + (size_t)i * S : NULL, d->qa + (size_t)i * H, hyp_sent[i]);
  } else if (c->attention == XLAT_ATTN_NONE) {
    for (int i = 0; i < N; i++)
      memcpy(d->ctx + (size_t)i * H, d->fin + ((size_t)top * d->cap_sent + hyp_sent[i]) * H, sizeof(float) * H);
  }
  if (r->feed) { /* layer 0's extra input: the context, or the previous attentional vector */
    const float *z = r->luong ? d->o_prev : d->ctx;
    d->k->matmul_rows(d->gh, z, w->feed_w, pk->feed, NULL, d->panel, N, GH, H);
    for (size_t i = 0; i < (size_t)N * GH; i++) d->gx[i] = d->gh[i] + d->gx[i];
  }
  for (int l = 0; l < L; l++) {
    const rnn_layer *lw = &w->dec[l];
    float *s = d->s + (size_t)l * rows * H, *cs = lstm ? d->c + (size_t)l * rows * H : NULL;
    if (l > 0)
      d->k->matmul_rows(d->gx, d->s + (size_t)(l - 1) * rows * H, lw->w_ih, pk->dec_ih[l], lw->b_ih, d->panel, N, GH,
                        H);
    d->k->matmul_rows(d->gh, s, lw->w_hh, pk->dec_hh[l], NULL, d->panel, N, GH, H);
    rnn_cell_gates_forward(d->hn, lstm ? d->cn : NULL, d->acts, d->gx, d->gh, lw->b_hh, s, cs, r->cell, N, H);
    memcpy(s, d->hn, sizeof(float) * NH);
    if (lstm) memcpy(cs, d->cn, sizeof(float) * NH);
  }
  if (r->luong) /* Luong: attend with the new state */
    for (int i = 0; i < N; i++)
      attend(d, d->ctx + (size_t)i * H, attn ? attn + (size_t)i * S : NULL, s_top + (size_t)i * H, hyp_sent[i]);
  for (int i = 0; i < N; i++) {
    memcpy(d->cat + (size_t)i * 2 * H, s_top + (size_t)i * H, sizeof(float) * H);
    memcpy(d->cat + (size_t)i * 2 * H + H, d->ctx + (size_t)i * H, sizeof(float) * H);
  }
  d->k->matmul_rows(d->o, d->cat, w->out_w, pk->out_w, NULL, d->panel, N, H, 2 * H);
  for (size_t i = 0; i < NH; i++) d->o[i] = xlat_tanhf(d->o[i]);
  if (r->luong && c->input_feeding) memcpy(d->o_prev, d->o, sizeof(float) * NH);
  d->k->matmul_rows(logprobs, d->o, w->out_proj, pk->out_proj, NULL, d->panel, N, c->vocab_size, H);
  logsoftmax_forward(logprobs, logprobs, N, c->vocab_size);
}

void rnn_copy_row(void *d_, int32_t to, int32_t from, int32_t cached) {
  decoder *d = d_;
  (void)cached; /* the state is the same size at every position */
  int H = d->d.H;
  size_t rows = (size_t)d->cap_hyps + 1;
  for (int l = 0; l < d->m->cfg.dec_layers; l++) {
    size_t base = (size_t)l * rows * H;
    memcpy(d->s + base + (size_t)to * H, d->s + base + (size_t)from * H, sizeof(float) * H);
    if (d->c) memcpy(d->c + base + (size_t)to * H, d->c + base + (size_t)from * H, sizeof(float) * H);
  }
  memcpy(d->o_prev + (size_t)to * H, d->o_prev + (size_t)from * H, sizeof(float) * H);
}

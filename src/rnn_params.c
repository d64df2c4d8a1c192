/* rnn_params.c - the recurrent encoder-decoders' config checks, parameter layout (rnn.h gives the order), the
 * pointer view (rnn_weights) of any parameter-shaped block, and their entries in the architecture table: one per
 * cell (rnn, gru, lstm), all served by rnn_*.c. */
#include <string.h>

#include "rnn.h"
#include "rnn_ops.h"

rnn_dims rnn_dims_of(const xlat_config *c) {
  rnn_dims d;
  d.cell = c->arch == XLAT_ARCH_GRU ? RNN_CELL_GRU : c->arch == XLAT_ARCH_LSTM ? RNN_CELL_LSTM : RNN_CELL_TANH;
  d.G = rnn_cell_gates(d.cell);
  d.E = c->emb_dim;
  d.H = c->d_model;
  d.dirs = c->bidirectional ? 2 : 1;
  d.D = d.H / d.dirs;
  d.luong = c->attention == XLAT_ATTN_DOT || c->attention == XLAT_ATTN_GENERAL;
  d.feed = !d.luong || c->input_feeding;
  return d;
}

xlat_status rnn_check(const xlat_config *c) {
  if (c->emb_dim < 1 || c->emb_dim > 65536)
    return xlat_fail(XLAT_ERR_ARG, "model config: emb_dim %d out of range (expected 1..65536)", c->emb_dim);
  if (c->tied_embeddings && c->emb_dim != c->d_model)
    return xlat_fail(XLAT_ERR_ARG, "model config: tied embeddings need emb_dim (%d) == d_model (%d): the target "
                     "embedding is also the output projection", c->emb_dim, c->d_model);
  if (c->attention < XLAT_ATTN_NONE || c->attention > XLAT_ATTN_ADDITIVE)
    return xlat_fail(XLAT_ERR_ARG, "model config: attention %d (expected 0 none, 1 dot, 2 general, 3 additive)",
                     c->attention);
  if (c->bidirectional != 0 && c->bidirectional != 1)
    return xlat_fail(XLAT_ERR_ARG, "model config: bidirectional %d (expected 0 or 1)", c->bidirectional);
  if (c->bidirectional && c->d_model % 2 != 0)
    return xlat_fail(XLAT_ERR_ARG, "model config: a bidirectional encoder needs an even d_model (got %d): each "
                     "direction has d_model/2 units", c->d_model);
  if (c->input_feeding != 0 && c->input_feeding != 1)
    return xlat_fail(XLAT_ERR_ARG, "model config: input_feeding %d (expected 0 or 1)", c->input_feeding);
  if (c->input_feeding && c->attention != XLAT_ATTN_DOT && c->attention != XLAT_ATTN_GENERAL)
    return xlat_fail(XLAT_ERR_ARG, "model config: input feeding is Luong's, for dot or general attention (the "
                     "additive and context-vector decoders feed the context itself)");
  if (c->enc_layers != c->dec_layers)
    return xlat_fail(XLAT_ERR_ARG, "model config: %d encoder and %d decoder layers; a recurrent decoder starts each "
                     "layer from the encoder layer's final state, so they must be equal", c->enc_layers,
                     c->dec_layers);
  if (c->attn_dropout != 0.0f)
    return xlat_fail(XLAT_ERR_ARG, "model config: attention dropout %g is a Transformer option (recurrent models "
                     "use dropout only)", (double)c->attn_dropout);
  return XLAT_OK;
}

static void add_layer(xlat_table *t, const char *prefix, int G, int units, int nin) {
  xlat_table_add(t, prefix, ".w_ih", 2, G * units, nin);
  xlat_table_add(t, prefix, ".b_ih", 1, G * units, 1);
  xlat_table_add(t, prefix, ".w_hh", 2, G * units, units);
  xlat_table_add(t, prefix, ".b_hh", 1, G * units, 1);
}

size_t rnn_params(const xlat_config *c, xlat_tensor_info *out, size_t cap) {
  rnn_dims d = rnn_dims_of(c);
  xlat_table t = {out, cap, 0, 0};
  char p[32];
  xlat_embedding_params(&t, c, xlat_config_src_vocab(c), c->vocab_size, d.E, d.H);
  for (int l = 0; l < c->enc_layers; l++)
    for (int dir = 0; dir < d.dirs; dir++) {
      snprintf(p, sizeof p, "enc.%d.%s", l, dir ? "bwd" : "fwd");
      add_layer(&t, p, d.G, d.D, l ? d.H : d.E);
    }
  for (int l = 0; l < c->dec_layers; l++) {
    snprintf(p, sizeof p, "dec.%d", l);
    add_layer(&t, p, d.G, d.H, l ? d.H : d.E);
  }
  if (d.feed) xlat_table_add(&t, "dec.feed_w", "", 2, d.G * d.H, d.H);
  if (c->attention == XLAT_ATTN_GENERAL || c->attention == XLAT_ATTN_ADDITIVE)
    xlat_table_add(&t, "attn.w", "", 2, d.H, d.H);
  if (c->attention == XLAT_ATTN_ADDITIVE) {
    xlat_table_add(&t, "attn.u", "", 2, d.H, d.H);
    xlat_table_add(&t, "attn.v", "", 2, 1, d.H);
  }
  xlat_table_add(&t, "out.w", "", 2, d.H, 2 * d.H);
  return t.n;
}

void rnn_unbind(void *view) {
  rnn_weights *w = view;
  if (!w) return;
  free(w->enc);
  free(w->dec);
  free(w);
}

static float *take(float **p, size_t n) {
  float *at = *p;
  *p += n;
  return at;
}

static void bind_layer(rnn_layer *L, float **p, int G, int units, int nin) {
  L->w_ih = take(p, (size_t)G * units * nin);
  L->b_ih = take(p, (size_t)G * units);
  L->w_hh = take(p, (size_t)G * units * units);
  L->b_hh = take(p, (size_t)G * units);
}

void *rnn_bind(const xlat_config *c, float *block, int tables) {
  (void)tables; /* no fixed tables */
  rnn_dims d = rnn_dims_of(c);
  rnn_weights *w = calloc(1, sizeof *w);
  if (!w) return NULL;
  w->enc = calloc((size_t)c->enc_layers * d.dirs, sizeof *w->enc);
  w->dec = calloc((size_t)c->dec_layers, sizeof *w->dec);
  if (!w->enc || !w->dec) {
    rnn_unbind(w);
    return NULL;
  }
  float *p = xlat_embedding_bind(c, block, d.E, d.H, &w->src_embed, &w->tgt_embed, &w->out_proj);
  for (int l = 0; l < c->enc_layers; l++)
    for (int dir = 0; dir < d.dirs; dir++) bind_layer(&w->enc[l * d.dirs + dir], &p, d.G, d.D, l ? d.H : d.E);
  for (int l = 0; l < c->dec_layers; l++) bind_layer(&w->dec[l], &p, d.G, d.H, l ? d.H : d.E);
  if (d.feed) w->feed_w = take(&p, (size_t)d.G * d.H * d.H);
  if (c->attention == XLAT_ATTN_GENERAL || c->attention == XLAT_ATTN_ADDITIVE) w->attn_w = take(&p, (size_t)d.H * d.H);
  if (c->attention == XLAT_ATTN_ADDITIVE) {
    w->attn_u = take(&p, (size_t)d.H * d.H);
    w->attn_v = take(&p, (size_t)d.H);
  }
  w->out_w = take(&p, (size_t)d.H * 2 * d.H);
  XLAT_ASSERT((size_t)(p - block) == xlat_param_count(c));
  return w;
}

float *rnn_out_proj(void *w) { return ((rnn_weights *)w)->out_proj; }
int32_t rnn_out_dim(const xlat_config *c) { return c->d_model; }

#define RNN_ARCH(arch_name)                                                                                        \
  {                                                                                                                \
    .name = arch_name, .check = rnn_check, .params = rnn_params, .bind = rnn_bind, .unbind = rnn_unbind,           \
    .out_proj = rnn_out_proj, .out_dim = rnn_out_dim, .acts_new = rnn_acts_new, .acts_free = rnn_acts_free,       \
    .forward = rnn_forward, .backward = rnn_backward, .panels_new = rnn_panels_new,                              \
    .panels_pack = rnn_panels_pack, .panels_free = rnn_panels_free, .dec_new = rnn_dec_new,                      \
    .dec_free = rnn_dec_free, .encode = rnn_encode, .step = rnn_step, .copy_row = rnn_copy_row,                  \
    .state_bytes = rnn_state_bytes                                                                                \
  }
const xlat_arch xlat_arch_rnn = RNN_ARCH("rnn");
const xlat_arch xlat_arch_gru = RNN_ARCH("gru");
const xlat_arch xlat_arch_lstm = RNN_ARCH("lstm");

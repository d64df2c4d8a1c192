/* train_step.c - one training or validation step of any architecture (arch.h): the batch checked, the
 * architecture's forward, the output projection of the non-pad target positions only (padding costs no
 * vocabulary-sized products), the label-smoothed loss, and the architecture's backward from the gradient of its
 * output. Holds the part of the activation arena every architecture shares. */
#include <string.h>

#include "arch.h"
#include "ops.h"

struct xlat_arena {
  int32_t max_tokens, max_len;
  void *acts;                     /* the architecture's own activations */
  float *packed;                  /* (N,D) decoder outputs of the non-pad target positions, in order */
  int32_t *rows, *packed_targets; /* (N) their row in the batch and their target id */
  int32_t n_packed;
  float *logits;                  /* (N,V) (training: packed rows only), overwritten by its gradient */
  float *loss, *nll, *lse;        /* (N) */
  float *dpacked;                 /* (N,D) gradient of packed */
  float *dout;                    /* (N,D) gradient of the architecture's output, zero on pad rows */
  const xlat_arch *arch;
  void *block;
};

static void carve_all(xlat_carver *c, xlat_arena *a, const xlat_config *cfg) {
  size_t N = (size_t)a->max_tokens, D = (size_t)a->arch->out_dim(cfg);
  a->packed = xlat_carve(c, N * D, sizeof(float));
  a->rows = xlat_carve(c, N, sizeof(int32_t));
  a->packed_targets = xlat_carve(c, N, sizeof(int32_t));
  a->logits = xlat_carve(c, N * cfg->vocab_size, sizeof(float));
  a->loss = xlat_carve(c, N, sizeof(float));
  a->nll = xlat_carve(c, N, sizeof(float));
  a->lse = xlat_carve(c, N, sizeof(float));
  a->dpacked = xlat_carve(c, N * D, sizeof(float));
  a->dout = xlat_carve(c, N * D, sizeof(float));
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
  a->arch = xlat_arch_of(cfg);
  xlat_status st = a->arch->acts_new(cfg, max_tokens, max_len, &a->acts);
  if (st != XLAT_OK) {
    xlat_arena_free(a);
    return st;
  }
  xlat_carver c = {NULL, 0};
  carve_all(&c, a, cfg);
  if (!(a->block = aligned_alloc(64, c.used))) {
    size_t mb = c.used >> 20;
    xlat_arena_free(a);
    return xlat_fail(XLAT_ERR_NOMEM, "trainer: out of memory for the output arena (%zu MiB for max_tokens %d)", mb,
                     max_tokens);
  }
  c = (xlat_carver){a->block, 0};
  carve_all(&c, a, cfg);
  *out = a;
  return XLAT_OK;
}

void xlat_arena_free(xlat_arena *a) {
  if (!a) return;
  if (a->acts) a->arch->acts_free(a->acts);
  free(a->block);
  free(a);
}

static xlat_status check_batch(const xlat_trainer *t, const xlat_batch *b) {
  const xlat_arena *a = t->arena;
  int32_t V = t->model->cfg.vocab_size, Vs = xlat_config_src_vocab(&t->model->cfg);
  if (b->B < 1 || b->S < 1 || b->T < 1 || b->S > a->max_len || b->T > a->max_len ||
      (int64_t)b->B * b->S > a->max_tokens || (int64_t)b->B * b->T > a->max_tokens)
    return xlat_fail(XLAT_ERR_ARG, "batch B %d, S %d, T %d exceeds the trainer's max_tokens %d / max_len %d", b->B,
                     b->S, b->T, a->max_tokens, a->max_len);
  for (size_t i = 0; i < (size_t)b->B * b->S; i++)
    if (b->src[i] < 0 || b->src[i] >= Vs)
      return xlat_fail(XLAT_ERR_ARG, "batch: source id %d at %zu out of range (vocabulary %d)", b->src[i], i, Vs);
  for (size_t i = 0; i < (size_t)b->B * b->T; i++)
    if (b->tgt_in[i] < 0 || b->tgt_in[i] >= V || b->tgt_out[i] < 0 || b->tgt_out[i] >= V)
      return xlat_fail(XLAT_ERR_ARG, "batch: target id at %zu out of range (vocabulary %d)", i, V);
  return XLAT_OK;
}

/* The output projection of the non-pad target rows of out (B*T,D): logits (n_packed,V) of a->packed, targets in
 * a->packed_targets. */
static void project_packed(xlat_arena *a, const xlat_batch *b, const float *out, const float *W, int D, int V) {
  int Nt = b->B * b->T, k = 0;
  for (int i = 0; i < Nt; i++) {
    if (b->tgt_out[i] == XLAT_PAD) continue;
    memcpy(a->packed + (size_t)k * D, out + (size_t)i * D, (size_t)D * sizeof *a->packed);
    a->rows[k] = i;
    a->packed_targets[k++] = b->tgt_out[i];
  }
  a->n_packed = k;
  if (k > 0) linear_forward(a->logits, a->packed, W, NULL, k, D, V);
}

static xlat_pass make_pass(xlat_trainer *t, const xlat_batch *b, int train) {
  const xlat_config *c = &t->model->cfg;
  return (xlat_pass){.cfg = c, .b = b, .p = train ? c->dropout : 0.0f, .pa = train ? c->attn_dropout : 0.0f,
                     .rng = train ? &t->rng : NULL};
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
  const xlat_model *m = t->model;
  const xlat_arch *arch = m->arch;
  xlat_arena *a = t->arena;
  int V = m->cfg.vocab_size, D = arch->out_dim(&m->cfg), Nt = b->B * b->T;
  xlat_pass ps = make_pass(t, b, 1);
  if (t->reduce_next) ps.grads_final = xlat_dist_grads_final, ps.grads_ctx = t;
  t->reduce_next = 0;
  const float *out = arch->forward(a->acts, &ps, m->w);
  project_packed(a, b, out, arch->out_proj(m->w), D, V);
  int np = a->n_packed;
  int64_t n = xent_forward_backward(a->logits, a->loss, a->packed_targets, np, V, t->opt.label_smoothing, 1.0f);
  double sum = 0.0;
  for (int i = 0; i < np; i++) sum += a->loss[i];
  /* through the projection, then scattered back to the batch's rows */
  memset(a->dpacked, 0, (size_t)np * D * sizeof *a->dpacked);
  if (np > 0)
    linear_backward(a->dpacked, arch->out_proj(t->gw), NULL, a->logits, a->packed, arch->out_proj(m->w), np, D, V);
  memset(a->dout, 0, (size_t)Nt * D * sizeof *a->dout);
  for (int k = 0; k < np; k++)
    memcpy(a->dout + (size_t)a->rows[k] * D, a->dpacked + (size_t)k * D, (size_t)D * sizeof *a->dout);
  arch->backward(a->acts, &ps, m->w, t->gw, a->dout);
  t->accum_tokens += n;
  if (loss_sum) *loss_sum += sum;
  if (ntokens) *ntokens += n;
  return XLAT_OK;
}

xlat_status xlat_trainer_eval_loss(xlat_trainer *t, const xlat_batch *b, double *nll_sum, int64_t *ntokens) {
  xlat_status st = check_batch(t, b);
  if (st != XLAT_OK) return st;
  xlat_pass ps = make_pass(t, b, 0);
  const xlat_model *m = xlat_trainer_ema_model(t); /* the weights validation keeps as best.xlat */
  xlat_arena *a = t->arena;
  int V = m->cfg.vocab_size;
  const float *out = m->arch->forward(a->acts, &ps, m->w);
  project_packed(a, b, out, m->arch->out_proj(m->w), m->arch->out_dim(&m->cfg), V);
  int np = a->n_packed;
  int64_t n = xent_forward(a->loss, a->nll, a->lse, a->logits, a->packed_targets, np, V, 0.0f);
  double sum = 0.0;
  for (int i = 0; i < np; i++) sum += a->nll[i];
  if (nll_sum) *nll_sum += sum;
  if (ntokens) *ntokens += n;
  return XLAT_OK;
}

xlat_status xlat_trainer_forward(xlat_trainer *t, const xlat_batch *b, int logprobs, float *out) {
  xlat_status st = check_batch(t, b);
  if (st != XLAT_OK) return st;
  xlat_pass ps = make_pass(t, b, 0);
  const xlat_model *m = t->model;
  const float *top = m->arch->forward(t->arena->acts, &ps, m->w);
  int Nt = b->B * b->T, V = m->cfg.vocab_size;
  linear_forward(t->arena->logits, top, m->arch->out_proj(m->w), NULL, Nt, m->arch->out_dim(&m->cfg), V);
  if (logprobs)
    logsoftmax_forward(out, t->arena->logits, Nt, V);
  else
    memcpy(out, t->arena->logits, (size_t)Nt * V * sizeof *out);
  return XLAT_OK;
}

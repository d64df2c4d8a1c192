/* trainer.c - per-run training state (gradients, Adam moments, EMA weights, RNG, activation arena) and the update:
 * gradients divided by the accumulated target-token count, global-norm clipping, Adam (Kingma & Ba 2015, with bias
 * correction) with decoupled weight decay (Loshchilov & Hutter 2019) on matrices only, the schedule of Vaswani et
 * al. 2017 (linear warmup, then inverse square root) scaled to peak at opt.lr, and an exponential moving average of
 * the weights. A step's forward/backward is train_step.c with the architecture's own (arch.h). */
#include <math.h>
#include <string.h>

#include "arch.h"

void xlat_train_options_default(xlat_train_options *o) {
  *o = (xlat_train_options){.lr = 7e-4f,
                            .warmup_steps = 4000,
                            .beta1 = 0.9f,
                            .beta2 = 0.98f,
                            .eps = 1e-9f,
                            .clip_norm = 0.0f,
                            .weight_decay = 0.0f,
                            .label_smoothing = 0.1f,
                            .ema_decay = 0.0f,
                            .max_tokens = 4096,
                            .max_len = 256};
}

static xlat_status check_options(const xlat_train_options *o, const xlat_config *cfg) {
  if (!(o->lr > 0.0f) || o->warmup_steps < 0)
    return xlat_fail(XLAT_ERR_ARG, "training options: lr %g / warmup_steps %d out of range (expected lr > 0, "
                     "warmup >= 0)", o->lr, o->warmup_steps);
  if (!(o->beta1 >= 0.0f && o->beta1 < 1.0f && o->beta2 >= 0.0f && o->beta2 < 1.0f && o->eps > 0.0f))
    return xlat_fail(XLAT_ERR_ARG, "training options: Adam beta1 %g, beta2 %g, eps %g (expected betas in [0,1), "
                     "eps > 0)", o->beta1, o->beta2, o->eps);
  if (!(o->clip_norm >= 0.0f) || !(o->weight_decay >= 0.0f))
    return xlat_fail(XLAT_ERR_ARG, "training options: clip_norm %g / weight_decay %g must be >= 0", o->clip_norm,
                     o->weight_decay);
  if (!(o->label_smoothing >= 0.0f && o->label_smoothing < 1.0f))
    return xlat_fail(XLAT_ERR_ARG, "training options: label_smoothing %g (expected 0 <= eps < 1)",
                     o->label_smoothing);
  if (!(o->ema_decay >= 0.0f && o->ema_decay < 1.0f))
    return xlat_fail(XLAT_ERR_ARG, "training options: ema_decay %g (expected 0 <= d < 1)", o->ema_decay);
  if (o->max_tokens < 1 || o->max_len < 1 || o->max_len > cfg->max_len)
    return xlat_fail(XLAT_ERR_ARG, "training options: max_tokens %d / max_len %d (expected >= 1, max_len <= model "
                     "max_len %d)", o->max_tokens, o->max_len, cfg->max_len);
  return XLAT_OK;
}

static xlat_status ensure_ema(xlat_trainer *t) {
  if (t->opt.ema_decay <= 0.0f || t->ema) return XLAT_OK;
  xlat_status st = xlat_model_alloc(&t->model->cfg, &t->ema);
  if (st != XLAT_OK) return st;
  memcpy(t->ema->params, t->model->params, t->n_params * sizeof(float));
  t->ema->tokenizer_checksum = t->model->tokenizer_checksum;
  return XLAT_OK;
}

xlat_status xlat_trainer_new(xlat_model *m, const xlat_train_options *opt, uint64_t seed, xlat_trainer **out) {
  *out = NULL;
  xlat_status st = check_options(opt, &m->cfg);
  if (st != XLAT_OK) return st;
  xlat_trainer *t = calloc(1, sizeof *t);
  if (!t) return xlat_fail(XLAT_ERR_NOMEM, "trainer: out of memory");
  t->model = m;
  t->opt = *opt;
  t->n_params = m->n_params;
  xlat_rng_seed(&t->rng, seed);
  t->seed = seed;
  t->rank = xlat_dist_rank();
  t->grads = xlat_alloc_floats(t->n_params);
  t->adam_m = xlat_alloc_floats(t->n_params);
  t->adam_v = xlat_alloc_floats(t->n_params);
  if (!t->grads || !t->adam_m || !t->adam_v) {
    xlat_trainer_free(t);
    return xlat_fail(XLAT_ERR_NOMEM, "trainer: out of memory for gradients and Adam moments (%zu parameters)",
                     m->n_params);
  }
  t->n_tensors = xlat_param_table(&m->cfg, NULL, 0);
  t->tensors = malloc(t->n_tensors * sizeof *t->tensors);
  if (!t->tensors) {
    xlat_trainer_free(t);
    return xlat_fail(XLAT_ERR_NOMEM, "trainer: out of memory");
  }
  xlat_param_table(&m->cfg, t->tensors, t->n_tensors);
  if (!(t->gw = m->arch->bind(&m->cfg, t->grads, 0)))
    st = xlat_fail(XLAT_ERR_NOMEM, "trainer: out of memory");
  if (st != XLAT_OK || (st = xlat_arena_new(&m->cfg, opt->max_tokens, opt->max_len, &t->arena)) != XLAT_OK ||
      (st = ensure_ema(t)) != XLAT_OK) {
    xlat_trainer_free(t);
    return st;
  }
  *out = t;
  return XLAT_OK;
}

void xlat_trainer_free(xlat_trainer *t) {
  if (!t) return;
  xlat_arena_free(t->arena);
  if (t->gw) t->model->arch->unbind(t->gw);
  xlat_model_free(t->ema);
  free(t->grads);
  free(t->adam_m);
  free(t->adam_v);
  free(t->tensors);
  free(t->bucket_start);
  free(t->requests);
  free(t);
}

float xlat_trainer_lr(const xlat_trainer *t, int64_t step) {
  /* lr * min(step / warmup, sqrt(warmup / step)) for step >= 1: peaks at lr when step == warmup */
  double s = step < 1 ? 1.0 : (double)step, w = t->opt.warmup_steps;
  if (w <= 0.0) return t->opt.lr;
  return (float)(t->opt.lr * fmin(s / w, sqrt(w / s)));
}

xlat_status xlat_trainer_update(xlat_trainer *t, float *lr_used, float *grad_norm) {
  if (t->accum_tokens <= 0)
    return xlat_fail(XLAT_ERR_ARG, "trainer update: no target tokens accumulated since the last update");
  size_t n = t->n_params;
  float *g = t->grads, *p = t->model->params, *mo = t->adam_m, *v = t->adam_v;
  float inv = 1.0f / (float)t->accum_tokens;
  enum { LANES = 8 }; /* independent sums the compiler vectorizes */
  double sq[LANES] = {0};
  size_t i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int j = 0; j < LANES; j++) {
      g[i + j] *= inv;
      sq[j] += (double)g[i + j] * g[i + j];
    }
  for (; i < n; i++) {
    g[i] *= inv;
    sq[0] += (double)g[i] * g[i];
  }
  for (int j = 1; j < LANES; j++) sq[0] += sq[j];
  float norm = (float)sqrt(sq[0]);
  if (!isfinite(norm)) { /* the accumulated gradients are dropped: the caller may go on with the next batch */
    memset(g, 0, n * sizeof *g);
    t->accum_tokens = 0;
    t->accum_calls = 0;
    return xlat_fail(XLAT_ERR_ARG, "trainer update at step %lld: gradient norm is %g (diverged); gradients dropped",
                     (long long)t->step + 1, norm);
  }
  float gscale = t->opt.clip_norm > 0.0f && norm > t->opt.clip_norm ? t->opt.clip_norm / norm : 1.0f;
  int64_t step = t->step + 1;
  float lr = xlat_trainer_lr(t, step), b1 = t->opt.beta1, b2 = t->opt.beta2, eps = t->opt.eps;
  float c1 = (float)(1.0 - pow(b1, (double)step)), c2 = (float)(1.0 - pow(b2, (double)step));
  float step_size = lr / c1, rc2 = 1.0f / sqrtf(c2);
  for (size_t k = 0; k < t->n_tensors; k++) {
    const xlat_tensor_info *ti = &t->tensors[k];
    /* decoupled weight decay on matrices (embeddings included), not on biases or norm parameters */
    float keep = ti->ndim == 2 ? 1.0f - lr * t->opt.weight_decay : 1.0f;
    size_t end = ti->offset + (size_t)ti->rows * ti->cols;
    for (i = ti->offset; i < end; i++) {
      float gi = g[i] * gscale;
      mo[i] = b1 * mo[i] + (1.0f - b1) * gi;
      v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
      p[i] = p[i] * keep - step_size * mo[i] / (sqrtf(v[i]) * rc2 + eps);
    }
  }
  if (t->ema) {
    float d = t->opt.ema_decay, *e = t->ema->params;
    for (i = 0; i < n; i++) e[i] = d * e[i] + (1.0f - d) * p[i];
    t->ema->tokenizer_checksum = t->model->tokenizer_checksum;
  }
  memset(g, 0, n * sizeof *g);
  t->accum_tokens = 0;
  t->accum_calls = 0;
  t->step = step;
  if (lr_used) *lr_used = lr;
  if (grad_norm) *grad_norm = norm;
  return XLAT_OK;
}

int64_t xlat_trainer_step(const xlat_trainer *t) { return t->step; }
xlat_progress *xlat_trainer_progress(xlat_trainer *t) { return &t->progress; }
const xlat_train_options *xlat_trainer_options(const xlat_trainer *t) { return &t->opt; }
const xlat_model *xlat_trainer_ema_model(const xlat_trainer *t) { return t->ema ? t->ema : t->model; }

xlat_status xlat_trainer_reset(xlat_trainer *t, const xlat_train_options *opt, int reset) {
  xlat_status st = check_options(opt, &t->model->cfg);
  if (st != XLAT_OK) return st;
  if (opt->max_tokens != t->opt.max_tokens || opt->max_len != t->opt.max_len) {
    xlat_arena *a;
    if ((st = xlat_arena_new(&t->model->cfg, opt->max_tokens, opt->max_len, &a)) != XLAT_OK) return st;
    xlat_arena_free(t->arena);
    t->arena = a;
  }
  t->opt = *opt;
  if (opt->ema_decay <= 0.0f) {
    xlat_model_free(t->ema);
    t->ema = NULL;
  } else if ((st = ensure_ema(t)) != XLAT_OK) {
    return st;
  }
  if (reset) {
    t->step = 0;
    memset(t->adam_m, 0, t->n_params * sizeof(float));
    memset(t->adam_v, 0, t->n_params * sizeof(float));
    memset(&t->progress, 0, sizeof t->progress);
  }
  return XLAT_OK;
}

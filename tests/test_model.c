/* test_model.c - the whole training path: gradients of the summed label-smoothed loss against central finite
 * differences on tiny models (Transformers post-norm and pre-norm, ReLU and GELU, tied and untied, learned and
 * relative positions, with and without dropout; recurrent models of each cell and attention, bidirectional, input
 * feeding, two layers, dropout), the eval-mode forward against the loss, the optimizer's schedule, the parameter
 * table and initialization of relative positions, and overfitting a small data set. */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "test.h"

/* Counts heap allocations while counting_allocations is set: this program's malloc family wraps glibc's (not under
 * AddressSanitizer, which brings its own). */
static int counting_allocations, allocations;
#ifndef __SANITIZE_ADDRESS__
#define COUNTS_ALLOCATIONS 1
void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t n);
void *__libc_memalign(size_t align, size_t n);
void *malloc(size_t n) {
  allocations += counting_allocations;
  return __libc_malloc(n);
}
void *calloc(size_t n, size_t size) {
  allocations += counting_allocations;
  return __libc_calloc(n, size);
}
void *realloc(void *p, size_t n) {
  allocations += counting_allocations;
  return __libc_realloc(p, n);
}
void *aligned_alloc(size_t align, size_t n) {
  allocations += counting_allocations;
  return __libc_memalign(align, n);
}
#else
#define COUNTS_ALLOCATIONS 0
#endif

/* Relative positions clip distances at K 2: the batch below has distances up to 4, so clipping takes part. */
static xlat_config tiny_config(int pre_norm, int act, int tied, int positions) {
  return (xlat_config){.vocab_size = 20, .d_model = 8, .n_heads = 2, .d_ff = 16, .enc_layers = 1, .dec_layers = 1,
                       .max_len = 16, .pre_norm = pre_norm, .activation = act, .tied_embeddings = tied,
                       .positions = positions, .rel_clip = positions == XLAT_POS_RELATIVE ? 2 : 0, .dropout = 0.0f,
                       .attn_dropout = 0.0f};
}

/* Right-padded batch: B 3, S 5, T 4; row 1 has a shorter source and target. */
static const int32_t src[15] = {5, 6, 7, 8, 3, 9, 10, 3, 0, 0, 11, 12, 13, 14, 3};
static const int32_t tin[12] = {2, 15, 16, 17, 2, 18, 0, 0, 2, 19, 4, 5};
static const int32_t tout[12] = {15, 16, 17, 3, 18, 3, 0, 0, 19, 4, 5, 3};

static xlat_rng start_rng; /* every evaluation draws the same dropout masks */

static double batch_loss(xlat_trainer *t, const xlat_batch *b) {
  t->rng = start_rng;
  double loss = 0.0;
  int64_t n = 0;
  CHECK(xlat_trainer_accumulate(t, b, &loss, &n) == XLAT_OK);
  return loss;
}

/* Central difference; also the one-sided differences in fwd/bwd. */
static double numeric_grad(xlat_trainer *t, const xlat_batch *b, float *p, float h, double *fwd, double *bwd) {
  float save = *p;
  double l0 = batch_loss(t, b);
  *p = save + h;
  double lp = batch_loss(t, b);
  *p = save - h;
  double lm = batch_loss(t, b);
  *p = save;
  *fwd = (lp - l0) / h;
  *bwd = (l0 - lm) / h;
  return (lp - lm) / (2.0 * h);
}

static int close_enough(double num, double ana) { return fabs(num - ana) <= 2e-2 * fmax(fabs(num), fabs(ana)) + 2e-3; }

/* A tiny recurrent model: vocabulary 20, E 6 (8 when tied), H 8. */
static xlat_config rnn_config(int arch, int attention, int bidir, int feeding, int layers, int tied, float dropout) {
  return (xlat_config){.arch = arch, .vocab_size = 20, .d_model = 8, .n_heads = 1, .enc_layers = layers,
                       .dec_layers = layers, .max_len = 16, .tied_embeddings = tied, .dropout = dropout,
                       .emb_dim = tied ? 8 : 6, .attention = attention, .bidirectional = bidir,
                       .input_feeding = feeding};
}

/* A model of cfg (seed 7) and its trainer sized for the batch above; 0 when both were made. */
static int tiny_trainer(const xlat_config *cfg, xlat_model **m, xlat_trainer **t) {
  xlat_train_options opt;
  xlat_train_options_default(&opt);
  opt.max_tokens = 32;
  opt.max_len = 8;
  *m = NULL, *t = NULL;
  CHECK(xlat_model_new(cfg, 7, m) == XLAT_OK);
  CHECK(*m && xlat_trainer_new(*m, &opt, 1, t) == XLAT_OK);
  return *m && *t ? 0 : -1;
}

static void gradcheck_config(xlat_config cfg) {
  int act = cfg.arch == XLAT_ARCH_TRANSFORMER ? cfg.activation : XLAT_ACT_GELU; /* ReLU kinks: Transformers only */
  float dropout = cfg.dropout;
  xlat_model *m;
  xlat_trainer *t;
  if (tiny_trainer(&cfg, &m, &t) != 0) return;
  xlat_batch b = {3, 5, 4, src, tin, tout};
  start_rng = t->rng;
  double loss = 0.0, eval = 0.0;
  int64_t n = 0, ne = 0;
  CHECK(xlat_trainer_accumulate(t, &b, &loss, &n) == XLAT_OK);
  CHECK(n == 10);
  CHECK(xlat_trainer_eval_loss(t, &b, &eval, &ne) == XLAT_OK);
  CHECK(ne == 10);
  if (dropout == 0.0f) { /* eval loss is the unsmoothed NLL: smoothing only adds eps * (mean -logp - nll) */
    CHECK(eval > 0.0 && fabs(eval - loss) < 0.2 * loss);
  } else { /* dropout changes the training loss; the same RNG state gives the same loss */
    CHECK(fabs(batch_loss(t, &b) - loss) < 1e-9);
    double other = 0.0;
    CHECK(xlat_trainer_accumulate(t, &b, &other, &ne) == XLAT_OK); /* the RNG moved on: other masks */
    CHECK(fabs(other - loss) > 1e-3);
  }
  memset(t->grads, 0, m->n_params * sizeof *t->grads);
  t->rng = start_rng;
  CHECK(xlat_trainer_accumulate(t, &b, &loss, &n) == XLAT_OK);
  size_t np = m->n_params;
  float *g = malloc(np * sizeof *g);
  memcpy(g, t->grads, np * sizeof *g);
  /* every tensor: its largest-gradient entry and a strided sample */
  size_t nt = xlat_param_table(&cfg, NULL, 0);
  xlat_tensor_info *tab = malloc(nt * sizeof *tab);
  xlat_param_table(&cfg, tab, nt);
  int bad = 0, checked = 0, kinks = 0;
  for (size_t k = 0; k < nt; k++) {
    size_t cnt = (size_t)tab[k].rows * tab[k].cols, off = tab[k].offset;
    for (size_t j = 0; j < cnt; j += cnt / 8 + 1) {
      size_t i = off + j;
      double fwd, bwd, num = numeric_grad(t, &b, &m->params[i], act == XLAT_ACT_RELU ? 2e-3f : 1e-2f, &fwd, &bwd);
      double ana = g[i];
      checked++;
      if (close_enough(num, ana)) continue;
      /* A ReLU unit at exactly 0 (a kink at this point): the gradient is one of the one-sided derivatives. */
      if (act == XLAT_ACT_RELU && (close_enough(fwd, ana) || close_enough(bwd, ana))) {
        kinks++;
        continue;
      }
      if (bad++ < 10)
        fprintf(stderr, "grad %s[%zu] (arch %d attention %d bidir %d feeding %d pre %d act %d tied %d positions %d "
                "K %d dropout %g): analytic %.6g numeric %.6g\n", tab[k].name, j, cfg.arch, cfg.attention,
                cfg.bidirectional, cfg.input_feeding, cfg.pre_norm, act, cfg.tied_embeddings, cfg.positions,
                cfg.rel_clip, dropout, ana, num);
    }
  }
  CHECK(kinks * 20 <= checked);
  CHECK(bad == 0);
  CHECK(checked > 50);
  free(tab);
  free(g);
  xlat_trainer_free(t);
  xlat_model_free(m);
}

static void gradcheck(int pre_norm, int act, int tied, int positions, float dropout) {
  xlat_config cfg = tiny_config(pre_norm, act, tied, positions);
  cfg.dropout = cfg.attn_dropout = dropout;
  gradcheck_config(cfg);
}

/* ---- presets, configuration errors -------------------------------------------------------------------------- */

static void configs(void) {
  xlat_config c;
  CHECK(xlat_config_preset("base", &c) == XLAT_OK);
  CHECK(c.d_model == 512 && c.enc_layers == 6 && c.dec_layers == 6 && c.n_heads == 8 && c.d_ff == 2048);
  CHECK(c.tied_embeddings == 1 && c.pre_norm == 0 && c.activation == XLAT_ACT_RELU && c.max_len == 256);
  CHECK(xlat_config_preset("small", &c) == XLAT_OK && c.d_model == 256 && c.enc_layers == 3 && c.d_ff == 1024);
  CHECK(xlat_config_preset("big", &c) == XLAT_OK && c.d_model == 1024 && c.n_heads == 16 && c.d_ff == 4096);
  CHECK(xlat_config_preset("huge", &c) == XLAT_ERR_ARG && strstr(xlat_last_error(), "huge") != NULL);
  CHECK(xlat_config_preset("lstm", &c) == XLAT_OK && c.arch == XLAT_ARCH_LSTM && c.attention == XLAT_ATTN_ADDITIVE);
  CHECK(xlat_config_check(&c) == XLAT_OK);
  c.input_feeding = 1; /* Luong's, not with additive attention */
  CHECK(xlat_config_check(&c) == XLAT_ERR_ARG && strstr(xlat_last_error(), "input feeding") != NULL);
  c.input_feeding = 0, c.emb_dim = 128; /* tied needs emb_dim == d_model */
  CHECK(xlat_config_check(&c) == XLAT_ERR_ARG && strstr(xlat_last_error(), "emb_dim (128) == d_model (256)") != NULL);
  c.tied_embeddings = 0, c.dec_layers = 2;
  CHECK(xlat_config_check(&c) == XLAT_ERR_ARG && strstr(xlat_last_error(), "must be equal") != NULL);
  CHECK(xlat_config_preset("tiny", &c) == XLAT_OK && c.d_model == 128 && c.enc_layers == 2 && c.n_heads == 4);
  CHECK(xlat_config_check(&c) == XLAT_OK);
  c.n_heads = 3;
  CHECK(xlat_config_check(&c) == XLAT_ERR_ARG && strstr(xlat_last_error(), "n_heads 3") != NULL);
  c.n_heads = 4, c.dropout = 1.0f;
  CHECK(xlat_config_check(&c) == XLAT_ERR_ARG && strstr(xlat_last_error(), "dropout") != NULL);
  xlat_model *m = NULL;
  CHECK(xlat_model_new(&c, 1, &m) == XLAT_ERR_ARG && m == NULL);
  /* positions: relative needs a clip K >= 1; the others none */
  CHECK(xlat_config_preset("tiny", &c) == XLAT_OK && c.positions == XLAT_POS_SINUSOIDAL && c.rel_clip == 0);
  c.positions = XLAT_POS_RELATIVE;
  CHECK(xlat_config_check(&c) == XLAT_ERR_ARG && strstr(xlat_last_error(), "rel_clip 0") != NULL);
  c.rel_clip = 16;
  CHECK(xlat_config_check(&c) == XLAT_OK);
  c.positions = XLAT_POS_LEARNED;
  CHECK(xlat_config_check(&c) == XLAT_ERR_ARG && strstr(xlat_last_error(), "rel_clip 16") != NULL);
  c.positions = 3, c.rel_clip = 0;
  CHECK(xlat_config_check(&c) == XLAT_ERR_ARG && strstr(xlat_last_error(), "positions 3") != NULL);
  /* parameter count of the tiny preset, tied: V*C + 2 encoder layers + 2 decoder layers */
  CHECK(xlat_config_preset("tiny", &c) == XLAT_OK);
  size_t C = 128, F = 512, attn = 4 * C * C + 4 * C, ffn = 2 * C * F + F + C;
  CHECK(xlat_param_count(&c) == 8000 * C + 2 * (attn + ffn + 4 * C) + 2 * (2 * attn + ffn + 6 * C));
  CHECK(xlat_model_new(&c, 1, &m) == XLAT_OK && xlat_model_num_params(m) == xlat_param_count(&c));
  /* initialization: seeded, unit gains, zero biases */
  xlat_model *m2 = NULL;
  CHECK(xlat_model_new(&c, 1, &m2) == XLAT_OK);
  CHECK(memcmp(m->params, m2->params, m->n_params * sizeof(float)) == 0);
  CHECK(m->params[xlat_param_find(&c, "enc.0.norm1.g").offset + 5] == 1.0f &&
        m->params[xlat_param_find(&c, "enc.0.norm1.b").offset + 5] == 0.0f &&
        m->params[xlat_param_find(&c, "dec.1.ffn.b1").offset + 7] == 0.0f);
  xlat_model_free(m2);
  CHECK(xlat_model_new(&c, 2, &m2) == XLAT_OK);
  CHECK(memcmp(m->params, m2->params, m->n_params * sizeof(float)) != 0);
  xlat_model_free(m2);
  xlat_model_free(m);
  /* relative positions (K 16): no position table, two (2K+1, D) tables per self-attention, right after its
   * projections, drawn N(0, D^-1/2) like embeddings */
  CHECK(xlat_config_preset("tiny", &c) == XLAT_OK);
  c.positions = XLAT_POS_RELATIVE, c.rel_clip = 16;
  size_t D = C / 4, rel = 2 * 33 * D;
  CHECK(xlat_param_count(&c) == 8000 * C + 2 * (attn + rel + ffn + 4 * C) + 2 * (2 * attn + rel + ffn + 6 * C));
  xlat_tensor_info ob = xlat_param_find(&c, "dec.1.self_attn.out_b"), rk = xlat_param_find(&c, "dec.1.self_attn.rel_k"),
                   rv = xlat_param_find(&c, "dec.1.self_attn.rel_v");
  CHECK(rk.offset == ob.offset + C && rk.rows == 33 && rk.cols == (int32_t)D && rv.offset == rk.offset + 33 * D);
  CHECK(xlat_param_find(&c, "dec.1.norm1.g").offset == rv.offset + 33 * D);
  size_t nt = xlat_param_table(&c, NULL, 0);
  xlat_tensor_info *tab = malloc(nt * sizeof *tab);
  xlat_param_table(&c, tab, nt);
  int rel_tables = 0;
  for (size_t i = 0; i < nt; i++) rel_tables += strstr(tab[i].name, ".rel_") != NULL;
  CHECK(rel_tables == 8); /* 2 encoder + 2 decoder self-attentions, none in cross-attention */
  free(tab);
  CHECK(xlat_model_new(&c, 1, &m) == XLAT_OK);
  double sq = 0.0;
  for (size_t i = 0; i < 33 * D; i++) sq += (double)m->params[rk.offset + i] * m->params[rk.offset + i];
  CHECK(fabs(sqrt(sq / (33 * D)) - 1.0 / sqrt((double)D)) < 0.1 / sqrt((double)D));
  char desc[256];
  CHECK(strstr(xlat_config_describe(&c, desc, sizeof desc), "relative positions (K 16)") != NULL);
  xlat_model_free(m);
}

/* ---- optimizer ----------------------------------------------------------------------------------------------- */

static void optimizer(void) {
  xlat_config cfg = tiny_config(0, XLAT_ACT_RELU, 0, 0); /* untied: embedding rows of unused ids get no gradient */
  xlat_train_options opt;
  xlat_train_options_default(&opt);
  opt.max_tokens = 32, opt.max_len = 8, opt.lr = 1e-2f, opt.warmup_steps = 4;
  xlat_model *m = NULL;
  xlat_trainer *t = NULL;
  CHECK(xlat_model_new(&cfg, 5, &m) == XLAT_OK && xlat_trainer_new(m, &opt, 1, &t) == XLAT_OK);
  if (!t) return;
  /* schedule: linear warmup to lr at step 4, then lr * sqrt(4 / step) */
  CHECK_CLOSE(xlat_trainer_lr(t, 1), 2.5e-3, 1e-9);
  CHECK_CLOSE(xlat_trainer_lr(t, 4), 1e-2, 1e-9);
  CHECK_CLOSE(xlat_trainer_lr(t, 16), 5e-3, 1e-9);
  CHECK(xlat_trainer_update(t, NULL, NULL) == XLAT_ERR_ARG); /* nothing accumulated */

  xlat_batch b = {3, 5, 4, src, tin, tout};
  size_t n = m->n_params;
  float *p0 = malloc(n * sizeof *p0), *g = malloc(n * sizeof *g);
  memcpy(p0, m->params, n * sizeof *p0);
  double loss = 0.0;
  int64_t ntok = 0;
  CHECK(xlat_trainer_accumulate(t, &b, &loss, &ntok) == XLAT_OK);
  CHECK(xlat_trainer_accumulate(t, &b, &loss, &ntok) == XLAT_OK); /* two batches: gradients add up */
  memcpy(g, t->grads, n * sizeof *g);
  double sq = 0.0;
  for (size_t i = 0; i < n; i++) sq += (double)(g[i] / 20.0f) * (g[i] / 20.0f);
  float lr = 0.0f, norm = 0.0f;
  CHECK(xlat_trainer_update(t, &lr, &norm) == XLAT_OK);
  CHECK(ntok == 20 && xlat_trainer_step(t) == 1);
  CHECK_CLOSE(lr, 2.5e-3, 1e-9);
  CHECK_CLOSE(norm, sqrt(sq), 1e-5); /* the norm of the gradient divided by the 20 target tokens */
  /* Adam's first step moves every parameter with a gradient by lr against its sign; gradients are zeroed */
  int bad = 0, zero = 1;
  for (size_t i = 0; i < n; i++) {
    zero &= t->grads[i] == 0.0f;
    if (g[i] != 0.0f && fabs(g[i]) < 1e-5f) continue; /* here Adam's eps matters */
    double want = g[i] != 0.0f ? p0[i] - 2.5e-3 * (g[i] > 0 ? 1 : -1) : p0[i];
    bad += fabs(m->params[i] - want) > 1e-5;
  }
  CHECK(bad == 0 && zero);
  CHECK(xlat_trainer_update(t, NULL, NULL) == XLAT_ERR_ARG); /* the token count was reset too */

  /* clipping scales the gradient Adam sees: first moment = (1 - beta1) * g * clip / norm */
  opt.clip_norm = 1e-3f;
  CHECK(xlat_trainer_reset(t, &opt, 1) == XLAT_OK && xlat_trainer_step(t) == 0);
  CHECK(xlat_trainer_accumulate(t, &b, &loss, &ntok) == XLAT_OK);
  memcpy(g, t->grads, n * sizeof *g);
  CHECK(xlat_trainer_update(t, NULL, &norm) == XLAT_OK);
  bad = 0;
  for (size_t i = 0; i < n; i++) bad += fabs(t->adam_m[i] - 0.1 * (g[i] / 10.0) * 1e-3 / norm) > 1e-9;
  CHECK(bad == 0);

  /* decoupled weight decay shrinks matrices, here the source embedding row of an id the batch does not use (no
   * gradient, no Adam step), and leaves biases alone; EMA averages the weights after each update */
  opt.clip_norm = 0.0f, opt.weight_decay = 0.5f, opt.ema_decay = 0.9f;
  CHECK(xlat_trainer_reset(t, &opt, 1) == XLAT_OK);
  memcpy(p0, m->params, n * sizeof *p0);
  /* id 1 (UNK) is not in the batch */
  size_t r0 = xlat_param_find(&cfg, cfg.tied_embeddings ? "embed" : "src_embed").offset + 1 * (size_t)cfg.d_model;
  size_t b0 = xlat_param_find(&cfg, "dec.0.ffn.b2").offset;
  CHECK(xlat_trainer_accumulate(t, &b, &loss, &ntok) == XLAT_OK);
  CHECK(t->grads[r0] == 0.0f && t->grads[b0] != 0.0f);
  CHECK(xlat_trainer_update(t, &lr, NULL) == XLAT_OK);
  CHECK_CLOSE(m->params[r0], p0[r0] * (1.0 - lr * 0.5), 1e-7);
  CHECK_CLOSE(m->params[b0], p0[b0] - lr * (t->adam_m[b0] > 0.0f ? 1 : -1), 1e-5); /* no decay on biases */
  const xlat_model *ema = xlat_trainer_ema_model(t);
  CHECK(ema != m);
  bad = 0;
  for (size_t i = 0; i < n; i++) bad += fabs(ema->params[i] - (0.9f * p0[i] + 0.1f * m->params[i])) > 1e-6;
  CHECK(bad == 0);
  /* validation scores the weights best.xlat keeps: with EMA on, the dev loss is the EMA weights' loss */
  double l_ema = 0, l_raw = 0, l_check = 0;
  int64_t nt = 0;
  float *ema_w = malloc(n * sizeof *ema_w), *raw_w = malloc(n * sizeof *raw_w);
  CHECK(ema_w && raw_w);
  memcpy(ema_w, ema->params, n * sizeof *ema_w);
  memcpy(raw_w, m->params, n * sizeof *raw_w);
  CHECK(xlat_trainer_eval_loss(t, &b, &l_ema, &nt) == XLAT_OK);
  opt.ema_decay = 0.0f;
  CHECK(xlat_trainer_reset(t, &opt, 0) == XLAT_OK && xlat_trainer_ema_model(t) == m && xlat_trainer_step(t) == 1);
  CHECK(xlat_trainer_eval_loss(t, &b, &l_raw, &nt) == XLAT_OK && l_raw != l_ema);
  memcpy(m->params, ema_w, n * sizeof *ema_w);
  CHECK(xlat_trainer_eval_loss(t, &b, &l_check, &nt) == XLAT_OK && l_check == l_ema);
  memcpy(m->params, raw_w, n * sizeof *raw_w);
  free(ema_w);
  free(raw_w);
  /* a training step and a validation batch allocate nothing (the counter itself counts: one malloc) */
  counting_allocations = 1;
  void *volatile probe = malloc(16); /* volatile: the compiler may not drop the pair */
  free(probe);
  CHECK(xlat_trainer_accumulate(t, &b, &loss, &ntok) == XLAT_OK && xlat_trainer_update(t, NULL, NULL) == XLAT_OK);
  CHECK(xlat_trainer_eval_loss(t, &b, &loss, &ntok) == XLAT_OK);
  counting_allocations = 0;
  CHECK(allocations == COUNTS_ALLOCATIONS);
  /* the arena holds max_tokens rows per side: a batch beyond it is refused until a reset resizes the arena */
  opt.max_tokens = 14;
  CHECK(xlat_trainer_reset(t, &opt, 0) == XLAT_OK);
  CHECK(xlat_trainer_accumulate(t, &b, &loss, &ntok) == XLAT_ERR_ARG && strstr(xlat_last_error(), "max_tokens"));
  opt.max_tokens = 15; /* B*S */
  CHECK(xlat_trainer_reset(t, &opt, 0) == XLAT_OK && xlat_trainer_accumulate(t, &b, &loss, &ntok) == XLAT_OK);
  free(p0), free(g);
  xlat_trainer_free(t);
  xlat_model_free(m);
}

/* ---- overfitting -------------------------------------------------------------------------------------------- */

enum { NPAIRS = 64, BATCH = 32 };

/* The first NPAIRS lines of a Multi30k val file as ids. */
static int read_ids(const xlat_spm *spm, const char *rel, int32_t **ids, int32_t *len) {
  xlat_lines *r = NULL;
  if (xlat_lines_open(test_path(rel), &r) != XLAT_OK) return 0;
  int n = 0;
  const char *line;
  size_t l;
  while (n < NPAIRS && xlat_lines_next(r, &line, &l) == XLAT_OK && line) {
    size_t k = 0;
    if (xlat_spm_encode_ids(spm, line, l, &ids[n], &k) != 0) break;
    len[n++] = (int32_t)k;
  }
  xlat_lines_close(r);
  return n == NPAIRS;
}

/* Greedy decoding with the cached incremental decoder (decoder.c; test_decoder checks it against the full forward):
 * the number of sentences whose greedy output equals the reference. */
static int greedy_exact(xlat_trainer *t, const xlat_batch *b) {
  int B = b->B, T = b->T, V = t->model->cfg.vocab_size, exact = 0;
  int32_t *out = calloc((size_t)B * T, sizeof *out), *sent = malloc((size_t)B * sizeof *sent);
  int32_t *last = malloc((size_t)B * sizeof *last);
  float *lp = malloc((size_t)B * V * sizeof *lp);
  xlat_decoder *d = NULL;
  CHECK(xlat_decoder_new(t->model, B, b->S, B, T, &d) == XLAT_OK);
  CHECK(d && xlat_decoder_encode(d, b->src, B, b->S) == XLAT_OK);
  for (int i = 0; i < B; i++) sent[i] = i, last[i] = XLAT_BOS;
  for (int pos = 0; pos < T && d; pos++) {
    CHECK(xlat_decoder_step(d, B, sent, last, pos, lp, NULL) == XLAT_OK);
    for (int i = 0; i < B; i++) {
      const float *row = lp + (size_t)i * V;
      int best = 0;
      for (int v = 1; v < V; v++) best = row[v] > row[best] ? v : best;
      out[(size_t)i * T + pos] = last[i] = best;
    }
  }
  for (int i = 0; i < B; i++) {
    int same = 1;
    for (int pos = 0; pos < T; pos++) {
      int32_t want = b->tgt_out[(size_t)i * T + pos];
      if (out[(size_t)i * T + pos] != want) same = 0;
      if (want == XLAT_EOS) break;
    }
    exact += same;
  }
  xlat_decoder_free(d);
  free(out), free(sent), free(last), free(lp);
  return exact;
}

/* The tiny preset memorizes 64 Multi30k pairs (en -> de): the loss goes near zero and greedy decoding reproduces
 * the references. */
/* Memorisation: a model of preset (a Transformer size or a recurrent cell) learns 64 dev pairs by heart. */
static void overfit(const char *preset) {
  char dir[] = "/tmp/xlat_test_model_XXXXXX", prefix[64], model[80];
  CHECK(mkdtemp(dir) != NULL);
  snprintf(prefix, sizeof prefix, "%s/spm", dir);
  snprintf(model, sizeof model, "%s/spm.model", dir);
  const char *inputs[2] = {test_path("corpora/multi30k/val.en.gz"), test_path("corpora/multi30k/val.de.gz")};
  xlat_spm_train_options so;
  xlat_spm_train_options_default(&so);
  so.inputs = inputs;
  so.n_inputs = 2;
  so.model_prefix = prefix;
  so.vocab_size = 1000;
  xlat_spm *spm = NULL;
  CHECK(xlat_spm_train(&so) == 0 && xlat_spm_load(model, &spm) == 0);
  if (!spm) return;
  int32_t *src[NPAIRS], *tgt[NPAIRS], slen[NPAIRS], tlen[NPAIRS];
  CHECK(read_ids(spm, "corpora/multi30k/val.en.gz", src, slen));
  CHECK(read_ids(spm, "corpora/multi30k/val.de.gz", tgt, tlen));

  xlat_config cfg;
  CHECK(xlat_config_preset(preset, &cfg) == XLAT_OK);
  cfg.vocab_size = xlat_spm_vocab_size(spm);
  cfg.dropout = 0.0f;
  if (cfg.arch != XLAT_ARCH_TRANSFORMER) cfg.d_model = cfg.emb_dim = 128, cfg.attention = XLAT_ATTN_DOT;
  xlat_train_options opt;
  xlat_train_options_default(&opt);
  opt.lr = 3e-3f;
  opt.warmup_steps = 20;
  opt.label_smoothing = 0.0f;
  opt.max_len = 64;
  opt.max_tokens = BATCH * 64;
  xlat_model *m = NULL;
  xlat_trainer *t = NULL;
  CHECK(xlat_model_new(&cfg, 3, &m) == XLAT_OK && xlat_trainer_new(m, &opt, 3, &t) == XLAT_OK);
  xlat_batch_buffer *buf[NPAIRS / BATCH];
  xlat_batch batch[NPAIRS / BATCH];
  for (int k = 0; k < NPAIRS / BATCH; k++) {
    CHECK(xlat_batch_buffer_new(&buf[k]) == XLAT_OK);
    CHECK(xlat_batch_make(buf[k], BATCH, (const int32_t *const *)src + k * BATCH, slen + k * BATCH,
                          (const int32_t *const *)tgt + k * BATCH, tlen + k * BATCH, &batch[k]) == XLAT_OK);
  }
  clock_t t0 = clock();
  double per_token = 0.0;
  int steps = 0;
  for (; steps < 400; steps++) {
    double loss = 0.0;
    int64_t n = 0;
    for (int k = 0; k < NPAIRS / BATCH; k++) CHECK(xlat_trainer_accumulate(t, &batch[k], &loss, &n) == XLAT_OK);
    CHECK(xlat_trainer_update(t, NULL, NULL) == XLAT_OK);
    per_token = loss / (double)n;
    if (per_token < 0.02) break;
  }
  fprintf(stderr, "overfit %s: loss %.4f per token after %d steps (%.1f s)\n", preset, per_token, steps,
          (double)(clock() - t0) / CLOCKS_PER_SEC);
  CHECK(per_token < 0.05);
  int exact = 0;
  for (int k = 0; k < NPAIRS / BATCH; k++) exact += greedy_exact(t, &batch[k]);
  fprintf(stderr, "overfit %s: greedy decoding reproduces %d of %d references\n", preset, exact, NPAIRS);
  CHECK(exact >= NPAIRS - 2);
  for (int k = 0; k < NPAIRS / BATCH; k++) xlat_batch_buffer_free(buf[k]);
  for (int i = 0; i < NPAIRS; i++) free(src[i]), free(tgt[i]);
  xlat_trainer_free(t);
  xlat_model_free(m);
  xlat_spm_free(spm);
  char path[128];
  snprintf(path, sizeof path, "%s/spm.model", dir), unlink(path);
  snprintf(path, sizeof path, "%s/spm.vocab", dir), unlink(path);
  rmdir(dir);
}

/* ---- separate source and target vocabularies --------------------------------------------------------------------- */

/* The batch above has source ids up to 14 and target ids up to 19: a source vocabulary of 15 against 20. */
static void separate_vocabularies(void) {
  xlat_config c = tiny_config(0, XLAT_ACT_GELU, 1, XLAT_POS_SINUSOIDAL);
  c.src_vocab_size = 15;
  gradcheck_config(c); /* tied: the target embedding is the output projection, the source's its own */
  c.tied_embeddings = 0, c.pre_norm = 1;
  gradcheck_config(c);
  xlat_config r = rnn_config(XLAT_ARCH_GRU, XLAT_ATTN_ADDITIVE, 1, 0, 1, 1, 0.0f);
  r.src_vocab_size = 15;
  gradcheck_config(r);
  r = rnn_config(XLAT_ARCH_LSTM, XLAT_ATTN_GENERAL, 0, 1, 1, 0, 0.0f);
  r.src_vocab_size = 15;
  gradcheck_config(r);

  /* layout: tied gives "src_embed" (15,C) and "tgt_embed" (20,C), which is also the output projection */
  c = tiny_config(0, XLAT_ACT_RELU, 1, XLAT_POS_SINUSOIDAL);
  xlat_config joint = c;
  c.src_vocab_size = 15;
  size_t C = (size_t)c.d_model;
  CHECK(xlat_param_count(&c) == xlat_param_count(&joint) + 15 * C);
  xlat_tensor_info se = xlat_param_find(&c, "src_embed"), te = xlat_param_find(&c, "tgt_embed");
  CHECK(se.offset == 0 && se.rows == 15 && te.offset == 15 * C && te.rows == 20);
  size_t nt = xlat_param_table(&c, NULL, 0);
  xlat_tensor_info *tab = malloc(nt * sizeof *tab);
  xlat_param_table(&c, tab, nt);
  for (size_t i = 0; i < nt; i++) CHECK(strcmp(tab[i].name, "out_proj") != 0 && strcmp(tab[i].name, "embed") != 0);
  free(tab);
  char desc[256];
  CHECK(strstr(xlat_config_describe(&c, desc, sizeof desc), "tied decoder embeddings") != NULL);
  CHECK(xlat_config_src_vocab(&c) == 15 && xlat_config_src_vocab(&joint) == 20);
  c.src_vocab_size = 3;
  CHECK(xlat_config_check(&c) == XLAT_ERR_ARG && strstr(xlat_last_error(), "src_vocab_size 3") != NULL);
  c.src_vocab_size = 15;

  /* a source id beyond the source vocabulary is refused, though the target vocabulary has it */
  xlat_model *m;
  xlat_trainer *t;
  if (tiny_trainer(&c, &m, &t) != 0) return;
  int32_t bad_src[15];
  memcpy(bad_src, src, sizeof bad_src);
  bad_src[2] = 15;
  xlat_batch bad = {3, 5, 4, bad_src, tin, tout};
  CHECK(xlat_trainer_accumulate(t, &bad, NULL, NULL) == XLAT_ERR_ARG &&
        strstr(xlat_last_error(), "source id 15") != NULL);

  /* the checkpoint keeps the source vocabulary; a joint model of the same shape is not interchangeable */
  char dir[] = "/tmp/xlat_test_model_XXXXXX", path[64], joint_path[64], avg_path[64];
  CHECK(mkdtemp(dir) != NULL);
  snprintf(path, sizeof path, "%s/separate.xlat", dir);
  snprintf(joint_path, sizeof joint_path, "%s/joint.xlat", dir);
  snprintf(avg_path, sizeof avg_path, "%s/average.xlat", dir);
  xlat_model *back = NULL, *jm = NULL;
  CHECK(xlat_checkpoint_save(path, m, t) == XLAT_OK && xlat_model_load(path, &back) == XLAT_OK);
  CHECK(back && xlat_model_config(back)->src_vocab_size == 15 && back->n_params == m->n_params &&
        memcmp(back->params, m->params, m->n_params * sizeof(float)) == 0);
  joint.tied_embeddings = 0; /* src_embed, tgt_embed, out_proj: the tensors' names exist in both */
  c.tied_embeddings = 0;
  xlat_model *mu = NULL;
  CHECK(xlat_model_new(&c, 7, &mu) == XLAT_OK && xlat_checkpoint_save(path, mu, NULL) == XLAT_OK);
  CHECK(xlat_model_new(&joint, 7, &jm) == XLAT_OK && xlat_checkpoint_save(joint_path, jm, NULL) == XLAT_OK);
  const char *both[2] = {path, joint_path};
  CHECK(xlat_checkpoint_average(both, 2, avg_path) == XLAT_ERR_MISMATCH &&
        strstr(xlat_last_error(), "src_vocab_size") != NULL && access(avg_path, F_OK) != 0);
  remove(path);
  remove(joint_path);
  rmdir(dir);
  xlat_model_free(mu);
  xlat_model_free(jm);
  xlat_model_free(back);
  xlat_trainer_free(t);
  xlat_model_free(m);
}

int main(void) {
  gradcheck(0, XLAT_ACT_RELU, 1, XLAT_POS_SINUSOIDAL, 0.0f);
  gradcheck(1, XLAT_ACT_RELU, 1, XLAT_POS_SINUSOIDAL, 0.0f);
  gradcheck(0, XLAT_ACT_GELU, 0, XLAT_POS_LEARNED, 0.0f);
  gradcheck(1, XLAT_ACT_GELU, 0, XLAT_POS_LEARNED, 0.0f);
  gradcheck(1, XLAT_ACT_GELU, 1, XLAT_POS_SINUSOIDAL, 0.0f);
  gradcheck(0, XLAT_ACT_GELU, 1, XLAT_POS_SINUSOIDAL, 0.2f);
  gradcheck(1, XLAT_ACT_RELU, 0, XLAT_POS_SINUSOIDAL, 0.2f);
  gradcheck(0, XLAT_ACT_RELU, 1, XLAT_POS_RELATIVE, 0.0f);
  gradcheck(1, XLAT_ACT_GELU, 0, XLAT_POS_RELATIVE, 0.0f);
  gradcheck(0, XLAT_ACT_GELU, 1, XLAT_POS_RELATIVE, 0.2f); /* dropout and attention dropout */
  gradcheck(1, XLAT_ACT_RELU, 0, XLAT_POS_RELATIVE, 0.2f);
  gradcheck_config(rnn_config(XLAT_ARCH_GRU, XLAT_ATTN_ADDITIVE, 1, 0, 1, 0, 0.0f));
  gradcheck_config(rnn_config(XLAT_ARCH_LSTM, XLAT_ATTN_GENERAL, 1, 1, 2, 0, 0.0f));
  gradcheck_config(rnn_config(XLAT_ARCH_RNN, XLAT_ATTN_DOT, 0, 0, 1, 1, 0.0f));
  gradcheck_config(rnn_config(XLAT_ARCH_LSTM, XLAT_ATTN_NONE, 1, 0, 1, 0, 0.0f));
  gradcheck_config(rnn_config(XLAT_ARCH_GRU, XLAT_ATTN_DOT, 0, 1, 2, 0, 0.2f));
  gradcheck_config(rnn_config(XLAT_ARCH_GRU, XLAT_ATTN_NONE, 0, 0, 2, 1, 0.2f));
  gradcheck_config(rnn_config(XLAT_ARCH_LSTM, XLAT_ATTN_ADDITIVE, 0, 0, 2, 0, 0.2f));
  separate_vocabularies();
  configs();
  optimizer();
  overfit("tiny");
  overfit("gru");
  TEST_END();
}

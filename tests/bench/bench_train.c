/* bench_train.c - `xlat-bench train`: training throughput of one model against the machine's sgemm limit.
 *
 * The model is a Transformer preset (--preset) or a recurrent encoder-decoder (--arch rnn|gru|lstm, rnn.h), its
 * dimensions set as xlat-train sets them: xlat_config_preset(name), then each given dimension flag.
 * In one run it measures (1) OpenBLAS sgemm GFLOP/s on the model's own matrix shapes for this batch (forward NT,
 * input-gradient NN and weight-gradient TN products, weighted by their FLOPs; a recurrent model's per-step
 * products at M = B rows, as many times as a step runs them) and (2) full training steps
 * (forward, backward, Adam) of xlat on random token batches of the same shape, then reports target tokens/s, model
 * GFLOP/s (exact matmul FLOPs, backward = 2x forward, as the PyTorch peer counts them) and their fraction of the
 * sgemm figure. Medians over timed samples. The last line of output is one JSON object.
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench.h"
#include "internal.h"
#include "kernels.h"
#include "rnn.h"

/* Exact matmul FLOPs of one training step: 3x the forward products (same count as the peers' PyTorch script). */
static double train_flops(const xlat_config *c, double B, double S, double T) {
  double d = c->d_model, ff = c->d_ff, V = c->vocab_size, es = B * S, dt = B * T;
  double enc = c->enc_layers * (es * (8 * d * d + 4 * d * ff) + B * 4 * S * S * d);
  double dec = c->dec_layers * (dt * (8 * d * d + 4 * d * d + 4 * d * ff) + es * 4 * d * d +
                                B * (4 * T * T * d + 4 * T * S * d));
  return 3 * (enc + dec + dt * 2 * d * V);
}

/* The same for a recurrent model (rnn.h): input and recurrent products of every encoder layer and direction, the
 * attention keys over the memory, per target token the decoder layers' products, the additive query, the
 * attention scores and context (2 S H each), out_w and the output projection. */
static double rnn_train_flops(const xlat_config *c, double B, double S, double T) {
  rnn_dims r = rnn_dims_of(c);
  double H = r.H, D = r.D, E = r.E, GH = r.G * H, GD = r.G * D, V = c->vocab_size, es = B * S, dt = B * T;
  double enc = 0;
  for (int l = 0; l < c->enc_layers; l++) enc += r.dirs * es * 2 * ((l ? H : E) * GD + D * GD);
  if (c->attention >= XLAT_ATTN_GENERAL) enc += es * 2 * H * H;
  double tok = 2 * E * GH + (r.feed ? 2 * H * GH : 0) + c->dec_layers * 2 * H * GH + (c->dec_layers - 1) * 2 * H * GH +
               (c->attention == XLAT_ATTN_ADDITIVE ? 2 * H * H : 0) + (c->attention != XLAT_ATTN_NONE ? 4 * S * H : 0) +
               2 * 2 * H * H + 2 * H * V;
  return 3 * (enc + dt * tok);
}

/* sgemm GFLOP/s over the model's dominant products, shapes[i] = {M, N, K, times per step}: the limit the model's
 * step can approach. */
static double sgemm_gflops(const int (*shapes)[4], int nshapes, int reps) {
  size_t maxa = 0, maxb = 0, maxc = 0;
  for (int i = 0; i < nshapes; i++) {
    size_t m = (size_t)shapes[i][0], n = (size_t)shapes[i][1], k = (size_t)shapes[i][2];
    maxa = m * k > maxa ? m * k : maxa;
    maxb = n * k > maxb ? n * k : maxb;
    maxc = m * n > maxc ? m * n : maxc;
  }
  float *a = bench_random(maxa), *b = bench_random(maxb), *out = bench_random(maxc);
  float *da = bench_random(maxa), *db = bench_random(maxb);
  double *samples = malloc(sizeof(double) * (size_t)reps);
  for (int r = 0; r < reps; r++) {
    double flops = 0, t0 = bench_now();
    for (int i = 0; i < nshapes; i++)
      for (int j = 0; j < shapes[i][3]; j++) {
        int m = shapes[i][0], n = shapes[i][1], k = shapes[i][2];
        /* forward y = x W^T, input gradient dx = dy W, weight gradient dW = dy^T x */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1, a, k, b, k, 0, out, n);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, k, n, 1, out, n, b, k, 0, da, k);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, k, m, 1, out, n, a, k, 0, db, k);
        flops += 3 * 2.0 * m * n * k;
      }
    samples[r] = flops / (bench_now() - t0) / 1e9;
  }
  double med = bench_median(samples, reps);
  free(samples);
  free(a);
  free(b);
  free(out);
  free(da);
  free(db);
  return med;
}

/* The model's products for the sgemm figure: out[i] = {M, N, K, times per step}; returns the count. */
static int model_shapes(const xlat_config *c, int B, int S, int T, int (*out)[4]) {
  int n = 0;
#define SHAPE(m, nn, k, times) out[n][0] = (m), out[n][1] = (nn), out[n][2] = (k), out[n][3] = (times), n++
  if (c->arch == XLAT_ARCH_TRANSFORMER) { /* each dominant product once, M = the batch's rows */
    int M = B * T, d = c->d_model;
    SHAPE(M, 3 * d, d, 1), SHAPE(M, d, d, 1), SHAPE(M, c->d_ff, d, 1), SHAPE(M, d, c->d_ff, 1);
    SHAPE(M, c->vocab_size, d, 1);
  } else {
    rnn_dims r = rnn_dims_of(c);
    int GH = r.G * r.H, GD = r.G * r.D, L = c->dec_layers;
    SHAPE(B * S, GD, r.E, r.dirs);                    /* encoder layer 0's input products */
    if (c->enc_layers > 1) SHAPE(B * S, GD, r.H, r.dirs * (c->enc_layers - 1));
    SHAPE(B, GD, r.D, r.dirs * c->enc_layers * S);    /* encoder recurrences */
    if (c->attention >= XLAT_ATTN_GENERAL) SHAPE(B * S, r.H, r.H, 1); /* keys */
    SHAPE(B * T, GH, r.E, 1);                         /* decoder layer 0's embedding product */
    SHAPE(B, GH, r.H, T * (L + (L - 1) + r.feed));    /* decoder recurrences, layers > 0, layer 0's extra input */
    if (c->attention == XLAT_ATTN_ADDITIVE) SHAPE(B, r.H, r.H, T); /* queries */
    SHAPE(B, r.H, 2 * r.H, T);                        /* out_w */
    SHAPE(B * T, c->vocab_size, r.H, 1);              /* output projection */
  }
#undef SHAPE
  return n;
}

static void usage(void) {
  fprintf(stderr,
          "usage: xlat-bench train [--preset tiny|small|base|big | --arch rnn|gru|lstm] [--threads N]\n"
          "                        [--batch-tokens K] [--len L] [--steps N] [--vocab V]\n"
          "                        [--d-model N] [--enc-layers N] [--dec-layers N]\n"
          "                        [--emb-dim N] [--attention none|dot|general|additive] [--bidirectional 0|1]\n"
          "                        [--input-feeding 0|1] [--tied-embeddings 0|1]\n"
          "Random batches of L-token sources and targets (default 25), K target tokens each (default 2000),\n"
          "N timed steps (default 10) after 2 warm-up steps. The model is built as xlat-train builds it: the preset\n"
          "(default small), or with --arch the recurrent defaults of that cell (hidden 256, embeddings 256 tied, one\n"
          "bidirectional layer, additive attention, dropout 0.3), then each given dimension; --enc-layers or\n"
          "--dec-layers alone sets both for a recurrent model; --emb-dim follows --d-model when tied.\n");
}

/* Model dimensions from the command line; -1: the preset's. */
typedef struct {
  int32_t arch, d_model, enc_layers, dec_layers, emb_dim, attention, bidirectional, input_feeding, tied;
} overrides;

/* cfg as xlat-train's options.c builds it; 0, or 2 after printing a usage error. */
static int build_config(const char *preset, const overrides *ov, xlat_config *cfg) {
  int recurrent = ov->arch > XLAT_ARCH_TRANSFORMER;
  if (recurrent && preset) {
    fprintf(stderr, "xlat-bench train: --preset names Transformer sizes; a recurrent model takes --arch and its "
                    "dimension flags\n");
    return 2;
  }
  if (!recurrent && (ov->emb_dim >= 0 || ov->attention >= 0 || ov->bidirectional >= 0 || ov->input_feeding >= 0)) {
    fprintf(stderr, "xlat-bench train: --emb-dim, --attention, --bidirectional and --input-feeding are options of "
                    "the recurrent architectures (--arch rnn, gru or lstm)\n");
    return 2;
  }
  if (xlat_config_preset(recurrent ? xlat_arch_name(ov->arch) : preset ? preset : "small", cfg) != XLAT_OK ||
      (!recurrent && cfg->arch != XLAT_ARCH_TRANSFORMER)) {
    usage();
    return 2;
  }
  if (ov->d_model >= 0) cfg->d_model = ov->d_model;
  if (ov->enc_layers >= 0) cfg->enc_layers = ov->enc_layers;
  if (ov->dec_layers >= 0) cfg->dec_layers = ov->dec_layers;
  if (ov->tied >= 0) cfg->tied_embeddings = ov->tied;
  if (ov->emb_dim >= 0) cfg->emb_dim = ov->emb_dim;
  if (ov->attention >= 0) cfg->attention = ov->attention;
  if (ov->bidirectional >= 0) cfg->bidirectional = ov->bidirectional;
  if (ov->input_feeding >= 0) cfg->input_feeding = ov->input_feeding;
  if (recurrent && (ov->enc_layers >= 0) != (ov->dec_layers >= 0))
    cfg->enc_layers = cfg->dec_layers = ov->enc_layers >= 0 ? ov->enc_layers : ov->dec_layers;
  if (recurrent && ov->emb_dim < 0 && cfg->tied_embeddings) cfg->emb_dim = cfg->d_model;
  return 0;
}

static const char *const ATTENTION[] = {"none", "dot", "general", "additive"};

int bench_train(int argc, char **argv) {
  const char *preset = NULL;
  int threads = 2, batch_tokens = 2000, len = 25, steps = 10, vocab = 8000;
  overrides ov = {-1, -1, -1, -1, -1, -1, -1, -1, -1};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help")) {
      usage();
      return 0;
    }
    if (!v) {
      usage();
      return 2;
    }
    if (!strcmp(a, "--preset")) preset = v;
    else if (!strcmp(a, "--threads")) threads = atoi(v);
    else if (!strcmp(a, "--batch-tokens")) batch_tokens = atoi(v);
    else if (!strcmp(a, "--len")) len = atoi(v);
    else if (!strcmp(a, "--steps")) steps = atoi(v);
    else if (!strcmp(a, "--vocab")) vocab = atoi(v);
    else if (!strcmp(a, "--arch")) {
      if ((ov.arch = xlat_arch_by_name(v)) < 0) {
        usage();
        return 2;
      }
    }
    else if (!strcmp(a, "--d-model")) ov.d_model = atoi(v);
    else if (!strcmp(a, "--enc-layers")) ov.enc_layers = atoi(v);
    else if (!strcmp(a, "--dec-layers")) ov.dec_layers = atoi(v);
    else if (!strcmp(a, "--emb-dim")) ov.emb_dim = atoi(v);
    else if (!strcmp(a, "--bidirectional")) ov.bidirectional = atoi(v);
    else if (!strcmp(a, "--input-feeding")) ov.input_feeding = atoi(v);
    else if (!strcmp(a, "--tied-embeddings")) ov.tied = atoi(v);
    else if (!strcmp(a, "--attention")) {
      for (ov.attention = 3; ov.attention >= 0 && strcmp(v, ATTENTION[ov.attention]); ov.attention--) continue;
      if (ov.attention < 0) {
        usage();
        return 2;
      }
    } else {
      usage();
      return 2;
    }
    i++;
  }
  xlat_config cfg;
  int rc = build_config(preset, &ov, &cfg);
  if (rc) return rc;
  cfg.vocab_size = vocab;
  if (xlat_config_check(&cfg) != XLAT_OK) {
    fprintf(stderr, "xlat-bench train: %s\n", xlat_last_error());
    return 2;
  }
  if (threads < 1 || len < 2 || steps < 1 || batch_tokens < len) {
    usage();
    return 2;
  }
  xlat_set_threads(threads);
  int B = batch_tokens / len, S = len, T = len;

  xlat_model *m = NULL;
  xlat_trainer *t = NULL;
  xlat_train_options opt;
  xlat_train_options_default(&opt);
  opt.max_tokens = B * len;
  opt.max_len = len;
  if (xlat_model_new(&cfg, 1, &m) != XLAT_OK || xlat_trainer_new(m, &opt, 1, &t) != XLAT_OK) {
    fprintf(stderr, "xlat-bench: %s\n", xlat_last_error());
    return 1;
  }
  int32_t *src = malloc(sizeof(int32_t) * (size_t)B * S), *tin = malloc(sizeof(int32_t) * (size_t)B * T),
          *tout = malloc(sizeof(int32_t) * (size_t)B * T);
  uint64_t s = 12345;
  for (int i = 0; i < B * S; i++) src[i] = 4 + (int32_t)(xlat_splitmix64(&s) % (uint64_t)(vocab - 4));
  for (int i = 0; i < B * T; i++) tout[i] = 4 + (int32_t)(xlat_splitmix64(&s) % (uint64_t)(vocab - 4));
  for (int b = 0; b < B; b++) {
    tin[b * T] = XLAT_BOS;
    memcpy(tin + b * T + 1, tout + b * T, sizeof(int32_t) * (size_t)(T - 1));
  }
  xlat_batch batch = {B, S, T, src, tin, tout};

  int shapes[16][4];
  double sgemm = sgemm_gflops((const int(*)[4])shapes, model_shapes(&cfg, B, S, T, shapes), 5);
  double *sec = malloc(sizeof(double) * (size_t)steps), loss = 0;
  for (int i = -2; i < steps; i++) {
    double l = 0, t0 = bench_now();
    int64_t n = 0;
    if (xlat_trainer_accumulate(t, &batch, &l, &n) != XLAT_OK || xlat_trainer_update(t, NULL, NULL) != XLAT_OK) {
      fprintf(stderr, "xlat-bench: %s\n", xlat_last_error());
      return 1;
    }
    if (i >= 0) sec[i] = bench_now() - t0;
    loss = l / (double)n;
  }
  int recurrent = cfg.arch != XLAT_ARCH_TRANSFORMER;
  const char *name = recurrent ? xlat_arch_name(cfg.arch) : preset ? preset : "small";
  double step_sec = bench_median(sec, steps);
  double flops = recurrent ? rnn_train_flops(&cfg, B, S, T) : train_flops(&cfg, B, S, T);
  double tok_s = B * T / step_sec, gflops = flops / step_sec / 1e9;
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  char kernels[160], model_desc[200];
  if (recurrent)
    snprintf(model_desc, sizeof model_desc, "arch %s (hidden %d, embeddings %d%s, %d+%d layers, %s attention%s%s)",
             name, cfg.d_model, cfg.emb_dim, cfg.tied_embeddings ? " tied" : "", cfg.enc_layers, cfg.dec_layers,
             ATTENTION[cfg.attention], cfg.bidirectional ? ", bidirectional" : "",
             cfg.input_feeding ? ", input feeding" : "");
  else
    snprintf(model_desc, sizeof model_desc, "preset %s", name);
  printf("%s, %d threads, batch %d x %d tokens: %.3f s/step (median of %d), %.0f target tokens/s, "
         "model %.1f GFLOP/s, sgemm %.1f GFLOP/s on the same shapes (%.0f%%), loss %.3f\n%s\n",
         model_desc, threads, B, T, step_sec, steps, tok_s, gflops, sgemm, 100 * gflops / sgemm, loss,
         xlat_cpu_describe(kernels, sizeof kernels));
  printf("{\"preset\": \"%s\", \"arch\": \"%s\", \"d_model\": %d, \"enc_layers\": %d, \"dec_layers\": %d, "
         "\"tied_embeddings\": %d, \"dropout\": %.2f, ",
         name, xlat_arch_name(cfg.arch), cfg.d_model, cfg.enc_layers, cfg.dec_layers, cfg.tied_embeddings,
         cfg.dropout);
  if (recurrent)
    printf("\"emb_dim\": %d, \"attention\": \"%s\", \"bidirectional\": %d, \"input_feeding\": %d, ", cfg.emb_dim,
           ATTENTION[cfg.attention], cfg.bidirectional, cfg.input_feeding);
  printf("\"threads\": %d, \"batch_tokens\": %d, \"batch_sents\": %d, \"len\": %d, "
         "\"steps\": %d, \"sec_per_step\": %.4f, \"tokens_per_s\": %.1f, \"model_gflops\": %.2f, "
         "\"sgemm_gflops\": %.2f, \"fraction\": %.3f, \"params\": %zu, \"peak_rss_mb\": %.1f, "
         "\"blas_core\": \"%s\", \"isa\": \"%s\"}\n",
         threads, B * T, B, len, steps, step_sec, tok_s, gflops, sgemm, gflops / sgemm,
         xlat_model_num_params(m), ru.ru_maxrss / 1024.0, openblas_get_corename(), xlat_kernels_get()->isa);
  free(sec);
  free(src);
  free(tin);
  free(tout);
  xlat_trainer_free(t);
  xlat_model_free(m);
  return 0;
}

/* bench_train.c - `xlat-bench train`: training throughput of one preset against the machine's sgemm limit.
 *
 * In one run it measures (1) OpenBLAS sgemm GFLOP/s on the model's own matrix shapes for this batch (forward NT,
 * input-gradient NN and weight-gradient TN products, weighted by their FLOPs) and (2) full training steps
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

/* Exact matmul FLOPs of one training step: 3x the forward products (same count as the peers' PyTorch script). */
static double train_flops(const xlat_config *c, double B, double S, double T) {
  double d = c->d_model, ff = c->d_ff, V = c->vocab_size, es = B * S, dt = B * T;
  double enc = c->enc_layers * (es * (8 * d * d + 4 * d * ff) + B * 4 * S * S * d);
  double dec = c->dec_layers * (dt * (8 * d * d + 4 * d * d + 4 * d * ff) + es * 4 * d * d +
                                B * (4 * T * T * d + 4 * T * S * d));
  return 3 * (enc + dec + dt * 2 * d * V);
}

/* sgemm GFLOP/s over the model's dominant products for M rows: the limit the model's step can approach. */
static double sgemm_gflops(const xlat_config *c, int M, int reps) {
  int d = c->d_model, ff = c->d_ff, V = c->vocab_size;
  int shapes[][3] = {{M, 3 * d, d}, {M, d, d}, {M, ff, d}, {M, d, ff}, {M, V, d}}; /* (M,N,K) */
  int nshapes = (int)(sizeof shapes / sizeof shapes[0]);
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
    for (int i = 0; i < nshapes; i++) {
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

static void usage(void) {
  fprintf(stderr, "usage: xlat-bench train [--preset tiny|small|base|big] [--threads N] [--batch-tokens K]\n"
                  "                        [--len L] [--steps N] [--vocab V]\n"
                  "Random batches of L-token sources and targets (default 25), K target tokens each (default 2000),\n"
                  "N timed steps (default 10) after 2 warm-up steps.\n");
}

int bench_train(int argc, char **argv) {
  const char *preset = "small";
  int threads = 2, batch_tokens = 2000, len = 25, steps = 10, vocab = 8000;
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
    else {
      usage();
      return 2;
    }
    i++;
  }
  xlat_config cfg;
  if (xlat_config_preset(preset, &cfg) != XLAT_OK || threads < 1 || len < 2 || steps < 1 || batch_tokens < len) {
    usage();
    return 2;
  }
  cfg.vocab_size = vocab;
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

  double sgemm = sgemm_gflops(&cfg, B * len, 5);
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
  double step_sec = bench_median(sec, steps), flops = train_flops(&cfg, B, S, T);
  double tok_s = B * T / step_sec, gflops = flops / step_sec / 1e9;
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  char kernels[160];
  printf("preset %s, %d threads, batch %d x %d tokens: %.3f s/step (median of %d), %.0f target tokens/s, "
         "model %.1f GFLOP/s, sgemm %.1f GFLOP/s on the same shapes (%.0f%%), loss %.3f\n%s\n",
         preset, threads, B, T, step_sec, steps, tok_s, gflops, sgemm, 100 * gflops / sgemm, loss,
         xlat_cpu_describe(kernels, sizeof kernels));
  printf("{\"preset\": \"%s\", \"threads\": %d, \"batch_tokens\": %d, \"batch_sents\": %d, \"len\": %d, "
         "\"steps\": %d, \"sec_per_step\": %.4f, \"tokens_per_s\": %.1f, \"model_gflops\": %.2f, "
         "\"sgemm_gflops\": %.2f, \"fraction\": %.3f, \"params\": %zu, \"peak_rss_mb\": %.1f, "
         "\"blas_core\": \"%s\", \"isa\": \"%s\"}\n",
         preset, threads, B * T, B, len, steps, step_sec, tok_s, gflops, sgemm, gflops / sgemm,
         xlat_model_num_params(m), ru.ru_maxrss / 1024.0, openblas_get_corename(), xlat_kernels_get()->isa);
  free(sec);
  free(src);
  free(tin);
  free(tout);
  xlat_trainer_free(t);
  xlat_model_free(m);
  return 0;
}

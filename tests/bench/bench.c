/* bench.c - xlat-bench: speed and memory measurements, run beside the peers' yardsticks (not a test). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "internal.h"

double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double bench_median(double *x, int n) {
  qsort(x, (size_t)n, sizeof *x, cmp_double);
  return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

float *bench_random(size_t n) {
  float *p = malloc(sizeof(float) * (n ? n : 1));
  if (!p) {
    fprintf(stderr, "xlat-bench: out of memory\n");
    exit(1);
  }
  uint64_t s = n;
  for (size_t i = 0; i < n; i++) p[i] = (float)((double)(xlat_splitmix64(&s) >> 11) * 0x1.0p-52 - 1.0);
  return p;
}

int main(int argc, char **argv) {
  if (xlat_cpu_setup(argv) != XLAT_OK) {
    fprintf(stderr, "xlat-bench: %s\n", xlat_last_error());
    return 2;
  }
  if (argc >= 2 && !strcmp(argv[1], "train")) return bench_train(argc - 1, argv + 1);
  if (argc >= 2 && !strcmp(argv[1], "export")) return bench_export(argc - 1, argv + 1);
  if (argc >= 2 && !strcmp(argv[1], "corpus")) return bench_corpus(argc - 1, argv + 1);
  fprintf(stderr, "usage: xlat-bench train [options]   (xlat-bench train --help)\n"
                  "       xlat-bench export --model MODEL.xlat --output WEIGHTS.bin   (for torch_decode.py)\n"
                  "       xlat-bench corpus --src F --tgt F --spm S.model --cache-dir DIR   (the data pipeline)\n");
  return 2;
}

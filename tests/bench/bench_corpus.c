/* bench_corpus.c - `xlat-bench corpus`: the data pipeline at scale. Encodes a parallel corpus on 1 thread and on
 * every core (no cache: the encoding alone, lines/s), builds its id cache, loads it again (mapped), and lays out one
 * epoch of token batches; prints each figure and the peak RSS of each phase's process state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench.h"
#include "xlat.h"

static const char usage_text[] =
    "usage: xlat-bench corpus --src FILE --tgt FILE --spm S.model --cache-dir DIR [--max-tokens N] [--max-len N]\n"
    "       [--skip-single 1]   (does not time the 1-thread encoding)\n";

static double peak_mb(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024.0;
}

/* Loads the corpus with o; prints the time and lines/s under label. Returns the corpus, or NULL after saying why. */
static xlat_corpus *timed_load(const char *label, const char *src, const char *tgt, const xlat_spm *spm,
                               const xlat_corpus_options *o) {
  xlat_corpus *c = NULL;
  double t0 = bench_now();
  if (xlat_corpus_load(src, tgt, spm, spm, o, &c) != XLAT_OK) {
    fprintf(stderr, "xlat-bench corpus: %s\n", xlat_last_error());
    return NULL;
  }
  double dt = bench_now() - t0;
  int64_t read = xlat_corpus_get_stats(c)->read;
  printf("%-34s %8.2f s  %10.0f pairs/s  (%lld pairs read, %lld kept)  peak RSS so far %.0f MB\n", label, dt,
         (double)read / dt, (long long)read, (long long)xlat_corpus_size(c), peak_mb());
  return c;
}

int bench_corpus(int argc, char **argv) {
  const char *src = NULL, *tgt = NULL, *spm_path = NULL, *cache = NULL;
  int32_t max_tokens = 4096, max_len = 256, skip_single = 0;
  for (int i = 1; i < argc; i++) {
    const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) goto usage;
    if (!strcmp(f, "--src")) src = v;
    else if (!strcmp(f, "--tgt")) tgt = v;
    else if (!strcmp(f, "--spm")) spm_path = v;
    else if (!strcmp(f, "--cache-dir")) cache = v;
    else if (!strcmp(f, "--max-tokens")) max_tokens = atoi(v);
    else if (!strcmp(f, "--max-len")) max_len = atoi(v);
    else if (!strcmp(f, "--skip-single")) skip_single = atoi(v);
    else goto usage;
    i++;
  }
  if (!src || !tgt || !spm_path || !cache) goto usage;
  xlat_spm *spm = NULL;
  if (xlat_spm_load(spm_path, &spm) != 0) {
    fprintf(stderr, "xlat-bench corpus: %s\n", xlat_spm_last_error());
    return 1;
  }
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  xlat_corpus_options o;
  xlat_corpus_options_default(&o);
  o.max_tokens = max_len - 1;
  xlat_corpus *c = NULL;
  int rc = 1;
  if (!skip_single) {
    o.threads = 1;
    if (!(c = timed_load("encode, 1 thread (no cache)", src, tgt, spm, &o))) goto done;
    xlat_corpus_free(c);
  }
  char label[64];
  snprintf(label, sizeof label, "encode, %ld threads, write the cache", cores);
  o.threads = 0;
  o.cache_dir = cache;
  if (!(c = timed_load(label, src, tgt, spm, &o))) goto done;
  xlat_corpus_free(c);
  if (!(c = timed_load("load the cache (mapped)", src, tgt, spm, &o))) goto done;
  xlat_batcher *b = NULL;
  double t0 = bench_now();
  if (xlat_batcher_new(c, max_tokens, max_len, 1, &b) != XLAT_OK) {
    fprintf(stderr, "xlat-bench corpus: %s\n", xlat_last_error());
    goto done;
  }
  double t1 = bench_now();
  int64_t n = xlat_batcher_epoch(b, 0);
  double t2 = bench_now();
  int64_t tokens = 0;
  for (int64_t k = 0; k < n; k++) { /* every batch padded once: what an epoch of training reads */
    xlat_batch bt;
    if (xlat_batcher_get(b, k, &bt) != XLAT_OK) abort();
    tokens += (int64_t)bt.B * bt.T;
  }
  double t3 = bench_now();
  printf("%-34s %8.2f s  (batcher made in %.2f s; %lld batches of <= %d tokens)\n", "lay out one epoch", t2 - t1,
         t1 - t0, (long long)n, max_tokens);
  printf("%-34s %8.2f s  (%lld padded target tokens)  peak RSS %.0f MB\n", "pad every batch of the epoch", t3 - t2,
         (long long)tokens, peak_mb());
  xlat_batcher_free(b);
  rc = 0;
done:
  xlat_corpus_free(c);
  xlat_spm_free(spm);
  return rc;
usage:
  fputs(usage_text, stderr);
  return 2;
}

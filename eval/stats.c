/* stats.c - bootstrap confidence intervals and paired significance tests over per-segment sufficient statistics,
 * following sacreBLEU's significance.py (Koehn 2004 paired bootstrap; Riezler & Maxwell 2005 approximate
 * randomisation): resamples re-score summed statistics; CI = half the distance between the 2.5% and 97.5% order
 * statistics (index n/40 from each end) around the mean; p = (count(statistic > observed) + 1) / (trials + 1).
 * The random stream is xoshiro256** seeded through splitmix64, so results are reproducible for a seed but are not
 * numpy's PCG64 draws: p-values and intervals agree with sacreBLEU's statistically, not digit for digit. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "unicode.h"

typedef struct {
  uint64_t s[4];
} rng;

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static void rng_seed(rng *r, uint64_t seed) {
  for (int k = 0; k < 4; k++) r->s[k] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(rng *r) {
  uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0], s[3] ^= s[1], s[1] ^= s[2], s[0] ^= s[3], s[2] ^= t, s[3] = rotl(s[3], 45);
  return out;
}

/* Uniform integer in [0, n): rejection of the top partial block, so no modulo bias. */
static uint64_t rng_below(rng *r, uint64_t n) {
  uint64_t limit = UINT64_MAX - (UINT64_MAX % n + 1) % n;
  for (;;) {
    uint64_t x = rng_next(r);
    if (x <= limit) return x % n;
  }
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void mean_ci(double *scores, int n, double *mean, double *ci) {
  double s = 0;
  for (int i = 0; i < n; i++) s += scores[i];
  qsort(scores, (size_t)n, sizeof *scores, cmp_double);
  int lo = n / 40, hi = n - lo - 1;
  *mean = s / n;
  *ci = 0.5 * (scores[hi] - scores[lo]);
}

/* Scores of `samples` bootstrap resamples of each of nsys systems (same segment draws for every system). */
static int resample(const double *const *stats, int nsys, int64_t n, int ns, xlat_score_fn f, void *ctx, int samples,
                    uint64_t seed, double *scores /* [nsys][samples] */) {
  double *sum = malloc((size_t)ns * sizeof *sum);
  uint32_t *idx = malloc((size_t)n * sizeof *idx);
  if (!sum || !idx) {
    free(sum);
    free(idx);
    return xm_fail("bootstrap: out of memory");
  }
  rng r;
  rng_seed(&r, seed);
  for (int b = 0; b < samples; b++) {
    for (int64_t i = 0; i < n; i++) idx[i] = (uint32_t)rng_below(&r, (uint64_t)n);
    for (int s = 0; s < nsys; s++) {
      memset(sum, 0, (size_t)ns * sizeof *sum);
      for (int64_t i = 0; i < n; i++) {
        const double *row = stats[s] + (size_t)idx[i] * (size_t)ns;
        for (int k = 0; k < ns; k++) sum[k] += row[k];
      }
      scores[(size_t)s * (size_t)samples + (size_t)b] = f(sum, ctx);
    }
  }
  free(sum);
  free(idx);
  return 0;
}

static int check(int64_t n, int ns, int samples) {
  if (n < 1 || n > UINT32_MAX || ns < 1 || samples < 1)
    return xm_fail("significance: expected 1 <= segments < 2^32, >= 1 statistic and >= 1 sample, got %lld, %d, %d",
                   (long long)n, ns, samples);
  return 0;
}

int xlat_bootstrap_ci(const double *stats, int64_t n, int ns, xlat_score_fn f, void *ctx, int samples, uint64_t seed,
                      double *mean, double *ci) {
  if (check(n, ns, samples)) return -1;
  double *scores = malloc((size_t)samples * sizeof *scores);
  if (!scores) return xm_fail("bootstrap: out of memory");
  int rc = resample(&stats, 1, n, ns, f, ctx, samples, seed, scores);
  if (!rc) mean_ci(scores, samples, mean, ci);
  free(scores);
  return rc;
}

int xlat_paired_bootstrap(const double *base, const double *sys, int64_t n, int ns, xlat_score_fn f, void *ctx,
                          int samples, uint64_t seed, double *p_value, double *mean, double *ci) {
  if (check(n, ns, samples)) return -1;
  double *scores = malloc(2 * (size_t)samples * sizeof *scores);
  double *sum = malloc((size_t)ns * sizeof *sum);
  const double *both[2] = {base, sys};
  int rc = (!scores || !sum) ? xm_fail("bootstrap: out of memory") : 0;
  if (!rc) rc = resample(both, 2, n, ns, f, ctx, samples, seed, scores);
  if (!rc) {
    double observed[2];
    for (int s = 0; s < 2; s++) {
      memset(sum, 0, (size_t)ns * sizeof *sum);
      for (int64_t i = 0; i < n; i++)
        for (int k = 0; k < ns; k++) sum[k] += both[s][(size_t)i * (size_t)ns + (size_t)k];
      observed[s] = f(sum, ctx);
    }
    double real = fabs(observed[0] - observed[1]), dmean = 0;
    double *bl = scores, *sy = scores + samples;
    for (int b = 0; b < samples; b++) dmean += fabs(sy[b] - bl[b]);
    dmean /= samples;
    int count = 0;
    for (int b = 0; b < samples; b++) count += fabs(sy[b] - bl[b]) - dmean > real;
    *p_value = (double)(count + 1) / (samples + 1);
    mean_ci(sy, samples, mean, ci);
  }
  free(scores);
  free(sum);
  return rc;
}

int xlat_paired_ar(const double *base, const double *sys, int64_t n, int ns, xlat_score_fn f, void *ctx, int trials,
                   uint64_t seed, double *p_value) {
  if (check(n, ns, trials)) return -1;
  double *a = malloc(2 * (size_t)ns * sizeof *a), *b = a ? a + ns : NULL;
  if (!a) return xm_fail("randomisation: out of memory");
  double obs_a, obs_b;
  memset(a, 0, 2 * (size_t)ns * sizeof *a);
  for (int64_t i = 0; i < n; i++)
    for (int k = 0; k < ns; k++) {
      a[k] += base[(size_t)i * (size_t)ns + (size_t)k];
      b[k] += sys[(size_t)i * (size_t)ns + (size_t)k];
    }
  obs_a = f(a, ctx), obs_b = f(b, ctx);
  double real = fabs(obs_a - obs_b);
  rng r;
  rng_seed(&r, seed);
  int count = 0;
  for (int t = 0; t < trials; t++) {
    memset(a, 0, 2 * (size_t)ns * sizeof *a);
    for (int64_t i = 0; i < n; i += 64) {
      uint64_t bits = rng_next(&r);
      for (int64_t j = i; j < n && j < i + 64; j++, bits >>= 1) {
        const double *x = base + (size_t)j * (size_t)ns, *y = sys + (size_t)j * (size_t)ns;
        if (bits & 1) {
          const double *t2 = x;
          x = y, y = t2;
        }
        for (int k = 0; k < ns; k++) a[k] += x[k], b[k] += y[k];
      }
    }
    count += fabs(f(a, ctx) - f(b, ctx)) > real;
  }
  *p_value = (double)(count + 1) / (trials + 1);
  free(a);
  return 0;
}

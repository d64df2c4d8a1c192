/* test_significance.c - bootstrap confidence intervals and paired tests (eval/stats.c) on cases whose outcome is
 * known without sampling: identical segments (every resample is the corpus itself), identical systems (no trial
 * can beat a zero difference: p = 1 / (trials + 1)), a system better on every segment, and reproducibility. */
#include <math.h>
#include <stdlib.h>

#include "metrics.h"
#include "test.h"

/* A toy metric: 100 * sum[0] / sum[1] (matched / total). */
static double ratio(const double *sum, void *ctx) {
  (void)ctx;
  return sum[1] > 0 ? 100 * sum[0] / sum[1] : 0;
}

int main(void) {
  enum { N = 200 };
  static double same[2 * N], base[2 * N], better[2 * N], noisy[2 * N];
  for (int i = 0; i < N; i++) {
    same[2 * i] = 3, same[2 * i + 1] = 4;             /* every segment 75% */
    base[2 * i] = i % 2 ? 3 : 1, base[2 * i + 1] = 4; /* 25% or 75% */
    better[2 * i] = base[2 * i] + 1, better[2 * i + 1] = 4;
    noisy[2 * i] = i % 4 == 1 ? 1 : i % 4 == 0 ? 3 : base[2 * i], noisy[2 * i + 1] = 4; /* swaps pairs of segments */
  }
  double mean = -1, ci = -1, p = -1;
  CHECK(xlat_bootstrap_ci(same, N, 2, ratio, NULL, 500, 12345, &mean, &ci) == 0);
  CHECK_CLOSE(mean, 75.0, 1e-12);
  CHECK(ci == 0.0);
  /* a varied corpus: the mean is near the corpus score (50) and the interval is not empty */
  CHECK(xlat_bootstrap_ci(base, N, 2, ratio, NULL, 1000, 12345, &mean, &ci) == 0);
  CHECK(fabs(mean - 50.0) < 2.0);
  CHECK(ci > 1.0 && ci < 10.0); /* binomial: sd of the mean of 200 {25, 75} values is 25/sqrt(200) = 1.77 */
  double mean2, ci2;
  CHECK(xlat_bootstrap_ci(base, N, 2, ratio, NULL, 1000, 12345, &mean2, &ci2) == 0);
  CHECK(mean2 == mean && ci2 == ci); /* same seed, same draws */
  /* approximate randomisation */
  CHECK(xlat_paired_ar(base, base, N, 2, ratio, NULL, 1000, 1, &p) == 0);
  CHECK_CLOSE(p, 1.0 / 1001, 1e-15);
  CHECK(xlat_paired_ar(base, better, N, 2, ratio, NULL, 1000, 1, &p) == 0);
  CHECK(p < 0.01);
  CHECK(xlat_paired_ar(base, noisy, N, 2, ratio, NULL, 1000, 1, &p) == 0); /* same score, shuffled segments */
  CHECK(p > 0.5);
  /* paired bootstrap: the better system's mean is near 75 */
  CHECK(xlat_paired_bootstrap(base, better, N, 2, ratio, NULL, 1000, 12345, &p, &mean, &ci) == 0);
  CHECK(fabs(mean - 75.0) < 2.0 && ci > 0);
  CHECK(p >= 1.0 / 1001 && p <= 1.0);
  CHECK(xlat_paired_bootstrap(base, base, N, 2, ratio, NULL, 1000, 12345, &p, &mean, &ci) == 0);
  CHECK_CLOSE(p, 1.0 / 1001, 1e-15);
  /* bad arguments are errors, not crashes */
  CHECK(xlat_bootstrap_ci(base, 0, 2, ratio, NULL, 10, 1, &mean, &ci) == -1);
  TEST_END();
}

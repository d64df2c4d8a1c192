/* test.h - a tiny test harness: CHECK and CHECK_CLOSE print file:line and count failures; TEST_END exits
 * non-zero when anything failed. Data paths come from XLAT_SOURCE_DIR / XLAT_BIN_DIR (set by ctest). */
#ifndef XLAT_TEST_H
#define XLAT_TEST_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int test_failures;
static int test_checks;

#define CHECK(cond)                                                                                                \
  do {                                                                                                             \
    test_checks++;                                                                                                 \
    if (!(cond)) {                                                                                                 \
      test_failures++;                                                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);                                     \
    }                                                                                                              \
  } while (0)

/* |a-b| <= tol * max(1, |a|, |b|): relative for large values, absolute near zero. */
#define CHECK_CLOSE(a, b, tol)                                                                                     \
  do {                                                                                                             \
    double ta_ = (double)(a), tb_ = (double)(b), sc_ = fmax(1.0, fmax(fabs(ta_), fabs(tb_)));                     \
    test_checks++;                                                                                                 \
    if (!(fabs(ta_ - tb_) <= (tol) * sc_)) {                                                                       \
      test_failures++;                                                                                             \
      fprintf(stderr, "%s:%d: CHECK_CLOSE failed: %s = %.9g, %s = %.9g (tol %g)\n", __FILE__, __LINE__, #a, ta_, \
              #b, tb_, (double)(tol));                                                                             \
    }                                                                                                              \
  } while (0)

/* The golden files' weight hash, as hash_uniform() of tests/reference/make_golden.py: a value in [-1, 1) for entry j
 * of tensor k. */
static inline double hash_uniform(uint64_t j, uint64_t k, uint64_t salt) {
  uint64_t m = 0xffffffffull, x = (j * 2654435761ull + k * 40503ull + salt * 97ull + 12345ull) & m;
  x ^= x >> 15;
  x = (x * 2246822519ull) & m;
  x ^= x >> 13;
  x = (x * 3266489917ull) & m;
  x ^= x >> 16;
  return (double)x / 4294967296.0 * 2.0 - 1.0;
}

/* Path of a file in the source tree, e.g. test_path("corpora/multi30k/val.en.gz"); static buffer. */
static inline const char *test_path(const char *rel) {
  static char buf[4][4096];
  static int k;
  const char *root = getenv("XLAT_SOURCE_DIR");
  k = (k + 1) % 4;
  snprintf(buf[k], sizeof buf[k], "%s/%s", root ? root : "..", rel);
  return buf[k];
}

/* Path of name in this test's own temporary directory, made on first use (/tmp/xlat-test-XXXXXX); name NULL gives
 * the directory. Eight static buffers, so a few paths can be in use at once. */
static inline const char *test_tmp(const char *name) {
  static char dir[64], buf[8][512];
  static int k;
  if (!dir[0]) {
    snprintf(dir, sizeof dir, "/tmp/xlat-test-XXXXXX");
    if (!mkdtemp(dir)) {
      perror("mkdtemp");
      exit(1);
    }
  }
  if (!name) return dir;
  k = (k + 1) % 8;
  snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
  return buf[k];
}

#define TEST_END()                                                                                                 \
  do {                                                                                                             \
    fprintf(stderr, "%s: %d checks, %d failed\n", __FILE__, test_checks, test_failures);                           \
    return test_failures ? 1 : 0;                                                                                  \
  } while (0)

#endif

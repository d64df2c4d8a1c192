/* cli.c - command-line flag parsing shared by the xlat programs. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int xlat_cli_flag(int argc, char **argv, int *i, const char *name, const char **value) {
  const char *a = argv[*i];
  size_t k = 0;
  for (; name[k]; k++) {
    char c = k >= 2 && a[k] == '_' ? '-' : a[k];
    if (c != name[k]) return 0;
  }
  if (a[k] == '=') {
    *value = a + k + 1;
    return 1;
  }
  if (a[k] != '\0') return 0;
  if (*i + 1 >= argc) return -1;
  *value = argv[++*i];
  return 1;
}

int xlat_cli_i64(const char *s, int64_t lo, int64_t hi, int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || end == s || *end || v < lo || v > hi) return 0;
  *out = (int64_t)v;
  return 1;
}

int xlat_cli_i32(const char *s, int32_t lo, int32_t hi, int32_t *out) {
  int64_t v;
  if (!xlat_cli_i64(s, lo, hi, &v)) return 0;
  *out = (int32_t)v;
  return 1;
}

int xlat_cli_double(const char *s, double lo, double hi, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || !(v >= lo && v <= hi)) return 0;
  *out = v;
  return 1;
}

int xlat_cli_float(const char *s, double lo, double hi, float *out) {
  double v;
  if (!xlat_cli_double(s, lo, hi, &v)) return 0;
  *out = (float)v;
  return 1;
}

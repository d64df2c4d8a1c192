/* fuzz.h - what the libFuzzer harnesses share: the input written to a file of this process (the readers under test
 * take paths), and the SentencePiece model fuzz.sh trains (XLAT_FUZZ_SPM). */
#ifndef XLAT_FUZZ_H
#define XLAT_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "xlat.h"

/* Writes data to /tmp/xlat-fuzz-PID-name (the same file on every call) and returns its path. */
static inline const char *fuzz_file(const char *name, const uint8_t *data, size_t size) {
  static char path[4][128];
  static int k;
  k = (k + 1) % 4;
  snprintf(path[k], sizeof path[k], "/tmp/xlat-fuzz-%ld-%s", (long)getpid(), name);
  FILE *f = fopen(path[k], "wb");
  if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) abort();
  return path[k];
}

/* The SentencePiece model named by XLAT_FUZZ_SPM, loaded once. */
static inline xlat_spm *fuzz_spm(void) {
  static xlat_spm *s;
  const char *path = getenv("XLAT_FUZZ_SPM");
  if (!s && (!path || xlat_spm_load(path, &s) != 0)) {
    fprintf(stderr, "fuzz: set XLAT_FUZZ_SPM to a SentencePiece model xlat trained\n");
    abort();
  }
  return s;
}

#endif

/* internal.h - what the library's files and the tests share beyond xlat.h. */
#ifndef XLAT_INTERNAL_H
#define XLAT_INTERNAL_H

#include <stdio.h>
#include <stdlib.h>

#include "xlat.h"

/* Records a user-facing failure message (printf format) for xlat_last_error() and returns s. */
xlat_status xlat_fail(xlat_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Programmer errors (shape mismatch, broken invariant) abort with file:line; never used for user input. */
#define XLAT_ASSERT(cond)                                                                                          \
  do {                                                                                                             \
    if (!(cond)) {                                                                                                 \
      fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, #cond);                                 \
      abort();                                                                                                     \
    }                                                                                                              \
  } while (0)

#endif

/* status.c - status codes and the thread-local text of the last failure. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "io.h"

static _Thread_local char last_error[1024];

const char *xlat_status_str(xlat_status s) {
  switch (s) {
  case XLAT_OK: return "ok";
  case XLAT_ERR_IO: return "input/output error";
  case XLAT_ERR_FORMAT: return "bad format";
  case XLAT_ERR_NOMEM: return "out of memory";
  case XLAT_ERR_ARG: return "invalid argument";
  case XLAT_ERR_MISMATCH: return "mismatch";
  case XLAT_ERR_BUSY: return "busy";
  case XLAT_ERR_TIMEOUT: return "timed out";
  }
  return "unknown status";
}

const char *xlat_last_error(void) { return last_error; }

xlat_status xlat_fail(xlat_status s, const char *fmt, ...) {
  /* formatted aside first: an argument may be last_error itself (a message wrapping the inner failure) */
  char text[sizeof last_error];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  memcpy(last_error, text, sizeof text);
  return s;
}

/* fuzz_lines.c - the line reader (plain or gzip, detected by content) and the UTF-8 checks on any bytes. */
#include <string.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  xlat_lines *r;
  if (xlat_lines_open(fuzz_file("lines", data, size), &r) != XLAT_OK) return 0;
  const char *line;
  size_t len, total = 0;
  while (xlat_lines_next(r, &line, &len) == XLAT_OK && line) {
    if (line[len] != '\0' || memchr(line, '\n', len)) abort(); /* the reader's promises */
    size_t bad = xlat_utf8_invalid_at(line, len);
    if (bad > len || xlat_nul_at(line, len) > len) abort();
    for (size_t i = 0; i < len;) { /* every valid sequence decodes to a code point of its length */
      uint32_t cp;
      size_t n = xlat_utf8_decode(line + i, len - i, &cp);
      if (i < bad && (n == 0 || cp > 0x10FFFF)) abort();
      i += n ? n : 1;
    }
    total += len;
  }
  xlat_lines_close(r);
  return total > SIZE_MAX / 2; /* keeps the loop */
}

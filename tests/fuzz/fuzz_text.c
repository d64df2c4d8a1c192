/* fuzz_text.c - the text preparation before translation: UTF-8 clean-up and the sentence splitter on any bytes. */
#include <string.h>

#include "text.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *out = malloc(3 * size + 1);
  if (!out) return 0;
  size_t bad = 0, n = xlat_text_sanitize((const char *)data, size, out, &bad);
  if (n > 3 * size || out[n] != '\0' || !xlat_utf8_valid(out, n) || memchr(out, '\n', n)) abort();
  size_t count = xlat_text_split_sentences(out, n, NULL, 0);
  xlat_text_span *spans = malloc(sizeof *spans * (count ? count : 1));
  if (spans) {
    if (xlat_text_split_sentences(out, n, spans, count) != count) abort();
    size_t end = 0;
    for (size_t i = 0; i < count; i++) { /* in order, inside the text, not overlapping */
      if (spans[i].start < end || spans[i].start + spans[i].len > n || spans[i].len == 0) abort();
      end = spans[i].start + spans[i].len;
    }
    free(spans);
  }
  (void)xlat_text_blank(out, n);
  free(out);
  return 0;
}

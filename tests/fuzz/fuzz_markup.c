/* fuzz_markup.c - documents with markup on any bytes: the first byte picks the format (text, Markdown, HTML), the
 * rest is the document; every block is given its own text as translation, aligned word by word in reverse order (so
 * tags move), and the document is rendered. Parse, placement and rendering must never crash nor fail. */
#include <string.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  xlat_markup *m = NULL;
  if (xlat_markup_parse((xlat_markup_format)(data[0] % 3), (const char *)data + 1, size - 1, &m) != XLAT_OK) abort();
  for (int32_t i = 0; i < xlat_markup_blocks(m); i++) {
    size_t len;
    const char *text = xlat_markup_block(m, i, &len);
    if (!text || strlen(text) != len || !xlat_utf8_valid(text, len)) abort();
    xlat_markup_link *links = malloc(sizeof *links * (len + 1));
    int32_t n = 0;
    for (size_t at = 0; links && at < len;) { /* the words, each aligned to the word as far from the end */
      while (at < len && text[at] == ' ') at++;
      size_t end = at;
      while (end < len && text[end] != ' ') end++;
      if (end > at) links[n++] = (xlat_markup_link){(int32_t)at, (int32_t)end, -1, -1};
      at = end;
    }
    for (int32_t k = 0; k < n; k++)
      links[k].src_begin = links[n - 1 - k].tgt_begin, links[k].src_end = links[n - 1 - k].tgt_end;
    if (links && xlat_markup_set(m, i, text, len, links, n) != XLAT_OK) abort();
    free(links);
  }
  char *out = NULL;
  size_t out_len = 0;
  if (xlat_markup_render(m, &out, &out_len) != XLAT_OK || out[out_len] != '\0') abort(); /* raw bytes: NUL too */
  free(out);
  xlat_markup_free(m);
  return 0;
}

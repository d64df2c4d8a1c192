/* fuzz_corpus.c - a parallel corpus (both sides the fuzzed file, plain or gzip) read, checked, encoded and filtered
 * with skipping of invalid UTF-8 on, then batched: refused with a message or loaded, never a crash. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = fuzz_file("corpus", data, size);
  xlat_corpus_options o;
  xlat_corpus_options_default(&o);
  o.skip_invalid_utf8 = size > 0 && data[0] & 1;
  o.max_tokens = 64;
  xlat_corpus *c = NULL;
  if (xlat_corpus_load(path, path, fuzz_spm(), fuzz_spm(), &o, &c) != XLAT_OK) return 0;
  xlat_batcher *b = NULL;
  if (xlat_batcher_new(c, 256, 65, 1, &b) == XLAT_OK) {
    int64_t n = xlat_batcher_epoch(b, 0);
    for (int64_t i = 0; i < n; i++) {
      xlat_batch bt;
      if (xlat_batcher_get(b, i, &bt) != XLAT_OK) abort();
    }
    xlat_batcher_free(b);
  }
  xlat_corpus_free(c);
  return 0;
}

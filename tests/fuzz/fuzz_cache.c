/* fuzz_cache.c - the encoded-id cache loader: the fuzzed bytes are the cache file of two fixed small text files
 * (fuzz.sh seeds it with the real one). A damaged cache is rebuilt from the text, never trusted, never a crash. */
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static char dir[512], src[512], tgt[512];
  if (!dir[0]) {
    const char *d = getenv("XLAT_FUZZ_CACHE_DIR"); /* holds a.en and a.de, written by fuzz.sh */
    if (!d) abort();
    snprintf(dir, sizeof dir, "%s/cache", d);
    snprintf(src, sizeof src, "%s/a.en", d);
    snprintf(tgt, sizeof tgt, "%s/a.de", d);
    mkdir(dir, 0700);
  }
  char cache[600];
  snprintf(cache, sizeof cache, "%s/a.en+a.de.ids", dir);
  FILE *f = fopen(cache, "wb");
  if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) abort();
  xlat_corpus_options o;
  xlat_corpus_options_default(&o);
  o.cache_dir = dir;
  xlat_corpus *c = NULL;
  if (xlat_corpus_load(src, tgt, fuzz_spm(), fuzz_spm(), &o, &c) != XLAT_OK) abort(); /* the text itself is fine */
  for (int64_t i = 0; i < xlat_corpus_size(c); i++) { /* whatever was loaded is in range */
    const int32_t *s, *t;
    int32_t ns, nt;
    xlat_corpus_pair(c, i, &s, &ns, &t, &nt);
    for (int32_t k = 0; k < ns; k++)
      if (s[k] < 0 || s[k] >= xlat_spm_vocab_size(fuzz_spm())) abort();
  }
  xlat_corpus_free(c);
  return 0;
}

/* fuzz_spm.c - the SentencePiece wrapper on any bytes: text to ids and pieces, pieces and ids (in or out of range)
 * back to text. Errors are messages, never a crash or a C++ exception escaping. */
#include <string.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  xlat_spm *s = fuzz_spm();
  const char *text = (const char *)data;
  int32_t *ids = NULL;
  size_t n = 0;
  char *out = NULL;
  if (xlat_spm_encode_ids(s, text, size, &ids, &n) == 0) {
    if (xlat_spm_decode_ids(s, ids, n, &out) == 0) free(out);
    free(ids);
  }
  if (xlat_spm_encode_pieces(s, text, size, &out) == 0) free(out);
  if (xlat_spm_decode_pieces(s, text, size, &out) == 0) free(out);
  size_t k = size / sizeof(int32_t);
  int32_t *raw = malloc((k ? k : 1) * sizeof *raw);
  if (raw) {
    memcpy(raw, data, k * sizeof *raw);
    if (xlat_spm_decode_ids(s, raw, k, &out) == 0) free(out);
    free(raw);
  }
  return 0;
}

/* fuzz_checkpoint.c - the checkpoint loader on any bytes: refused with a message or loaded, never a crash, a hang or
 * an allocation the file's size does not justify. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  xlat_model *m = NULL;
  if (xlat_model_load(fuzz_file("ckpt.xlat", data, size), &m) == XLAT_OK) xlat_model_free(m);
  return 0;
}

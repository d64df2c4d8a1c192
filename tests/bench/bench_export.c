/* bench_export.c - `xlat-bench export`: a model's weights for the PyTorch decoding yardstick (torch_decode.py).
 *
 * Format: one JSON line {"config": {...}, "tensors": [{"name": N, "shape": [..]}, ...]}, then each tensor as raw
 * float32 in header order (this machine's byte order: x86-64 and arm64 are little-endian, which the reader assumes).
 * Names and shapes are the library's parameter table, so the reader needs no knowledge of the block layout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "internal.h"

int bench_export(int argc, char **argv) {
  const char *model_path = NULL, *out_path = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--model") && i + 1 < argc) model_path = argv[++i];
    else if (!strcmp(argv[i], "--output") && i + 1 < argc) out_path = argv[++i];
    else {
      fprintf(stderr, "usage: xlat-bench export --model MODEL.xlat --output WEIGHTS.bin\n");
      return 2;
    }
  }
  if (!model_path || !out_path) {
    fprintf(stderr, "usage: xlat-bench export --model MODEL.xlat --output WEIGHTS.bin\n");
    return 2;
  }
  xlat_model *m = NULL;
  if (xlat_model_load(model_path, &m) != XLAT_OK) {
    fprintf(stderr, "xlat-bench export: %s\n", xlat_last_error());
    return 1;
  }
  const xlat_config *c = &m->cfg;
  if (c->src_vocab_size) { /* torch_decode.py builds one joint vocabulary */
    fprintf(stderr, "xlat-bench export: %s has separate source and target vocabularies, which the PyTorch reference "
                    "does not model\n", model_path);
    xlat_model_free(m);
    return 1;
  }
  size_t n = xlat_param_table(c, NULL, 0);
  xlat_tensor_info *t = calloc(n, sizeof *t);
  FILE *f = fopen(out_path, "wb");
  if (!t || !f) {
    fprintf(stderr, "xlat-bench export: cannot write %s\n", out_path);
    if (f) fclose(f);
    free(t);
    xlat_model_free(m);
    return 1;
  }
  xlat_param_table(c, t, n);
  fprintf(f,
          "{\"config\": {\"vocab_size\": %d, \"d_model\": %d, \"n_heads\": %d, \"d_ff\": %d, \"enc_layers\": %d, "
          "\"dec_layers\": %d, \"max_len\": %d, \"pre_norm\": %d, \"activation\": %d, \"tied_embeddings\": %d, "
          "\"positions\": %d, \"relative_clip\": %d, \"arch\": \"%s\", \"emb_dim\": %d, \"attention\": %d, "
          "\"bidirectional\": %d, \"input_feeding\": %d}, \"tensors\": [",
          c->vocab_size, c->d_model, c->n_heads, c->d_ff, c->enc_layers, c->dec_layers, c->max_len, c->pre_norm,
          c->activation, c->tied_embeddings, c->positions, c->rel_clip, xlat_arch_name(c->arch), c->emb_dim,
          c->attention, c->bidirectional, c->input_feeding);
  for (size_t i = 0; i < n; i++) {
    fprintf(f, "%s{\"name\": \"%s\", \"shape\": [%d", i ? ", " : "", t[i].name, t[i].rows);
    if (t[i].ndim == 2) fprintf(f, ", %d", t[i].cols);
    fputs("]}", f);
  }
  fputs("]}\n", f);
  for (size_t i = 0; i < n; i++)
    fwrite(m->params + t[i].offset, sizeof(float), (size_t)t[i].rows * (size_t)t[i].cols, f);
  int bad = ferror(f) | fclose(f);
  if (bad) fprintf(stderr, "xlat-bench export: write error on %s\n", out_path);
  free(t);
  xlat_model_free(m);
  return bad ? 1 : 0;
}

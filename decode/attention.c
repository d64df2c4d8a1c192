/* attention.c - xlat-decode --attention-svg: forced decoding of the kept segment's translation with the first model
 * (xlat_beam_attention) and the library's heatmap writer (svg.h), labelled with SentencePiece pieces. */
#include "attention.h"

#include <stdio.h>
#include <stdlib.h>

int attention_svg(const doc_options *o, const doc_first *first, const char *input_name, const char *path) {
  if (!first->found) {
    fprintf(stderr, "xlat-decode: --attention-svg: no line with text among the first %d lines of %s; %s not written\n",
            o->window, input_name, path);
    return 1;
  }
  int32_t S = first->src_len, T = first->tgt_len + 1;
  float *attn = malloc(sizeof(float) * (size_t)S * (size_t)T);
  const char **rows = malloc(sizeof *rows * (size_t)T), **cols = malloc(sizeof *cols * (size_t)S);
  xlat_beam *b = NULL;
  int rc = 1;
  if (!attn || !rows || !cols) {
    fprintf(stderr, "xlat-decode: out of memory\n");
    goto done;
  }
  for (int32_t t = 0; t < T; t++) {
    const char *p = t < first->tgt_len ? xlat_spm_id_to_piece(o->tr.spm, first->tgt[t]) : "</s>";
    rows[t] = p ? p : "?";
  }
  for (int32_t s = 0; s < S; s++) {
    const char *p = xlat_spm_id_to_piece(o->tr.spm, first->src[s]);
    cols[s] = p ? p : "?";
  }
  char title[256];
  snprintf(title, sizeof title, "Attention, line %lld of %s%s", (long long)first->line + 1, input_name,
           o->score_path ? " (scored target)" : "");
  if (xlat_beam_new(o->tr.models, 1, &o->tr.beam, &b) != XLAT_OK ||
      xlat_beam_attention(b, first->src, S, first->tgt, first->tgt_len, attn) != XLAT_OK ||
      xlat_svg_heatmap(path, title, rows, T, cols, S, attn) != XLAT_OK) {
    fprintf(stderr, "xlat-decode: --attention-svg: %s\n", xlat_last_error());
    goto done;
  }
  rc = 0;
done:
  xlat_beam_free(b);
  free(attn);
  free(rows);
  free(cols);
  return rc;
}

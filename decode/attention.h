/* attention.h - xlat-decode --attention-svg: the attention map of one translated segment as an SVG heatmap. */
#ifndef XLAT_DECODE_ATTENTION_H
#define XLAT_DECODE_ATTENTION_H

#include "document.h"

/* Writes the heatmap of first (filled in by doc_translate) to path: rows the output pieces and "</s>", columns the
 * source pieces, cells the first model's attention (xlat_beam_attention). Returns 0, or 1 after saying why on
 * stderr (also when the input had no line with text to draw). */
int attention_svg(const doc_options *o, const doc_first *first, const char *input_name, const char *path);

#endif

/* attention.h - attention maps as SVG heatmaps: xlat-decode --attention-svg and the service's /attention. */
#ifndef XLAT_DECODE_ATTENTION_H
#define XLAT_DECODE_ATTENTION_H

#include "document.h"

/* The heatmap of src (src_len ids) translated as tgt (tgt_len ids) by b's first model (xlat_beam_attention): rows the
 * output pieces and "</s>", columns the source pieces (named by tr's tokenizers). Written to path, or when path is
 * NULL into *out (malloc'ed, *out_len bytes). On failure returns the status, with the message for xlat_last_error(). */
xlat_status attention_draw(xlat_beam *b, const xlat_translator_options *tr, const int32_t *src,
                           int32_t src_len, const int32_t *tgt, int32_t tgt_len, const char *title, const char *path,
                           char **out, size_t *out_len);

/* xlat-decode --attention-svg: writes the heatmap of first (filled in by doc_translate) to path. Returns 0, or 1
 * after saying why on stderr (also when the input had no line with text to draw). */
int attention_svg(const doc_options *o, const doc_first *first, const char *input_name, const char *path);

/* --attention-svg DIR/: the heatmap of every segment of window w (translated, or scored with --score) with b (the
 * first model) in o->attention_dir (created when missing): line-N.svg, or line-N-K.svg for segment K > 1 of line N
 * (1-based). Returns 0, or 1 after saying why on stderr. */
int attention_window(const doc_options *o, xlat_beam *b, const xlat_texts *w);

#endif

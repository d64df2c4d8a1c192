/* markup.h - translate documents in plain text, Markdown or HTML while keeping their markup. The module knows
 * nothing about models: it turns a document into translatable blocks of plain text and, once the caller has given
 * each block a translation and a word alignment, renders the translated document with the markup carried over
 * (inline tags follow the target words aligned to the words they wrapped, as Bergamot does for HTML).
 *
 * Ownership: whoever calls xlat_markup_parse calls xlat_markup_free (which accepts NULL); every other call copies
 * what it is given and keeps no caller pointer. */
#ifndef XLAT_MARKUP_H
#define XLAT_MARKUP_H

#include <stddef.h>
#include <stdint.h>

#include "io.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { XLAT_MARKUP_TEXT, XLAT_MARKUP_MARKDOWN, XLAT_MARKUP_HTML } xlat_markup_format;
typedef struct xlat_markup xlat_markup;

/* Parses doc (len bytes, any bytes: not necessarily NUL-terminated, invalid UTF-8 and NUL are read as U+FFFD in the
 * blocks' text). Malformed HTML is repaired as a browser would; it is never an error. XLAT_ERR_ARG for an unknown
 * format or an HTML document of 4 GiB or more; XLAT_ERR_NOMEM. */
xlat_status xlat_markup_parse(xlat_markup_format fmt, const char *doc, size_t len, xlat_markup **out);
/* Number of translatable blocks (paragraphs, headings, list items, table cells, ...), in document order. */
int32_t xlat_markup_blocks(const xlat_markup *m);
/* Block i's plain text (valid while m lives, NUL-terminated, its length in *len when len is not NULL): tags removed,
 * entities decoded, whitespace collapsed to single spaces and trimmed, UTF-8. Code, images, line breaks and
 * comments inside the block are not in it; they come back at the aligned position. */
const char *xlat_markup_block(const xlat_markup *m, int32_t i, size_t *len);

/* One aligned target token: bytes [tgt_begin, tgt_end) of the translation come from bytes [src_begin, src_end) of
 * the block's plain text; src_begin = -1 (and any src_end) for a token aligned to nothing. */
typedef struct {
  int32_t tgt_begin, tgt_end, src_begin, src_end;
} xlat_markup_link;

/* Gives block i its translation (len bytes, no NUL) and alignment (links sorted by tgt_begin, not overlapping, within
 * the translation and the plain text); both are copied. A block never given one is rendered with its source text.
 * XLAT_ERR_ARG naming the first bad link or byte. */
xlat_status xlat_markup_set(xlat_markup *m, int32_t i, const char *text, size_t len, const xlat_markup_link *links,
                            int32_t n_links);
/* The translated document in *out (malloc'ed, NUL-terminated, the caller frees it) and its length in *len.
 * XLAT_ERR_NOMEM. */
xlat_status xlat_markup_render(const xlat_markup *m, char **out, size_t *len);
void xlat_markup_free(xlat_markup *m);

#ifdef __cplusplus
}
#endif
#endif

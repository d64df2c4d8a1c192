/* markup_internal.h - what markup.c (blocks, tag placement, plain text) shares with its two parsers' files,
 * markup_html.c (libgumbo) and markup_md.c (cmark). Not part of the public API. */
#ifndef XLAT_MARKUP_INTERNAL_H
#define XLAT_MARKUP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "markup.h"

/* A growable byte buffer; after a failed allocation it stays as it was and oom is set (checked once at the end). */
typedef struct {
  char *p;
  size_t n, cap;
  int oom;
} mk_buf;

void mk_put(mk_buf *b, const char *s, size_t n);
void mk_puts(mk_buf *b, const char *s);

/* An inline element of a block (<b>, <a href>, Markdown emphasis or link): it wrapped plain-text bytes [a, b).
 * Spans are stored in document (pre-)order; parent is the index of the enclosing span, -1 for none. */
typedef struct {
  int32_t a, b, parent, order;
  void *node; /* the parser's node */
} mk_span;

/* Something kept whole and out of the plain text (inline code, <img>, <br>, comments, Markdown code spans): it stood
 * at plain-text byte p, inside span owner (-1: none). */
typedef struct {
  int32_t p, owner, order;
  int space_before; /* whitespace stood before it: it keeps a space before it in the translation */
  void *node;
} mk_item;

/* A translatable block: its plain text, inline elements and items, the raw whitespace around it (HTML keeps the
 * source's line layout around a paragraph) and, once set, its translation. */
typedef struct {
  mk_buf plain;
  mk_span *spans;
  mk_item *items;
  int32_t n_spans, n_items, cap_spans, cap_items, order;
  int32_t open; /* innermost span being read, -1 at the top */
  int after_space; /* the last plain byte was a collapsed space (or nothing yet): drop the next whitespace */
  mk_buf lead, trail;
  size_t src_begin, src_end; /* XLAT_MARKUP_TEXT: the paragraph's source bytes */
  const void *first;         /* XLAT_MARKUP_HTML: the first node of the block's run */
  int translated;
  char *text;
  size_t len;
  xlat_markup_link *links;
  int32_t n_links;
} mk_block;

/* Building a block while walking the parser's tree: text (whitespace collapsed, invalid UTF-8 made U+FFFD),
 * spans opened and closed around their content, items at the current position (spaced: a collapsible space stands
 * in for the item, so "a<br>b" reads "a b"). mk_block_finish trims the trailing space; returns 1 when the block has
 * text to translate. */
void mk_block_text(mk_block *b, const char *s, size_t n);
void mk_block_open(mk_block *b, void *node);
void mk_block_close(mk_block *b);
void mk_block_item(mk_block *b, void *node, int spaced);
int mk_block_finish(mk_block *b);
void mk_block_clear(mk_block *b);
int mk_block_oom(const mk_block *b);

/* Where the translation's pieces go: text (raw translation bytes, the sink escapes them), inline elements opened and
 * closed (always properly nested), items. */
typedef struct mk_sink {
  void (*text)(struct mk_sink *s, const char *p, size_t n);
  void (*open)(struct mk_sink *s, const mk_span *span);
  void (*close)(struct mk_sink *s, const mk_span *span);
  void (*item)(struct mk_sink *s, const mk_item *item);
} mk_sink;

/* Sends block b's translation to the sink with every span and item of b placed at its aligned position (each span
 * and item exactly once). The spans and items are b's own or, for a re-parsed document, those of a block read the
 * same way (same counts): layout. Returns 0, or -1 when out of memory. */
int mk_place(const mk_block *b, const mk_block *layout, mk_sink *sink);

struct xlat_markup {
  xlat_markup_format fmt;
  char *doc; /* a NUL-terminated copy of the document */
  size_t len;
  mk_block *blocks;
  int32_t n_blocks, cap_blocks;
  void *tree; /* the HTML parse (GumboOutput) kept for rendering */
};

/* Appends an empty block (-1 when out of memory) and returns its index. */
int32_t mk_add_block(xlat_markup *m);

xlat_status mk_html_parse(xlat_markup *m);
xlat_status mk_html_render(const xlat_markup *m, mk_buf *out);
void mk_html_free(xlat_markup *m);
xlat_status mk_md_parse(xlat_markup *m);
xlat_status mk_md_render(const xlat_markup *m, mk_buf *out);

#endif

/* text.h - text clean-up and sentence splitting before translation (no model, no I/O). */
#ifndef XLAT_TEXT_H
#define XLAT_TEXT_H

#include <stddef.h>

/* Copies len bytes of in to out, replacing each invalid UTF-8 byte with U+FFFD and each control character (C0, DEL,
 * C1, U+2028/U+2029; TAB too) with a space, so the text is safe to encode and print on one line. out must have room
 * for 3 * len + 1 bytes; it is NUL-terminated. Returns the output length; *n_invalid (may be NULL) gets the number
 * of invalid bytes replaced. */
size_t xlat_text_sanitize(const char *in, size_t len, char *out, size_t *n_invalid);

/* 1 when the text has nothing but spaces. */
int xlat_text_blank(const char *s, size_t len);

/* A sentence of a paragraph: bytes [start, start + len), without surrounding spaces. */
typedef struct {
  size_t start, len;
} xlat_text_span;

/* Splits a paragraph into sentences: after . ! ? or an ellipsis (with closing quotes and brackets) followed by space
 * and a character that is not a lowercase letter, unless the word before a period is a known abbreviation or a single
 * letter; after CJK full stops without a space. Writes at most max spans and returns how many sentences there are
 * (possibly more than max). A paragraph with no text gives 0. */
size_t xlat_text_split_sentences(const char *s, size_t len, xlat_text_span *spans, size_t max);

#endif

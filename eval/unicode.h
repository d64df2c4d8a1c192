/* unicode.h - internal to the metrics library: UTF-8 decoding, Python's str semantics that sacreBLEU relies on
 * (isspace, lower() with the final-sigma rule, rstrip, split) and the Unicode classes the tokenizers need.
 * Everything works on arrays of code points so that rules stated "per character" in Python apply unchanged. */
#ifndef XLAT_EVAL_UNICODE_H
#define XLAT_EVAL_UNICODE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Generated tables (unicode_tables.c); each is sorted, ranges are inclusive. */
extern const uint32_t xm_space_ranges[][2];
extern const int xm_space_ranges_n;
extern const uint32_t xm_lower_map[][2];
extern const int xm_lower_map_n;
extern const uint32_t xm_cased_ranges[][2];
extern const int xm_cased_ranges_n;
extern const uint32_t xm_case_ignorable_ranges[][2];
extern const int xm_case_ignorable_ranges_n;
extern const uint32_t xm_punct_ranges[][2];
extern const int xm_punct_ranges_n;
extern const uint32_t xm_symbol_ranges[][2];
extern const int xm_symbol_ranges_n;
extern const uint32_t xm_number_ranges[][2];
extern const int xm_number_ranges_n;

int xm_in_ranges(const uint32_t (*r)[2], int n, uint32_t c);

/* Python str.isspace(). */
static inline int xm_isspace(uint32_t c) {
  if (c < 128) return c == ' ' || (c >= 9 && c <= 13) || (c >= 0x1c && c <= 0x1f);
  return xm_in_ranges(xm_space_ranges, xm_space_ranges_n, c);
}
static inline int xm_is_punct(uint32_t c) { return xm_in_ranges(xm_punct_ranges, xm_punct_ranges_n, c); }
static inline int xm_is_symbol(uint32_t c) { return xm_in_ranges(xm_symbol_ranges, xm_symbol_ranges_n, c); }
static inline int xm_is_number(uint32_t c) { return xm_in_ranges(xm_number_ranges, xm_number_ranges_n, c); }

/* A growable array of code points. */
typedef struct {
  uint32_t *c;
  size_t n, cap;
} xm_cps;

/* A growable byte string. */
typedef struct {
  char *s;
  size_t n, cap;
} xm_buf;

/* Tokens: UTF-8 bytes in text, token i is text[off[i] .. off[i]+len[i]); hash[i] is a hash of those bytes. */
typedef struct {
  char *text;
  size_t text_n, text_cap;
  uint32_t *off, *len;
  uint64_t *hash;
  size_t n, cap;
} xm_toks;

/* All return 0, or -1 with the error text set (out of memory, invalid UTF-8). */
int xm_cps_reserve(xm_cps *a, size_t n);
static inline int xm_cps_push(xm_cps *a, uint32_t c) {
  if (a->n == a->cap && xm_cps_reserve(a, a->n + 1)) return -1;
  a->c[a->n++] = c;
  return 0;
}
void xm_cps_free(xm_cps *a);
void xm_toks_free(xm_toks *t);

/* Strict UTF-8 (as Python's decoder: no overlongs, surrogates or values above U+10FFFF) into out (replaced).
 * what names the segment in the error message (NULL: "segment"). */
int xm_utf8_decode(xm_cps *out, const char *s, size_t n, const char *what);
/* Text naming segment seg (0-based) of reference ref, or of the hypothesis when ref < 0, for error messages. */
const char *xm_what(char *buf, size_t cap, int ref, int64_t seg);
/* Returns the number of bytes of UTF-8 encoding c (1..4) written to out. */
int xm_utf8_put(char *out, uint32_t c);
/* Offset of the first invalid byte of s, or -1 when s is valid UTF-8. */
long xm_utf8_invalid_at(const char *s, size_t n);

/* Python str.lower() of in (final sigma included) into out (replaced). */
int xm_lower(xm_cps *out, const xm_cps *in);
/* Python str.rstrip() / str.strip() in place. */
void xm_rstrip(xm_cps *a);
void xm_strip(xm_cps *a);
/* Python str.split(): appends the whitespace-separated words of a[0..n) to t (t is not cleared). */
int xm_split(xm_toks *t, const uint32_t *a, size_t n);
/* Appends one token (the code points a[0..n)) to t. */
int xm_toks_add(xm_toks *t, const uint32_t *a, size_t n);
/* Room in t for text_need more bytes of text, 8 more that may be read past them, and tok_need more tokens. */
int xm_toks_reserve(xm_toks *t, size_t text_need, size_t tok_need);
/* Sets the hash of tokens first .. n-1 of t, made by hand (text, off, len) after xm_toks_reserve. */
void xm_toks_hash(xm_toks *t, size_t first);
/* Decodes the character at s[i] of s[0..n) into *c: returns its length, or 0 when the bytes there are not valid
 * UTF-8. */
int xm_utf8_next(const char *s, size_t i, size_t n, uint32_t *c);
/* Length of valid UTF-8 s[0..n) after str.rstrip(). */
size_t xm_rstrip_utf8(const char *s, size_t n);
void xm_toks_clear(xm_toks *t);

/* The eight bytes at p as a little-endian number, whatever the machine: the first byte is the lowest. */
static inline uint64_t xm_load_le(const void *p) {
  uint64_t w;
  memcpy(&w, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  w = __builtin_bswap64(w);
#endif
  return w;
}

/* 64-bit hash of a byte string (token identity; equality is always confirmed by comparing bytes). */
uint64_t xm_hash_bytes(const char *s, size_t n);

/* Thread-local error text of the metrics library; xm_fail formats it and returns -1. */
int xm_fail(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

#endif

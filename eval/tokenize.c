/* tokenize.c - sacreBLEU's BLEU tokenizers: 13a (mteval-v13a), intl (mteval-v14 international), zh (13a's
 * expressions after spacing out Chinese characters), char and none. Each applies its regular expressions as
 * Python's re.sub does (left to right, non-overlapping), one pass per expression, then str.split(). intl, char and
 * none work on code points; 13a's expressions are ASCII-only and run on UTF-8 bytes (the speed path). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenize.h"

static int is_digit(uint32_t c) { return c >= '0' && c <= '9'; }

/* 13a's first expression: ASCII punctuation and symbols other than ' , - . (and space, which it also pads):
 * 20-26 28-2B 2F 3A-40 5B-60 7B-7E as a bit set. */
static int is_13a_split(uint32_t c) {
  static const uint64_t bits[2] = {0xfc008f7f00000000ull, 0x78000001f8000001ull};
  return c < 128 && (bits[c >> 6] >> (c & 63)) & 1;
}

static int push3(xm_cps *o, uint32_t a, uint32_t b, uint32_t c) {
  if (xm_cps_reserve(o, o->n + 3)) return -1;
  o->c[o->n++] = a;
  o->c[o->n++] = b;
  o->c[o->n++] = c;
  return 0;
}

static int push4(xm_cps *o, uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
  if (push3(o, a, b, c)) return -1;
  return xm_cps_push(o, d);
}

static int buf_reserve(xm_buf *b, size_t n) {
  if (n <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < n) cap *= 2;
  char *p = realloc(b->s, cap);
  if (!p) return xm_fail("bleu: out of memory (%zu bytes)", cap);
  b->s = p;
  b->cap = cap;
  return 0;
}

/* str.replace(pat, rep) on UTF-8 bytes (pat and rep are ASCII, so byte matches are character matches). */
static int replace_bytes(xm_buf *out, const xm_buf *in, const char *pat, const char *rep) {
  size_t m = strlen(pat), r = strlen(rep);
  if (buf_reserve(out, in->n + 1)) return -1; /* rep is never longer than pat here */
  out->n = 0;
  for (size_t i = 0; i < in->n;) {
    if (i + m <= in->n && memcmp(in->s + i, pat, m) == 0) {
      memcpy(out->s + out->n, rep, r);
      out->n += r;
      i += m;
    } else {
      out->s[out->n++] = in->s[i++];
    }
  }
  return 0;
}

/* The four expressions of sacreBLEU's TokenizerRegexp (shared by 13a and zh), on UTF-8 bytes: every class in them
 * is ASCII, a non-ASCII character only ever plays "[^0-9]", and a match can only start at an ASCII byte or at the
 * last byte of a character before '.' or ',', so working byte by byte gives what Python gives per character.
 * The result ends in *a (*b is scratch). */
static int regexp_13a(xm_buf **a, xm_buf **b) {
  xm_buf *in = *a, *out = *b, *t;
  /* the first pass at most triples the length, the others at most double it: reserve once, write directly */
  if (buf_reserve(out, 3 * in->n + 1) || buf_reserve(in, 3 * in->n + 1)) return -1;
  char *o = out->s;
  /* A space is in this class too, but padding it only puts spaces next to a space, and no later expression can
   * tell one space from three (each sees one non-digit either way): spaces are copied once. */
  int has_dot = 0, has_dash = 0;
  for (size_t i = 0; i < in->n; i++) { /* ([\{-\~\[-\` -\&\(-\+\:-\@\/]) -> ' \1 ' */
    unsigned char c = (unsigned char)in->s[i];
    has_dot |= c == '.' || c == ',';
    has_dash |= c == '-';
    if (c != ' ' && is_13a_split(c))
      *o++ = ' ', *o++ = (char)c, *o++ = ' ';
    else
      *o++ = (char)c;
  }
  out->n = (size_t)(o - out->s);
  t = in, in = out, out = t, o = out->s;
  if (!has_dot) goto dash; /* the next two expressions need a '.' or ',' */
  for (size_t i = 0; i < in->n;) { /* ([^0-9])([\.,]) -> '\1 \2 ' */
    char c = in->s[i];
    if (i + 1 < in->n && !is_digit((unsigned char)c) && (in->s[i + 1] == '.' || in->s[i + 1] == ',')) {
      *o++ = c, *o++ = ' ', *o++ = in->s[i + 1], *o++ = ' ';
      i += 2;
    } else {
      *o++ = in->s[i++];
    }
  }
  out->n = (size_t)(o - out->s);
  t = in, in = out, out = t, o = out->s;
  for (size_t i = 0; i < in->n;) { /* ([\.,])([^0-9]) -> ' \1 \2' */
    char c = in->s[i];
    if (i + 1 < in->n && (c == '.' || c == ',') && !is_digit((unsigned char)in->s[i + 1])) {
      *o++ = ' ', *o++ = c, *o++ = ' ', *o++ = in->s[i + 1];
      i += 2;
    } else {
      *o++ = in->s[i++];
    }
  }
  out->n = (size_t)(o - out->s);
  t = in, in = out, out = t, o = out->s;
dash:
  if (!has_dash) { /* the last expression needs a '-': the result is already in `in` */
    *a = in;
    *b = out;
    return 0;
  }
  for (size_t i = 0; i < in->n;) { /* ([0-9])(-) -> '\1 \2 ' */
    char c = in->s[i];
    if (i + 1 < in->n && is_digit((unsigned char)c) && in->s[i + 1] == '-') {
      *o++ = c, *o++ = ' ', *o++ = '-', *o++ = ' ';
      i += 2;
    } else {
      *o++ = in->s[i++];
    }
  }
  out->n = (size_t)(o - out->s);
  *a = out;
  *b = in;
  return 0;
}

/* 13a on the (lowercased, rstripped) UTF-8 line in z->b1. */
static int tok_13a(xm_tokenizer *z, xm_toks *out) {
  xm_buf *a = &z->b1, *b = &z->b2, *t;
  static const char *const pre[][2] = {{"<skipped>", ""}, {"-\n", ""}, {"\n", " "}};
  static const char *const ent[][2] = {{"&quot;", "\""}, {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}};
  int has_lt = memchr(a->s, '<', a->n) != NULL, has_nl = memchr(a->s, '\n', a->n) != NULL;
  for (int k = 0; k < 3; k++) {
    if ((k == 0 && !has_lt) || (k > 0 && !has_nl)) continue;
    if (replace_bytes(b, a, pre[k][0], pre[k][1])) return -1;
    t = a, a = b, b = t;
  }
  if (memchr(a->s, '&', a->n)) {
    for (int k = 0; k < 4; k++) {
      if (replace_bytes(b, a, ent[k][0], ent[k][1])) return -1;
      t = a, a = b, b = t;
    }
  }
  /* pad with one space on each side: the padding is what makes a final "1990." split */
  if (buf_reserve(b, a->n + 2)) return -1;
  b->s[0] = ' ';
  memcpy(b->s + 1, a->s, a->n);
  b->s[a->n + 1] = ' ';
  b->n = a->n + 2;
  t = a, a = b, b = t;
  if (regexp_13a(&a, &b)) return -1;
  return xm_split_utf8(out, a->s, a->n);
}

/* The ranges sacreBLEU's zh tokenizer treats as Chinese; the U+2001..U+2A6D range reproduces how Python compares
 * its mistyped 5-hex-digit "\u20000".."\u2a6d6" bounds (and "\u2f800".."\u2fa1d", inside U+2F00..U+2FDF). */
static int is_chinese(uint32_t c) {
  static const uint32_t r[][2] = {{0x2001, 0x2a6d}, {0x2e80, 0x2eff}, {0x2f00, 0x2fdf}, {0x2ff0, 0x2fff},
                                  {0x3000, 0x303f}, {0x3100, 0x312f}, {0x31a0, 0x31bf}, {0x31c0, 0x31ef},
                                  {0x3200, 0x32ff}, {0x3300, 0x33ff}, {0x3400, 0x4db5}, {0x4e00, 0x9fa5},
                                  {0x9fa6, 0x9fbb}, {0xf900, 0xfa2d}, {0xfa30, 0xfa6a}, {0xfa70, 0xfad9},
                                  {0xfe10, 0xfe1f}, {0xfe30, 0xfe4f}, {0xff00, 0xffef}};
  if (c < 0x2001 || c > 0xffef) return 0;
  return xm_in_ranges(r, (int)(sizeof r / sizeof r[0]), c);
}

static int tok_zh(xm_tokenizer *z, xm_cps *line, xm_toks *out) {
  xm_strip(line);
  xm_buf *a = &z->b1, *b = &z->b2;
  if (buf_reserve(a, 12 * line->n + 1)) return -1;
  a->n = 0;
  for (size_t i = 0; i < line->n; i++) {
    uint32_t c = line->c[i];
    int chinese = is_chinese(c);
    if (chinese) a->s[a->n++] = ' ';
    a->n += (size_t)xm_utf8_put(a->s + a->n, c);
    if (chinese) a->s[a->n++] = ' ';
  }
  if (regexp_13a(&a, &b)) return -1;
  return xm_split_utf8(out, a->s, a->n);
}

static int tok_intl(xm_tokenizer *z, xm_cps *line, xm_toks *out) {
  xm_cps *in = line, *o = &z->s1;
  o->n = 0;
  for (size_t i = 0; i < in->n;) { /* (\P{N})(\p{P}) -> '\1 \2 ' */
    uint32_t c = in->c[i];
    if (i + 1 < in->n && !xm_is_number(c) && xm_is_punct(in->c[i + 1])) {
      if (push4(o, c, ' ', in->c[i + 1], ' ')) return -1;
      i += 2;
    } else if (xm_cps_push(o, in->c[i++])) {
      return -1;
    }
  }
  in = o, o = &z->s2, o->n = 0;
  for (size_t i = 0; i < in->n;) { /* (\p{P})(\P{N}) -> ' \1 \2' */
    uint32_t c = in->c[i];
    if (i + 1 < in->n && xm_is_punct(c) && !xm_is_number(in->c[i + 1])) {
      if (push4(o, ' ', c, ' ', in->c[i + 1])) return -1;
      i += 2;
    } else if (xm_cps_push(o, in->c[i++])) {
      return -1;
    }
  }
  in = o, o = &z->s1, o->n = 0;
  for (size_t i = 0; i < in->n; i++) { /* (\p{S}) -> ' \1 ' */
    uint32_t c = in->c[i];
    if (xm_is_symbol(c) ? push3(o, ' ', c, ' ') : xm_cps_push(o, c)) return -1;
  }
  return xm_split(out, o->c, o->n);
}

static int tok_char(xm_cps *line, xm_toks *out) {
  for (size_t i = 0; i < line->n; i++)
    if (!xm_isspace(line->c[i]) && xm_toks_add(out, line->c + i, 1)) return -1;
  return 0;
}

/* 13a works on bytes: the line is checked, lowercased (ASCII directly, otherwise through code points) and
 * rstripped into z->b1 without ever being decoded when it is ASCII. */
static int prepare_13a(xm_tokenizer *z, const char *s, size_t n, int lowercase) {
  int ascii = 1;
  for (size_t i = 0; i < n && ascii; i++) ascii = (unsigned char)s[i] < 0x80;
  xm_buf *o = &z->b1;
  if (!ascii && lowercase) {
    if (xm_utf8_decode(&z->raw, s, n, "") || xm_lower(&z->low, &z->raw)) return -1;
    if (buf_reserve(o, 4 * z->low.n + 1)) return -1;
    o->n = 0;
    for (size_t i = 0; i < z->low.n; i++) o->n += (size_t)xm_utf8_put(o->s + o->n, z->low.c[i]);
  } else {
    if (!ascii && xm_utf8_invalid_at(s, n) >= 0) return xm_utf8_decode(&z->raw, s, n, "");
    if (buf_reserve(o, n + 1)) return -1;
    if (lowercase)
      for (size_t i = 0; i < n; i++) o->s[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
    else
      memcpy(o->s, s, n);
    o->n = n;
  }
  o->n = xm_rstrip_utf8(o->s, o->n);
  return 0;
}

int xm_tokenize(xm_tokenizer *z, const char *s, size_t n, xlat_bleu_tokenizer kind, int lowercase, xm_toks *out,
                int ref, int64_t seg) {
  xm_toks_clear(out);
  int rc;
  if (kind == XLAT_BLEU_TOK_13A) {
    rc = prepare_13a(z, s, n, lowercase);
  } else {
    rc = xm_utf8_decode(&z->raw, s, n, "");
    if (!rc && lowercase) rc = xm_lower(&z->low, &z->raw);
  }
  if (rc) {
    char what[64], msg[512];
    snprintf(msg, sizeof msg, "%s%s", xm_what(what, sizeof what, ref, seg), xlat_metrics_error());
    return xm_fail("%s", msg);
  }
  if (kind == XLAT_BLEU_TOK_13A) return tok_13a(z, out);
  xm_cps *line = lowercase ? &z->low : &z->raw;
  xm_rstrip(line);
  switch (kind) {
  case XLAT_BLEU_TOK_INTL: return tok_intl(z, line, out);
  case XLAT_BLEU_TOK_ZH: return tok_zh(z, line, out);
  case XLAT_BLEU_TOK_CHAR: return tok_char(line, out);
  case XLAT_BLEU_TOK_NONE: return xm_split(out, line->c, line->n);
  default: return xm_fail("bleu: unknown tokenizer %d", (int)kind);
  }
}

void xm_tokenizer_free(xm_tokenizer *z) {
  free(z->b1.s);
  free(z->b2.s);
  xm_cps_free(&z->raw);
  xm_cps_free(&z->low);
  xm_cps_free(&z->s1);
  xm_cps_free(&z->s2);
}

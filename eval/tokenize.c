/* tokenize.c - sacreBLEU's BLEU tokenizers: 13a (mteval-v13a), intl (mteval-v14 international), zh (13a's
 * expressions after spacing out Chinese characters), char and none. Each applies its regular expressions as
 * Python's re.sub does (left to right, non-overlapping), one pass per expression, then str.split(). intl, char and
 * none work on code points; 13a's expressions are ASCII-only and run on UTF-8 bytes, only where they can match,
 * in the same scan as the split (the speed path). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenize.h"

static int is_digit(uint32_t c) { return c >= '0' && c <= '9'; }
static int is_dot(char c) { return c == '.' || c == ','; }

/* Bits lo..hi of a 64-bit word. */
#define BITS(lo, hi) ((~0ull >> (63 - (hi))) & (~0ull << (lo)))

/* 13a's special bytes, those its expressions look for: ASCII punctuation and symbols but the apostrophe, that is
 * the class of its first expression plus '.', ',' and '-'. The space, also in that class, is left out: padding it
 * only puts spaces next to a space, and no later expression can tell one space from three (each sees one
 * non-digit either way). As bits of 00-3F and of 40-7F. */
static const uint64_t special_13a[2] = {(BITS(0x21, 0x2f) & ~BITS(0x27, 0x27)) | BITS(0x3a, 0x3f),
                                        BITS(0x40 - 64, 0x40 - 64) | BITS(0x5b - 64, 0x60 - 64) |
                                            BITS(0x7b - 64, 0x7e - 64)};

static int is_special(unsigned char c) { return c < 128 && (special_13a[c >> 6] >> (c & 63)) & 1; }
static int is_13a_split(unsigned char c) { return is_special(c) && !is_dot((char)c) && c != '-'; }

/* Index of the first of the 8 bytes at p that is not an ASCII letter, or 8: letters are most of the text between
 * the bytes where the 13a scan stops. A non-ASCII byte can make the sums below carry into the next byte, but it is
 * itself reported first. The index of the lowest flag comes from a multiply: a count-trailing-zeros instruction
 * would be past the x86-64 baseline (tests/check_isa.sh). */
static int first_nonletter(const unsigned char *p) {
  uint64_t w = xm_load_le(p), y = w | 0x2020202020202020ull; /* ASCII letters to lower case */
  uint64_t letter = (y + 0x1f1f1f1f1f1f1f1full) & ~(y + 0x0505050505050505ull) & ~w & 0x8080808080808080ull;
  uint64_t other = ~letter & 0x8080808080808080ull; /* 0x61 <= y < 0x7b, and below 0x80 */
  if (!other) return 8;
  return (int)((((other & (~other + 1)) >> 7) * 0x0001020304050607ull) >> 56); /* lowest flag 1 << (8k + 7) -> k */
}

/* Where the 13a scan stops: the specials, the bytes up to the space (whitespace among them) and every byte from
 * 0x80 (a character to decode: whitespace or not, valid or not). */
static int stops_13a(unsigned char c) { return c <= ' ' || c >= 0x80 || (special_13a[c >> 6] >> (c & 63)) & 1; }

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

/* str.replace(pat, rep) of s[0..n) into out (pat and rep are ASCII, so byte matches are character matches). */
static int replace_bytes(xm_buf *out, const char *s, size_t n, const char *pat, const char *rep) {
  size_t m = strlen(pat), r = strlen(rep);
  if (buf_reserve(out, n + 1)) return -1; /* rep is never longer than pat here */
  out->n = 0;
  for (size_t i = 0; i < n;) {
    if (i + m <= n && memcmp(s + i, pat, m) == 0) {
      memcpy(out->s + out->n, rep, r);
      out->n += r;
      i += m;
    } else {
      out->s[out->n++] = s[i++];
    }
  }
  return 0;
}

/* The four expressions of sacreBLEU's TokenizerRegexp (shared by 13a and zh), on UTF-8 bytes: every class in them
 * is ASCII, a non-ASCII character only ever plays "[^0-9]", and a match can only start at an ASCII byte or at the
 * last byte of a character before '.' or ',', so working byte by byte gives what Python gives per character.
 * Each sub_* is one re.sub: left to right, at each position either a two-character match replaced or one
 * character copied. out has room for twice s (three times for sub_split); each returns the length written. */

/* ([\{-\~\[-\` -\&\(-\+\:-\@\/]) -> ' \1 ' */
static size_t sub_split(char *out, const char *s, size_t n) {
  char *o = out;
  for (size_t i = 0; i < n; i++) {
    if (is_13a_split((unsigned char)s[i]))
      *o++ = ' ', *o++ = s[i], *o++ = ' ';
    else
      *o++ = s[i];
  }
  return (size_t)(o - out);
}

/* ([^0-9])([\.,]) -> '\1 \2 ' */
static size_t sub_nondigit_dot(char *out, const char *s, size_t n) {
  char *o = out;
  for (size_t i = 0; i < n;) {
    if (i + 1 < n && !is_digit((unsigned char)s[i]) && is_dot(s[i + 1])) {
      *o++ = s[i], *o++ = ' ', *o++ = s[i + 1], *o++ = ' ';
      i += 2;
    } else {
      *o++ = s[i++];
    }
  }
  return (size_t)(o - out);
}

/* ([\.,])([^0-9]) -> ' \1 \2' */
static size_t sub_dot_nondigit(char *out, const char *s, size_t n) {
  char *o = out;
  for (size_t i = 0; i < n;) {
    if (i + 1 < n && is_dot(s[i]) && !is_digit((unsigned char)s[i + 1])) {
      *o++ = ' ', *o++ = s[i], *o++ = ' ', *o++ = s[i + 1];
      i += 2;
    } else {
      *o++ = s[i++];
    }
  }
  return (size_t)(o - out);
}

/* ([0-9])(-) -> '\1 \2 ' */
static size_t sub_digit_dash(char *out, const char *s, size_t n) {
  char *o = out;
  for (size_t i = 0; i < n;) {
    if (i + 1 < n && is_digit((unsigned char)s[i]) && s[i + 1] == '-') {
      *o++ = s[i], *o++ = ' ', *o++ = '-', *o++ = ' ';
      i += 2;
    } else {
      *o++ = s[i++];
    }
  }
  return (size_t)(o - out);
}

/* Token text[base + from .. base + to) of t, unless empty (its hash comes later, see xm_toks_hash). */
static void cut(xm_toks *t, size_t base, size_t from, size_t to) {
  if (to <= from) return;
  t->off[t->n] = (uint32_t)(base + from);
  t->len[t->n] = (uint32_t)(to - from);
  t->n++;
}

/* The expressions on a run of specials, s[j..e), with the byte on each side of it (left, right; -1 at an end of an
 * unpadded line): every match involves a special byte, and a chain of matches, each starting where the previous
 * one ended, only goes on through specials. What they put between the run's bytes and next to them is all that
 * can differ from the text: spaces, each cutting the token that began at *tok. t's text holds s from base. */
static int rewrite_run(xm_tokenizer *z, const char *s, size_t j, size_t e, int left, int right, xm_toks *t,
                       size_t base, size_t *tok) {
  static size_t (*const sub[3])(char *, const char *, size_t) = {sub_nondigit_dot, sub_dot_nondigit, sub_digit_dash};
  xm_buf *a = &z->r1, *b = &z->r2, *tmp;
  if (buf_reserve(b, e - j + 2) || buf_reserve(a, 3 * (e - j + 2))) return -1;
  size_t m = 0;
  if (left >= 0) b->s[m++] = (char)left;
  memcpy(b->s + m, s + j, e - j);
  m += e - j;
  if (right >= 0) b->s[m++] = (char)right;
  a->n = sub_split(a->s, b->s, m);
  for (int p = 0; p < 3; p++) {
    if (buf_reserve(b, 2 * a->n)) return -1;
    b->n = sub[p](b->s, a->s, a->n);
    tmp = a, a = b, b = tmp;
  }
  /* the neighbours come out first and last: nothing is ever put before the left one or after the right one */
  for (size_t i = left >= 0, p = j; i < a->n - (right >= 0); i++) {
    if (a->s[i] != ' ') {
      p++;
    } else {
      cut(t, base, *tok, p);
      *tok = p;
    }
  }
  return 0;
}

/* The tokens of 13a's expressions on s[0..n) (with a space each side when pad, as 13a does), as str.split() makes
 * them, appended to t in one scan: s is copied once, plain text is only cut at whitespace, runs of specials go
 * through rewrite_run. Returns 0, -1 (out of memory), -2 when s is not valid UTF-8, or -3 when markup is set and
 * the scan meets a '<', '&' or '\n' (13a's replacements are due first; t is left as it was). */
static int scan_13a(xm_tokenizer *z, const char *s, size_t n, int pad, int markup, xm_toks *t) {
  size_t base = t->text_n, first = t->n, tok = 0, i = 0;
  if (xm_toks_reserve(t, n, n + 1)) return -1;
  memcpy(t->text + base, s, n);
  memset(t->text + base + n, ' ', 8); /* in the reserve's slack: the scan reads whole words, and stops there */
  t->text_n += n;
  const unsigned char *u = (const unsigned char *)t->text + base;
  for (;;) {
    i += (size_t)first_nonletter(u + i);
    if (i >= n) break;
    if (!stops_13a(u[i])) {
      i++;
      continue;
    }
    uint32_t c = u[i];
    size_t len = c < 0x80 ? 1 : (size_t)xm_utf8_next(s, i, n, &c);
    int markup_here = c == '\n';
    if (!len) return -2;
    size_t e = i;
    if (c < 0x80 && is_special((unsigned char)c))
      for (; e < n && is_special(u[e]); e++) markup_here |= u[e] == '<' || u[e] == '&';
    if (markup && markup_here) {
      t->n = first;
      t->text_n = base;
      return -3;
    }
    if (xm_isspace(c)) {
      cut(t, base, tok, i);
      tok = i + len;
    } else if (e > i) {
      int left = i > 0 ? u[i - 1] : pad ? ' ' : -1, right = e < n ? u[e] : pad ? ' ' : -1;
      if (rewrite_run(z, s, i, e, left, right, t, base, &tok)) return -1;
      len = e - i;
    } /* else control characters and non-ASCII: plain text */
    i += len;
  }
  cut(t, base, tok, n);
  xm_toks_hash(t, first);
  return 0;
}

/* 13a on the line s[0..n): lowercased when asked (ASCII directly, otherwise through code points, into z->b1),
 * rstripped, mteval's replacements when the line has a '<', '&' or '\n', then the expressions. */
static int tok_13a(xm_tokenizer *z, const char *s, size_t n, int lowercase, xm_toks *out) {
  static const char *const rep[][2] = {{"<skipped>", ""}, {"-\n", ""}, {"\n", " "}, {"&quot;", "\""},
                                       {"&amp;", "&"},    {"&lt;", "<"}, {"&gt;", ">"}};
  const char *line = s;
  size_t len = n;
  if (lowercase) {
    int ascii = 1;
    for (size_t i = 0; i < n && ascii; i++) ascii = (unsigned char)s[i] < 0x80;
    xm_buf *o = &z->b1;
    if (!ascii) {
      if (xm_utf8_decode(&z->raw, s, n, "") || xm_lower(&z->low, &z->raw)) return -1;
      if (buf_reserve(o, 4 * z->low.n + 1)) return -1;
      o->n = 0;
      for (size_t i = 0; i < z->low.n; i++) o->n += (size_t)xm_utf8_put(o->s + o->n, z->low.c[i]);
    } else {
      if (buf_reserve(o, n + 1)) return -1;
      for (size_t i = 0; i < n; i++) o->s[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
      o->n = n;
    }
    line = o->s;
    len = o->n;
  }
  len = xm_rstrip_utf8(line, len);
  int rc = scan_13a(z, line, len, 1, 1, out);
  if (rc == -3) {
    /* the scan checks UTF-8 as it goes, but a replacement could join the halves of a broken character */
    if (xm_utf8_invalid_at(s, n) >= 0) return xm_utf8_decode(&z->raw, s, n, "");
    int has_lt = memchr(line, '<', len) != NULL, has_nl = memchr(line, '\n', len) != NULL;
    int has_amp = memchr(line, '&', len) != NULL;
    for (int k = 0; k < 7; k++) {
      if ((k == 0 && !has_lt) || ((k == 1 || k == 2) && !has_nl) || (k >= 3 && !has_amp)) continue;
      xm_buf *o = line == z->b1.s ? &z->b2 : &z->b1;
      if (replace_bytes(o, line, len, rep[k][0], rep[k][1])) return -1;
      line = o->s;
      len = o->n;
    }
    rc = scan_13a(z, line, len, 1, 0, out);
  }
  return rc == -2 ? xm_utf8_decode(&z->raw, s, n, "") : rc; /* the decoder's message names the first bad byte */
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
  xm_buf *a = &z->b1;
  if (buf_reserve(a, 12 * line->n + 1)) return -1;
  a->n = 0;
  for (size_t i = 0; i < line->n; i++) {
    uint32_t c = line->c[i];
    int chinese = is_chinese(c);
    if (chinese) a->s[a->n++] = ' ';
    a->n += (size_t)xm_utf8_put(a->s + a->n, c);
    if (chinese) a->s[a->n++] = ' ';
  }
  return scan_13a(z, a->s, a->n, 0, 0, out);
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

int xm_tokenize(xm_tokenizer *z, const char *s, size_t n, xlat_bleu_tokenizer kind, int lowercase, xm_toks *out,
                int ref, int64_t seg) {
  xm_toks_clear(out);
  int rc;
  if (kind == XLAT_BLEU_TOK_13A) {
    rc = tok_13a(z, s, n, lowercase, out);
  } else {
    rc = xm_utf8_decode(&z->raw, s, n, "");
    if (!rc && lowercase) rc = xm_lower(&z->low, &z->raw);
    xm_cps *line = lowercase ? &z->low : &z->raw;
    if (!rc) {
      xm_rstrip(line);
      switch (kind) {
      case XLAT_BLEU_TOK_INTL: rc = tok_intl(z, line, out); break;
      case XLAT_BLEU_TOK_ZH: rc = tok_zh(z, line, out); break;
      case XLAT_BLEU_TOK_CHAR: rc = tok_char(line, out); break;
      case XLAT_BLEU_TOK_NONE: rc = xm_split(out, line->c, line->n); break;
      default: rc = xm_fail("bleu: unknown tokenizer %d", (int)kind);
      }
    }
  }
  if (rc) {
    char what[64], msg[512];
    snprintf(msg, sizeof msg, "%s%s", xm_what(what, sizeof what, ref, seg), xlat_metrics_error());
    return xm_fail("%s", msg);
  }
  return 0;
}

void xm_tokenizer_free(xm_tokenizer *z) {
  free(z->b1.s);
  free(z->b2.s);
  free(z->r1.s);
  free(z->r2.s);
  xm_cps_free(&z->raw);
  xm_cps_free(&z->low);
  xm_cps_free(&z->s1);
  xm_cps_free(&z->s2);
}

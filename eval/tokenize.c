/* tokenize.c - sacreBLEU's BLEU tokenizers on code points: 13a (mteval-v13a), intl (mteval-v14 international),
 * zh (13a's regexes after spacing out Chinese characters), char and none. Each applies its regular expressions
 * as Python's re.sub does (left to right, non-overlapping), one pass per expression, then str.split(). */
#include <string.h>

#include "tokenize.h"

static int is_digit(uint32_t c) { return c >= '0' && c <= '9'; }

/* 13a's first expression: ASCII punctuation and symbols other than ' , - . (and space, which it also pads). */
static int is_13a_split(uint32_t c) {
  return (c >= '{' && c <= '~') || (c >= '[' && c <= '`') || (c >= ' ' && c <= '&') || (c >= '(' && c <= '+') ||
         (c >= ':' && c <= '@') || c == '/';
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

static int match_ascii(const xm_cps *a, size_t i, const char *pat, size_t m) {
  if (i + m > a->n) return 0;
  for (size_t k = 0; k < m; k++)
    if (a->c[i + k] != (unsigned char)pat[k]) return 0;
  return 1;
}

/* str.replace(pat, rep) with ASCII pat and rep; out is replaced. */
static int replace_ascii(xm_cps *out, const xm_cps *in, const char *pat, const char *rep) {
  size_t m = strlen(pat), r = strlen(rep);
  out->n = 0;
  if (xm_cps_reserve(out, in->n + 1)) return -1;
  for (size_t i = 0; i < in->n;) {
    if (match_ascii(in, i, pat, m)) {
      for (size_t k = 0; k < r; k++)
        if (xm_cps_push(out, (unsigned char)rep[k])) return -1;
      i += m;
    } else {
      out->c[out->n++] = in->c[i++];
    }
  }
  return 0;
}

static int contains(const xm_cps *a, uint32_t c) {
  for (size_t i = 0; i < a->n; i++)
    if (a->c[i] == c) return 1;
  return 0;
}

/* The four expressions of sacreBLEU's TokenizerRegexp, shared by 13a and zh; result ends in *a (b is scratch). */
static int regexp_13a(xm_cps **a, xm_cps **b) {
  xm_cps *in = *a, *out = *b, *t;
  out->n = 0;
  for (size_t i = 0; i < in->n; i++) { /* ([\{-\~\[-\` -\&\(-\+\:-\@\/]) -> ' \1 ' */
    uint32_t c = in->c[i];
    if (is_13a_split(c) ? push3(out, ' ', c, ' ') : xm_cps_push(out, c)) return -1;
  }
  t = in, in = out, out = t, out->n = 0;
  for (size_t i = 0; i < in->n;) { /* ([^0-9])([\.,]) -> '\1 \2 ' */
    uint32_t c = in->c[i];
    if (i + 1 < in->n && !is_digit(c) && (in->c[i + 1] == '.' || in->c[i + 1] == ',')) {
      if (push4(out, c, ' ', in->c[i + 1], ' ')) return -1;
      i += 2;
    } else if (xm_cps_push(out, in->c[i++])) {
      return -1;
    }
  }
  t = in, in = out, out = t, out->n = 0;
  for (size_t i = 0; i < in->n;) { /* ([\.,])([^0-9]) -> ' \1 \2' */
    uint32_t c = in->c[i];
    if (i + 1 < in->n && (c == '.' || c == ',') && !is_digit(in->c[i + 1])) {
      if (push4(out, ' ', c, ' ', in->c[i + 1])) return -1;
      i += 2;
    } else if (xm_cps_push(out, in->c[i++])) {
      return -1;
    }
  }
  t = in, in = out, out = t, out->n = 0;
  for (size_t i = 0; i < in->n;) { /* ([0-9])(-) -> '\1 \2 ' */
    uint32_t c = in->c[i];
    if (i + 1 < in->n && is_digit(c) && in->c[i + 1] == '-') {
      if (push4(out, c, ' ', '-', ' ')) return -1;
      i += 2;
    } else if (xm_cps_push(out, in->c[i++])) {
      return -1;
    }
  }
  *a = out;
  *b = in;
  return 0;
}

static int tok_13a(xm_tokenizer *z, xm_cps *line, xm_toks *out) {
  xm_cps *a = line, *b = &z->s1, *t;
  static const char *const pre[][2] = {{"<skipped>", ""}, {"-\n", ""}, {"\n", " "}};
  static const char *const ent[][2] = {{"&quot;", "\""}, {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}};
  int has_lt = contains(a, '<'), has_nl = contains(a, '\n');
  for (int k = 0; k < 3; k++) {
    if ((k == 0 && !has_lt) || (k > 0 && !has_nl)) continue;
    if (replace_ascii(b, a, pre[k][0], pre[k][1])) return -1;
    t = a, a = b, b = t;
  }
  if (contains(a, '&')) {
    for (int k = 0; k < 4; k++) {
      if (replace_ascii(b, a, ent[k][0], ent[k][1])) return -1;
      t = a, a = b, b = t;
    }
  }
  /* pad with one space on each side: the padding is what makes a final "1990." split */
  b->n = 0;
  if (xm_cps_reserve(b, a->n + 2)) return -1;
  b->c[b->n++] = ' ';
  memcpy(b->c + 1, a->c, a->n * sizeof *a->c);
  b->n += a->n;
  b->c[b->n++] = ' ';
  a = b;
  b = (a == &z->s2) ? &z->s1 : &z->s2;
  if (regexp_13a(&a, &b)) return -1;
  return xm_split(out, a->c, a->n);
}

/* The ranges sacreBLEU's zh tokenizer treats as Chinese; the U+2001..U+2A6D range reproduces how Python compares
 * its mistyped 5-hex-digit "\u20000".."\u2a6d6" bounds (and "\u2f800".."\u2fa1d", inside U+2F00..U+2FDF). */
static int is_chinese(uint32_t c) {
  static const uint32_t r[][2] = {
      {0x2001, 0x2a6d}, {0x2e80, 0x2eff}, {0x2f00, 0x2fdf}, {0x2ff0, 0x2fff}, {0x3000, 0x303f}, {0x3100, 0x312f},
      {0x31a0, 0x31bf}, {0x31c0, 0x31ef}, {0x3200, 0x32ff}, {0x3300, 0x33ff}, {0x3400, 0x4db5}, {0x4e00, 0x9fa5},
      {0x9fa6, 0x9fbb}, {0xf900, 0xfa2d}, {0xfa30, 0xfa6a}, {0xfa70, 0xfad9}, {0xfe10, 0xfe1f}, {0xfe30, 0xfe4f},
      {0xff00, 0xffef}};
  if (c < 0x2001 || c > 0xffef) return 0;
  return xm_in_ranges(r, (int)(sizeof r / sizeof r[0]), c);
}

static int tok_zh(xm_tokenizer *z, xm_cps *line, xm_toks *out) {
  xm_cps *a = &z->s1, *b = &z->s2;
  xm_strip(line);
  a->n = 0;
  for (size_t i = 0; i < line->n; i++) {
    uint32_t c = line->c[i];
    if (is_chinese(c) ? push3(a, ' ', c, ' ') : xm_cps_push(a, c)) return -1;
  }
  if (regexp_13a(&a, &b)) return -1;
  return xm_split(out, a->c, a->n);
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
                const char *what) {
  xm_toks_clear(out);
  if (xm_utf8_decode(&z->raw, s, n, what)) return -1;
  xm_cps *line = &z->raw;
  if (lowercase) {
    if (xm_lower(&z->low, &z->raw)) return -1;
    line = &z->low;
  }
  xm_rstrip(line);
  switch (kind) {
  case XLAT_BLEU_TOK_13A: return tok_13a(z, line, out);
  case XLAT_BLEU_TOK_INTL: return tok_intl(z, line, out);
  case XLAT_BLEU_TOK_ZH: return tok_zh(z, line, out);
  case XLAT_BLEU_TOK_CHAR: return tok_char(line, out);
  case XLAT_BLEU_TOK_NONE: return xm_split(out, line->c, line->n);
  }
  return xm_fail("metrics: unknown tokenizer %d", (int)kind);
}

void xm_tokenizer_free(xm_tokenizer *z) {
  xm_cps_free(&z->raw);
  xm_cps_free(&z->low);
  xm_cps_free(&z->s1);
  xm_cps_free(&z->s2);
}

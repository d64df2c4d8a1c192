/* text.c - UTF-8 clean-up and a rule-based sentence splitter before translation.
 *
 * The splitter is deliberately simple (in the spirit of the Moses/Europarl splitter, not a copy of it): it only has
 * to cut paragraphs into units the model translates well; joining the translations back is done by the caller.
 */
#include "text.h"

#include <stdint.h>
#include <string.h>

#include "io.h"

static int is_control(uint32_t cp) {
  return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029;
}

size_t xlat_text_sanitize(const char *in, size_t len, char *out, size_t *n_invalid) {
  const unsigned char *s = (const unsigned char *)in;
  size_t i = 0, o = 0, bad = 0;
  while (i < len) {
    uint32_t cp;
    size_t n = xlat_utf8_decode((const char *)s + i, len - i, &cp);
    if (n == 0) {
      memcpy(out + o, "\xEF\xBF\xBD", 3); /* U+FFFD REPLACEMENT CHARACTER */
      o += 3;
      i++;
      bad++;
    } else if (is_control(cp)) {
      out[o++] = ' ';
      i += n;
    } else {
      memcpy(out + o, s + i, n);
      o += n;
      i += n;
    }
  }
  out[o] = '\0';
  if (n_invalid) *n_invalid = bad;
  return o;
}

static int is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

int xlat_text_blank(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (!is_space((unsigned char)s[i])) return 0;
  return 1;
}

static int is_terminator(uint32_t cp) { return cp == '.' || cp == '!' || cp == '?' || cp == 0x2026; }
static int is_cjk_terminator(uint32_t cp) { return cp == 0x3002 || cp == 0xFF01 || cp == 0xFF1F; }
static int is_closing(uint32_t cp) {
  return cp == '"' || cp == '\'' || cp == ')' || cp == ']' || cp == '}' || cp == 0xBB || cp == 0x201D ||
         cp == 0x2019 || cp == 0x300D || cp == 0x300F || cp == 0xFF09;
}
/* Lowercase letters of ASCII and Latin-1: a sentence rarely starts with one. */
static int is_lower(uint32_t cp) { return (cp >= 'a' && cp <= 'z') || (cp >= 0xDF && cp <= 0xFF && cp != 0xF7); }

/* Words that end in a period without ending a sentence (English and German). */
static const char *const abbreviations[] = {"Mr", "Mrs", "Ms", "Dr", "Prof", "St", "Jr", "Sr", "vs", "No", "Nr",
                                            "Fig", "Hr", "Fr", "ca", "bzw", "z.B", "e.g", "i.e", "Inc", "Ltd", "Mt"};

/* 1 when the word ending right before the period at s[dot] is an abbreviation or a single letter (an initial). */
static int abbreviation_before(const char *s, size_t dot) {
  size_t b = dot;
  while (b > 0 && !is_space((unsigned char)s[b - 1]) && s[b - 1] != '(' && s[b - 1] != '"') b--;
  size_t n = dot - b;
  if (n == 1 && ((s[b] >= 'A' && s[b] <= 'Z') || (s[b] >= 'a' && s[b] <= 'z'))) return 1;
  for (size_t k = 0; k < sizeof abbreviations / sizeof *abbreviations; k++)
    if (strlen(abbreviations[k]) == n && memcmp(abbreviations[k], s + b, n) == 0) return 1;
  return 0;
}

static size_t emit(const char *s, size_t from, size_t to, xlat_text_span *spans, size_t max, size_t count) {
  while (from < to && is_space((unsigned char)s[from])) from++;
  while (to > from && is_space((unsigned char)s[to - 1])) to--;
  if (to == from) return count;
  if (count < max) spans[count] = (xlat_text_span){from, to - from};
  return count + 1;
}

size_t xlat_text_split_sentences(const char *s, size_t len, xlat_text_span *spans, size_t max) {
  const unsigned char *u = (const unsigned char *)s;
  size_t count = 0, start = 0, i = 0;
  while (i < len) {
    uint32_t cp;
    size_t n = xlat_utf8_decode((const char *)u + i, len - i, &cp);
    if (n == 0) n = 1, cp = 0xFFFD;
    if (!is_terminator(cp) && !is_cjk_terminator(cp)) {
      i += n;
      continue;
    }
    int cjk = is_cjk_terminator(cp), period = cp == '.';
    size_t dot = i, j = i + n;
    while (j < len) { /* more terminators and closing quotes or brackets belong to this sentence */
      size_t m = xlat_utf8_decode((const char *)u + j, len - j, &cp);
      if (m == 0 || !(is_terminator(cp) || is_cjk_terminator(cp) || is_closing(cp))) break;
      if (cp != '.') period = 0;
      j += m;
    }
    i = j;
    if (j >= len) break;
    if (!cjk) {
      if (!is_space(u[j])) continue;
      size_t k = j;
      while (k < len && is_space(u[k])) k++;
      if (k >= len) break;
      if (xlat_utf8_decode((const char *)u + k, len - k, &cp) && is_lower(cp)) continue;
      if (period && j == dot + 1 && abbreviation_before(s, dot)) continue;
    }
    count = emit(s, start, j, spans, max, count);
    start = j;
  }
  return emit(s, start, len, spans, max, count);
}

/* utf8.c - UTF-8 decoding and the Python str operations sacreBLEU's results depend on: isspace-based rstrip/strip/
 * split and str.lower() (full mapping, U+0130 -> "i" + U+0307, and the final-sigma rule of Unicode SpecialCasing,
 * decided the way CPython decides it). Also the library's thread-local error text. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"
#include "metrics.h"
#include "unicode.h"

static _Thread_local char xm_error_text[1024];

int xm_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(xm_error_text, sizeof xm_error_text, fmt, ap);
  va_end(ap);
  return -1;
}

const char *xlat_metrics_error(void) { return xm_error_text; }

int xm_in_ranges(const uint32_t (*r)[2], int n, uint32_t c) {
  int lo = 0, hi = n - 1;
  while (lo <= hi) {
    int mid = (lo + hi) / 2;
    if (c < r[mid][0])
      hi = mid - 1;
    else if (c > r[mid][1])
      lo = mid + 1;
    else
      return 1;
  }
  return 0;
}

int xm_cps_reserve(xm_cps *a, size_t n) {
  if (n <= a->cap) return 0;
  size_t cap = a->cap ? a->cap : 64;
  while (cap < n) cap *= 2;
  uint32_t *c = realloc(a->c, cap * sizeof *c);
  if (!c) return xm_fail("metrics: out of memory (%zu code points)", cap);
  a->c = c;
  a->cap = cap;
  return 0;
}

void xm_cps_free(xm_cps *a) {
  free(a->c);
  memset(a, 0, sizeof *a);
}

void xm_toks_free(xm_toks *t) {
  free(t->text);
  free(t->off);
  free(t->len);
  free(t->hash);
  memset(t, 0, sizeof *t);
}

void xm_toks_clear(xm_toks *t) { t->n = t->text_n = 0; }

/* One code point at s[i..n) through io.h's decoder (the project's one); its length, or 0 when not valid UTF-8. */
static int decode1(const unsigned char *s, size_t i, size_t n, uint32_t *out) {
  return (int)xlat_utf8_decode((const char *)s + i, n - i, out);
}

long xm_utf8_invalid_at(const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0;
  uint32_t c;
  while (i < n) {
    uint64_t w;
    if (i + 8 <= n && (memcpy(&w, u + i, 8), !(w & 0x8080808080808080ull))) { /* eight ASCII bytes at once */
      i += 8;
      continue;
    }
    if (u[i] < 0x80) {
      i++;
      continue;
    }
    int len = decode1(u, i, n, &c);
    if (!len) return (long)i;
    i += (size_t)len;
  }
  return -1;
}

int xm_utf8_decode(xm_cps *out, const char *s, size_t n, const char *what) {
  const unsigned char *u = (const unsigned char *)s;
  out->n = 0;
  if (xm_cps_reserve(out, n + 1)) return -1;
  size_t i = 0;
  while (i < n) {
    uint32_t c;
    int len = decode1(u, i, n, &c);
    if (!len) return xm_fail("%s: invalid UTF-8 at byte %zu (0x%02x)", what ? what : "segment", i + 1, u[i]);
    out->c[out->n++] = c;
    i += (size_t)len;
  }
  return 0;
}

const char *xm_what(char *buf, size_t cap, int ref, int64_t seg) {
  if (ref < 0)
    snprintf(buf, cap, "hypothesis segment %lld", (long long)seg + 1);
  else
    snprintf(buf, cap, "reference %d segment %lld", ref + 1, (long long)seg + 1);
  return buf;
}

int xm_utf8_put(char *out, uint32_t c) {
  if (c < 0x80) {
    out[0] = (char)c;
    return 1;
  }
  if (c < 0x800) {
    out[0] = (char)(0xc0 | (c >> 6));
    out[1] = (char)(0x80 | (c & 0x3f));
    return 2;
  }
  if (c < 0x10000) {
    out[0] = (char)(0xe0 | (c >> 12));
    out[1] = (char)(0x80 | ((c >> 6) & 0x3f));
    out[2] = (char)(0x80 | (c & 0x3f));
    return 3;
  }
  out[0] = (char)(0xf0 | (c >> 18));
  out[1] = (char)(0x80 | ((c >> 12) & 0x3f));
  out[2] = (char)(0x80 | ((c >> 6) & 0x3f));
  out[3] = (char)(0x80 | (c & 0x3f));
  return 4;
}

static uint32_t lower1(uint32_t c) {
  if (c < 128) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
  int lo = 0, hi = xm_lower_map_n - 1;
  while (lo <= hi) {
    int mid = (lo + hi) / 2;
    if (c < xm_lower_map[mid][0])
      hi = mid - 1;
    else if (c > xm_lower_map[mid][0])
      lo = mid + 1;
    else
      return xm_lower_map[mid][1];
  }
  return c;
}

static int cased(uint32_t c) { return xm_in_ranges(xm_cased_ranges, xm_cased_ranges_n, c); }
static int case_ignorable(uint32_t c) { return xm_in_ranges(xm_case_ignorable_ranges, xm_case_ignorable_ranges_n, c); }

/* CPython's rule for U+03A3: final sigma when preceded by a cased letter and not followed by one, skipping
 * case-ignorable characters in both directions. */
static int final_sigma(const uint32_t *a, size_t n, size_t i) {
  size_t j = i;
  while (j > 0 && case_ignorable(a[j - 1])) j--;
  if (j == 0 || !cased(a[j - 1])) return 0;
  j = i + 1;
  while (j < n && case_ignorable(a[j])) j++;
  return j == n || !cased(a[j]);
}

int xm_lower(xm_cps *out, const xm_cps *in) {
  out->n = 0;
  if (xm_cps_reserve(out, in->n + in->n / 8 + 1)) return -1;
  for (size_t i = 0; i < in->n; i++) {
    uint32_t c = in->c[i];
    if (c == 0x130) {
      if (xm_cps_push(out, 'i') || xm_cps_push(out, 0x307)) return -1;
    } else if (c == 0x3a3) {
      if (xm_cps_push(out, final_sigma(in->c, in->n, i) ? 0x3c2 : 0x3c3)) return -1;
    } else if (xm_cps_push(out, lower1(c))) {
      return -1;
    }
  }
  return 0;
}

void xm_rstrip(xm_cps *a) {
  while (a->n > 0 && xm_isspace(a->c[a->n - 1])) a->n--;
}

void xm_strip(xm_cps *a) {
  xm_rstrip(a);
  size_t k = 0;
  while (k < a->n && xm_isspace(a->c[k])) k++;
  if (k) {
    memmove(a->c, a->c + k, (a->n - k) * sizeof *a->c);
    a->n -= k;
  }
}

/* Hash of s[0..n) given its last n % 8 bytes as a little-endian number: eight bytes per multiply, since a
 * byte-at-a-time hash is a chain of multiplies as long as the text. */
static uint64_t hash_words(const char *s, size_t n, uint64_t tail) {
  uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)n;
  for (size_t i = 0; i + 8 <= n; i += 8) {
    h = (h ^ xm_load_le(s + i)) * 0xff51afd7ed558ccdull;
    h ^= h >> 32;
  }
  h = (h ^ tail) * 0xff51afd7ed558ccdull;
  return h ^ (h >> 32);
}

uint64_t xm_hash_bytes(const char *s, size_t n) {
  uint64_t tail = 0;
  for (size_t i = n & ~(size_t)7, k = 0; i < n; i++, k += 8) tail |= (uint64_t)(unsigned char)s[i] << k;
  return hash_words(s, n, tail);
}

/* xm_hash_bytes(s, n) when the 8 bytes after s[n-1] may be read: the tail is one load, not a loop per byte
 * (whose varying trip count the branch predictor misses about once a token). */
static uint64_t hash_padded(const char *s, size_t n) {
  size_t r = n & 7;
  return hash_words(s, n, xm_load_le(s + n - r) & (((uint64_t)1 << (8 * r)) - 1));
}

int xm_toks_reserve(xm_toks *t, size_t text_need, size_t tok_need) {
  text_need += 8; /* xm_toks_hash reads a whole word past a token */
  if (t->text_n + text_need > t->text_cap) {
    size_t cap = t->text_cap ? t->text_cap : 256;
    while (cap < t->text_n + text_need) cap *= 2;
    char *p = realloc(t->text, cap);
    if (!p) return xm_fail("metrics: out of memory (%zu bytes of tokens)", cap);
    t->text = p;
    t->text_cap = cap;
  }
  if (t->n + tok_need > t->cap) {
    size_t cap = t->cap ? t->cap : 64;
    while (cap < t->n + tok_need) cap *= 2;
    uint32_t *off = realloc(t->off, cap * sizeof *off);
    if (off) t->off = off;
    uint32_t *len = realloc(t->len, cap * sizeof *len);
    if (len) t->len = len;
    uint64_t *hash = realloc(t->hash, cap * sizeof *hash);
    if (hash) t->hash = hash;
    if (!off || !len || !hash) return xm_fail("metrics: out of memory (%zu tokens)", cap);
    t->cap = cap;
  }
  return 0;
}

int xm_toks_add(xm_toks *t, const uint32_t *a, size_t n) {
  if (xm_toks_reserve(t, 4 * n, 1)) return -1;
  size_t start = t->text_n;
  for (size_t i = 0; i < n; i++) t->text_n += (size_t)xm_utf8_put(t->text + t->text_n, a[i]);
  t->off[t->n] = (uint32_t)start;
  t->len[t->n] = (uint32_t)(t->text_n - start);
  t->hash[t->n] = xm_hash_bytes(t->text + start, t->text_n - start);
  t->n++;
  return 0;
}

int xm_split(xm_toks *t, const uint32_t *a, size_t n) {
  size_t i = 0;
  while (i < n) {
    while (i < n && xm_isspace(a[i])) i++;
    size_t s = i;
    while (i < n && !xm_isspace(a[i])) i++;
    if (i > s && xm_toks_add(t, a + s, i - s)) return -1;
  }
  return 0;
}

/* Code point ending at s[n-1] (valid UTF-8) and its first byte's offset. */
static uint32_t last_cp(const char *s, size_t n, size_t *start) {
  size_t b = n - 1;
  while (b > 0 && ((unsigned char)s[b] & 0xc0) == 0x80) b--;
  uint32_t c = 0;
  decode1((const unsigned char *)s, b, n, &c);
  *start = b;
  return c;
}

size_t xm_rstrip_utf8(const char *s, size_t n) {
  while (n > 0) {
    unsigned char u = (unsigned char)s[n - 1];
    if (u < 0x80) {
      if (!xm_isspace(u)) break;
      n--;
      continue;
    }
    size_t b;
    if (!xm_isspace(last_cp(s, n, &b))) break;
    n = b;
  }
  return n;
}

void xm_toks_hash(xm_toks *t, size_t first) {
  for (size_t i = first; i < t->n; i++) t->hash[i] = hash_padded(t->text + t->off[i], t->len[i]);
}

int xm_utf8_next(const char *s, size_t i, size_t n, uint32_t *c) { return decode1((const unsigned char *)s, i, n, c); }

/* input.c - line reading for xlat-bleu with sacreBLEU's conventions: newline handling (files: "\n"; stdin: universal
 * newlines), Python str.rstrip() of every line, transparent gzip, and UTF-8 errors naming file and line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "input.h"
#include "unicode.h"

static int slurp(const char *path, char **data, size_t *size) {
  gzFile f = strcmp(path, "-") == 0 ? gzdopen(0, "rb") : gzopen(path, "rb");
  if (!f) return xm_fail("%s: cannot open for reading", path);
  size_t cap = 1 << 16, n = 0;
  char *p = malloc(cap + 1);
  for (;;) {
    if (!p) {
      gzclose(f);
      return xm_fail("%s: out of memory reading the file", path);
    }
    if (n == cap) {
      char *q = realloc(p, 2 * cap + 1);
      if (!q) free(p);
      p = q;
      cap *= 2;
      continue;
    }
    int got = gzread(f, p + n, (unsigned)(cap - n > (1u << 30) ? (1u << 30) : cap - n));
    int err = Z_OK;
    const char *msg = gzerror(f, &err);
    /* a truncated gzip stream reads as a short file with Z_BUF_ERROR set, not as a negative count */
    if (got < 0 || (err != Z_OK && err != Z_STREAM_END)) {
      xm_fail("%s: read error or corrupt / truncated gzip data after %zu bytes: %s", path, n + (got > 0 ? got : 0),
              msg);
      free(p);
      gzclose(f);
      return -1;
    }
    if (got == 0) break;
    n += (size_t)got;
  }
  gzclose(f);
  p[n] = 0;
  *data = p;
  *size = n;
  return 0;
}

/* Offset of the first c in data[from..size), or size. */
static size_t next_of(const char *data, size_t from, size_t size, char c) {
  const char *p = from < size ? memchr(data + from, c, size - from) : NULL;
  return p ? (size_t)(p - data) : size;
}

int xm_read_lines(const char *path, int universal, xm_lines *out) {
  memset(out, 0, sizeof *out);
  char *data = NULL;
  size_t size = 0;
  if (slurp(path, &data, &size)) return -1;
  size_t cap = 1024;
  int64_t n = 0;
  char **line = malloc(cap * sizeof *line);
  if (!line) {
    free(data);
    return xm_fail("%s: out of memory", path);
  }
  /* Lines are C strings from here on, so a NUL would silently cut its line short: refuse it instead (sacreBLEU
   * would score it as an ordinary character, which the NUL-terminated metric API cannot express). */
  const char *nul = memchr(data, 0, size);
  long bad = xm_utf8_invalid_at(data, size); /* one check of the whole text: no character spans a newline */
  /* line ends through memchr; the next '\r' is searched for again only once passed, so this stays linear */
  size_t i = 0, cr = universal ? next_of(data, 0, size, '\r') : size;
  while (i < size || (universal && size == 0 && n == 0)) {
    size_t b = i, e = next_of(data, i, size, '\n');
    if (cr < i) cr = next_of(data, i, size, '\r');
    if (cr < e) e = cr;
    i = e;
    if (i < size) i += (data[i] == '\r' && i + 1 < size && data[i + 1] == '\n') ? 2 : 1;
    if (nul && nul < data + e) {
      xm_fail("%s: line %lld: contains a NUL byte at byte %zu", path, (long long)n + 1, (size_t)(nul - (data + b)) + 1);
      free(line);
      free(data);
      return -1;
    }
    if (bad >= 0 && (size_t)bad < e) {
      xm_fail("%s: line %lld: invalid UTF-8 at byte %zu (0x%02x)", path, (long long)n + 1, (size_t)bad - b + 1,
              (unsigned char)data[bad]);
      free(line);
      free(data);
      return -1;
    }
    e = b + xm_rstrip_utf8(data + b, e - b);
    data[e] = 0; /* overwrites the newline or trailing whitespace; data has room for the final NUL */
    if ((size_t)n == cap) {
      char **l2 = realloc(line, 2 * cap * sizeof *line);
      if (!l2) {
        free(line);
        free(data);
        return xm_fail("%s: out of memory", path);
      }
      line = l2;
      cap *= 2;
    }
    line[n++] = data + b;
    if (size == 0) break;
  }
  out->line = line;
  out->n = n;
  out->buf = data;
  return 0;
}

void xm_lines_free(xm_lines *l) {
  if (!l) return;
  free(l->line);
  free(l->buf);
  memset(l, 0, sizeof *l);
}

int xm_split_fields(const xm_lines *in, int *nfields, xm_lines **out) {
  int k = *nfields;
  if (k <= 0) {
    k = 1;
    for (const char *p = in->n ? in->line[0] : ""; *p; p++) k += *p == '\t';
  }
  xm_lines *o = calloc((size_t)k, sizeof *o);
  if (!o) return xm_fail("out of memory");
  for (int f = 0; f < k; f++) {
    o[f].n = in->n;
    o[f].line = malloc(((size_t)in->n + 1) * sizeof *o[f].line);
    if (!o[f].line) {
      for (int g = 0; g <= f; g++) free(o[g].line);
      free(o);
      return xm_fail("out of memory");
    }
  }
  for (int64_t i = 0; i < in->n; i++) {
    char *p = in->line[i];
    for (int f = 0; f < k; f++) {
      char *tab = f + 1 < k ? strchr(p, '\t') : NULL;
      if ((f + 1 < k && !tab) || (f + 1 == k && strchr(p, '\t'))) {
        for (int g = 0; g < k; g++) free(o[g].line);
        free(o);
        return xm_fail("line %lld: expected %d tab-separated fields, found a different number", (long long)i + 1, k);
      }
      if (tab) *tab = 0;
      /* sacreBLEU rstrips every field except those of the first line (it only rstrips that whole line) */
      if (i > 0) p[xm_rstrip_utf8(p, strlen(p))] = 0;
      o[f].line[i] = p;
      if (tab) p = tab + 1;
    }
  }
  *nfields = k;
  *out = o;
  return 0;
}

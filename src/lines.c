/* lines.c - streaming line reader over plain or gzip files (zlib reads both transparently), and UTF-8 decoding.
 *
 * Memory stays bounded by the longest line: the buffer holds one read chunk plus the line being assembled. A
 * truncated or corrupt gzip stream is an error, never a silently shorter file.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "io.h"

enum { CHUNK = 1 << 16 };

struct xlat_lines {
  gzFile f;
  char *path;
  char *buf;         /* bytes [head, tail) are read but not yet returned */
  size_t cap, head, tail;
  int eof;           /* the stream is exhausted: what is left in buf is the last line */
  int64_t number;
};

xlat_status xlat_lines_open(const char *path, xlat_lines **out) {
  *out = NULL;
  xlat_lines *r = calloc(1, sizeof *r);
  if (!r) return xlat_fail(XLAT_ERR_NOMEM, "%s: out of memory opening the file", path);
  r->path = malloc(strlen(path) + 1);
  r->cap = 2 * CHUNK;
  r->buf = malloc(r->cap);
  if (!r->path || !r->buf) {
    xlat_lines_close(r);
    return xlat_fail(XLAT_ERR_NOMEM, "%s: out of memory opening the file", path);
  }
  strcpy(r->path, path);
  errno = 0;
  if (strcmp(path, "-") == 0) {
    int fd = dup(STDIN_FILENO); /* gzclose closes its descriptor; stdin stays open */
    r->f = fd >= 0 ? gzdopen(fd, "rb") : NULL;
    if (fd >= 0 && !r->f) close(fd);
  } else {
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
      xlat_lines_close(r);
      return xlat_fail(XLAT_ERR_IO, "%s: is a directory, expected a text file (plain or .gz)", path);
    }
    r->f = gzopen(path, "rb");
  }
  if (!r->f) {
    int e = errno;
    xlat_lines_close(r);
    return xlat_fail(XLAT_ERR_IO, "%s: cannot open for reading: %s", path, e ? strerror(e) : "out of memory");
  }
  gzbuffer(r->f, CHUNK * 2);
  *out = r;
  return XLAT_OK;
}

/* Reads one more chunk after tail, first moving unread bytes to the front and growing the buffer when the current
 * line fills it. */
static xlat_status fill(xlat_lines *r) {
  if (r->head > 0) {
    memmove(r->buf, r->buf + r->head, r->tail - r->head);
    r->tail -= r->head;
    r->head = 0;
  }
  if (r->cap - r->tail < CHUNK + 1) {
    size_t cap = r->cap * 2;
    char *p = realloc(r->buf, cap);
    if (!p) return xlat_fail(XLAT_ERR_NOMEM, "%s: out of memory reading line %lld", r->path, (long long)r->number + 1);
    r->buf = p;
    r->cap = cap;
  }
  int n = gzread(r->f, r->buf + r->tail, CHUNK);
  int err = Z_OK;
  const char *msg = gzerror(r->f, &err);
  if (n < 0 || (err != Z_OK && err != Z_STREAM_END)) {
    if (err == Z_ERRNO)
      return xlat_fail(XLAT_ERR_IO, "%s: read error after line %lld: %s", r->path, (long long)r->number,
                       strerror(errno));
    return xlat_fail(XLAT_ERR_FORMAT, "%s: corrupt or truncated gzip data after line %lld: %s", r->path,
                     (long long)r->number, msg);
  }
  if (n == 0) r->eof = 1;
  r->tail += (size_t)n;
  return XLAT_OK;
}

xlat_status xlat_lines_next(xlat_lines *r, const char **line, size_t *len) {
  *line = NULL;
  *len = 0;
  size_t scanned = r->head;
  for (;;) {
    char *nl = memchr(r->buf + scanned, '\n', r->tail - scanned);
    if (nl || (r->eof && r->tail > r->head)) {
      char *start = r->buf + r->head;
      size_t n = nl ? (size_t)(nl - start) : r->tail - r->head;
      r->head = nl ? r->head + n + 1 : r->tail;
      if (n > 0 && start[n - 1] == '\r') n--;
      start[n] = '\0'; /* over the '\n' or '\r', or into the spare byte fill() keeps after tail */
      r->number++;
      *line = start;
      *len = n;
      return XLAT_OK;
    }
    if (r->eof) return XLAT_OK;
    size_t done = r->tail - r->head; /* already searched; fill() moves the bytes to the front */
    xlat_status s = fill(r);
    if (s != XLAT_OK) return s;
    scanned = r->head + done;
  }
}

int64_t xlat_lines_number(const xlat_lines *r) { return r->number; }

void xlat_lines_close(xlat_lines *r) {
  if (!r) return;
  if (r->f) gzclose(r->f);
  free(r->path);
  free(r->buf);
  free(r);
}

size_t xlat_nul_at(const char *s, size_t len) {
  const char *z = memchr(s, 0, len);
  return z ? (size_t)(z - s) : len;
}

/* Follows the well-formed byte sequences of Unicode 15, table 3-7. */
size_t xlat_utf8_decode(const char *s, size_t len, uint32_t *cp) {
  const unsigned char *p = (const unsigned char *)s;
  if (len == 0) return 0;
  unsigned c = p[0];
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  size_t n;
  unsigned lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) n = 1, c &= 0x1F;
  else if (c == 0xE0) n = 2, lo = 0xA0, c &= 0x0F;
  else if (c >= 0xE1 && c <= 0xEC) n = 2, c &= 0x0F;
  else if (c == 0xED) n = 2, hi = 0x9F, c &= 0x0F; /* no UTF-16 surrogates */
  else if (c >= 0xEE && c <= 0xEF) n = 2, c &= 0x0F;
  else if (c == 0xF0) n = 3, lo = 0x90, c &= 0x07;
  else if (c >= 0xF1 && c <= 0xF3) n = 3, c &= 0x07;
  else if (c == 0xF4) n = 3, hi = 0x8F, c &= 0x07; /* nothing above U+10FFFF */
  else return 0;
  if (n >= len) return 0; /* sequence cut short by the end of the text */
  if (p[1] < lo || p[1] > hi) return 0;
  uint32_t v = c;
  for (size_t k = 1; k <= n; k++) {
    if (p[k] < 0x80 || p[k] > 0xBF) return 0;
    v = (v << 6) | (p[k] & 0x3F);
  }
  *cp = v;
  return n + 1;
}

size_t xlat_utf8_invalid_at(const char *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    if ((unsigned char)s[i] < 0x80) {
      i++;
      continue;
    }
    uint32_t cp;
    size_t n = xlat_utf8_decode(s + i, len - i, &cp);
    if (n == 0) return i;
    i += n;
  }
  return len;
}

int xlat_utf8_valid(const char *s, size_t len) { return xlat_utf8_invalid_at(s, len) == len; }

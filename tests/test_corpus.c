/* test_corpus.c - the line reader (plain, gzip, CRLF, no final newline, empty, missing, truncated gzip, long lines),
 * the UTF-8 check, the corpus loader (line-count mismatch, invalid UTF-8, filters, Multi30k's TAB and no-break
 * spaces) and the id cache (hit, speed, invalidation by corpus and tokenizer, corruption, atomic write).
 * Trains one small SentencePiece model for the whole file. */
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "internal.h"
#include "test.h"

static void write_file(const char *path, const char *bytes, size_t n) {
  FILE *f = fopen(path, "wb");
  CHECK(f != NULL);
  if (!f) return;
  CHECK(fwrite(bytes, 1, n, f) == n);
  fclose(f);
}

static void write_str(const char *path, const char *text) { write_file(path, text, strlen(text)); }

static void write_gz(const char *path, const char *bytes, size_t n) {
  gzFile f = gzopen(path, "wb");
  CHECK(f != NULL);
  if (!f) return;
  CHECK(gzwrite(f, bytes, (unsigned)n) == (int)n);
  gzclose(f);
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Reads every line of path into one string joined by '|' (lines must not contain '|'); returns the line count. */
static int64_t slurp(const char *path, char *out, size_t cap) {
  xlat_lines *r;
  if (xlat_lines_open(path, &r) != XLAT_OK) return -1;
  const char *line;
  size_t len, used = 0;
  out[0] = '\0';
  while (xlat_lines_next(r, &line, &len) == XLAT_OK && line) {
    CHECK(strlen(line) == len || memchr(line, '\0', len) != NULL);
    if (used + len + 2 < cap) {
      memcpy(out + used, line, len);
      used += len;
      out[used++] = '|';
      out[used] = '\0';
    }
  }
  int64_t n = xlat_lines_number(r);
  xlat_lines_close(r);
  return n;
}

static void test_utf8(void) {
  CHECK(xlat_utf8_valid("", 0));
  CHECK(xlat_utf8_valid("plain ASCII\t", 12));
  CHECK(xlat_utf8_valid("Gr\xc3\xbc\xc3\x9f" "e\xc2\xa0\xe2\x80\x9e\xf0\x9f\x98\x80", 16)); /* ü ß NBSP „ emoji */
  CHECK(!xlat_utf8_valid("\xc0\xaf", 2));         /* overlong '/' */
  CHECK(!xlat_utf8_valid("\xe0\x80\xaf", 3));     /* overlong, 3 bytes */
  CHECK(!xlat_utf8_valid("\xed\xa0\x80", 3));     /* UTF-16 surrogate */
  CHECK(!xlat_utf8_valid("\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
  CHECK(!xlat_utf8_valid("ab\xc3", 3));           /* cut short by the end */
  CHECK(!xlat_utf8_valid("\xe2\x80x", 3));        /* bad continuation byte */
  CHECK(!xlat_utf8_valid("\xff", 1));
  CHECK(xlat_utf8_invalid_at("ok \x80", 4) == 3);
  /* Windows-1252 text read as bytes: the common real-world failure. */
  CHECK(xlat_utf8_invalid_at("Stra\xdf" "e", 6) == 4);
}

static void test_lines(void) {
  char a[4096], b[4096];
  const char text[] = "first line\nsecond\twith TAB\n\nno\xc2\xa0" "break\nlast without newline";
  write_file(test_tmp("plain.txt"), text, sizeof text - 1);
  write_gz(test_tmp("zipped.txt.gz"), text, sizeof text - 1);
  CHECK(slurp(test_tmp("plain.txt"), a, sizeof a) == 5);
  CHECK(slurp(test_tmp("zipped.txt.gz"), b, sizeof b) == 5);
  CHECK(strcmp(a, "first line|second\twith TAB||no\xc2\xa0" "break|last without newline|") == 0);
  CHECK(strcmp(a, b) == 0);

  const char crlf[] = "first line\r\nsecond\twith TAB\r\n\r\nno\xc2\xa0" "break\r\nlast without newline\r\n";
  write_file(test_tmp("crlf.txt"), crlf, sizeof crlf - 1);
  CHECK(slurp(test_tmp("crlf.txt"), b, sizeof b) == 5);
  CHECK(strcmp(a, b) == 0);
  /* Only a CR right before the newline is a line end; others stay. */
  write_str(test_tmp("cr.txt"), "a\rb\n");
  CHECK(slurp(test_tmp("cr.txt"), b, sizeof b) == 1 && strcmp(b, "a\rb|") == 0);

  /* "-" is standard input, plain or gzip. */
  int saved = dup(0), fd = open(test_tmp("zipped.txt.gz"), O_RDONLY);
  CHECK(saved >= 0 && fd >= 0 && dup2(fd, 0) == 0);
  close(fd);
  CHECK(slurp("-", b, sizeof b) == 5 && strcmp(a, b) == 0);
  CHECK(dup2(saved, 0) == 0);
  close(saved);

  write_str(test_tmp("empty.txt"), "");
  CHECK(slurp(test_tmp("empty.txt"), b, sizeof b) == 0 && b[0] == '\0');
  write_gz(test_tmp("empty.gz"), "", 0);
  CHECK(slurp(test_tmp("empty.gz"), b, sizeof b) == 0);

  xlat_lines *r = NULL;
  CHECK(xlat_lines_open(test_tmp("missing.txt"), &r) == XLAT_ERR_IO && r == NULL);
  CHECK(strstr(xlat_last_error(), "missing.txt") != NULL && strstr(xlat_last_error(), "No such file") != NULL);

  /* A line much longer than the read chunk, and a NUL byte inside a line. */
  size_t big = 300000;
  char *buf = malloc(big + 16);
  for (size_t i = 0; i < big; i++) buf[i] = (char)('a' + i % 26);
  memcpy(buf + big, "\nx\0y\n", 5);
  write_gz(test_tmp("long.gz"), buf, big + 5);
  CHECK(xlat_lines_open(test_tmp("long.gz"), &r) == XLAT_OK);
  const char *line;
  size_t len;
  CHECK(xlat_lines_next(r, &line, &len) == XLAT_OK && line && len == big && memcmp(line, buf, big) == 0);
  CHECK(xlat_lines_next(r, &line, &len) == XLAT_OK && line && len == 3 && memcmp(line, "x\0y", 3) == 0);
  CHECK(xlat_lines_next(r, &line, &len) == XLAT_OK && line == NULL);
  CHECK(xlat_lines_next(r, &line, &len) == XLAT_OK && line == NULL); /* stays at the end */
  CHECK(xlat_lines_number(r) == 2);
  xlat_lines_close(r);

  /* A gzip file cut in the middle is an error, not a shorter file. */
  FILE *f = fopen(test_tmp("long.gz"), "rb");
  size_t n = fread(buf, 1, big, f);
  fclose(f);
  write_file(test_tmp("cut.gz"), buf, n / 2);
  CHECK(xlat_lines_open(test_tmp("cut.gz"), &r) == XLAT_OK);
  xlat_status s;
  while ((s = xlat_lines_next(r, &line, &len)) == XLAT_OK && line) continue;
  CHECK(s == XLAT_ERR_FORMAT);
  CHECK(strstr(xlat_last_error(), "cut.gz") != NULL);
  xlat_lines_close(r);
  xlat_lines_close(NULL);
  free(buf);
}

/* Multi30k's real oddities pass through the reader byte for byte. */
static void test_multi30k_oddities(void) {
  xlat_lines *r;
  const char *line;
  size_t len;
  int64_t nbsp = 0, tab_line = 0;
  CHECK(xlat_lines_open(test_path("corpora/multi30k/train.de.gz"), &r) == XLAT_OK);
  while (xlat_lines_next(r, &line, &len) == XLAT_OK && line) {
    if (strstr(line, "\xc2\xa0")) nbsp++;
    if (memchr(line, '\t', len)) {
      tab_line = xlat_lines_number(r);
      CHECK(strstr(line, "einer \tWasserfont\xc3\xa4ne.") != NULL);
    }
  }
  CHECK(xlat_lines_number(r) == 29000);
  xlat_lines_close(r);
  CHECK(tab_line == 7366);
  CHECK(nbsp == 44);
}

static xlat_status load(const char *src, const char *tgt, const xlat_spm *spm, const xlat_corpus_options *o,
                        xlat_corpus **c) {
  *c = NULL;
  return xlat_corpus_load(src, tgt, spm, spm, o, c);
}

static int same_corpus(const xlat_corpus *a, const xlat_corpus *b) {
  if (xlat_corpus_size(a) != xlat_corpus_size(b)) return 0;
  for (int64_t i = 0; i < xlat_corpus_size(a); i++) {
    const int32_t *x1, *y1, *x2, *y2;
    int32_t nx1, ny1, nx2, ny2;
    xlat_corpus_pair(a, i, &x1, &nx1, &y1, &ny1);
    xlat_corpus_pair(b, i, &x2, &nx2, &y2, &ny2);
    if (nx1 != nx2 || ny1 != ny2 || memcmp(x1, x2, (size_t)nx1 * 4) || memcmp(y1, y2, (size_t)ny1 * 4) ||
        xlat_corpus_line(a, i) != xlat_corpus_line(b, i))
      return 0;
  }
  return 1;
}

static void test_corpus_load(const xlat_spm *spm) {
  const char en[] = "A dog runs.\nTwo men\xc2\xa0talk.\nA girl\tsmiles.\n\nA cat.\n";
  const char de[] = "Ein Hund rennt.\nZwei M\xc3\xa4nner reden.\nEin M\xc3\xa4"
                    "dchen l\xc3\xa4"
                    "chelt.\n\nEine Katze.\n";
  write_file(test_tmp("a.en"), en, sizeof en - 1);
  write_file(test_tmp("a.de"), de, sizeof de - 1);
  write_gz(test_tmp("a.en.gz"), en, sizeof en - 1);
  write_gz(test_tmp("a.de.gz"), de, sizeof de - 1);
  xlat_corpus_options o;
  xlat_corpus_options_default(&o);
  xlat_corpus *c1, *c2;
  CHECK(load(test_tmp("a.en"), test_tmp("a.de"), spm, &o, &c1) == XLAT_OK);
  CHECK(load(test_tmp("a.en.gz"), test_tmp("a.de.gz"), spm, &o, &c2) == XLAT_OK);
  CHECK(c1 && c2 && same_corpus(c1, c2));
  if (c1) {
    const xlat_corpus_stats *st = xlat_corpus_get_stats(c1);
    CHECK(st->read == 5 && st->kept == 4 && st->empty == 1 && st->cache_hit == 0);
    CHECK(xlat_corpus_line(c1, 3) == 5);
    /* The ids decode to the original text, TAB and no-break space included (identity normalization). */
    const int32_t *x, *y;
    int32_t nx, ny;
    char *text;
    xlat_corpus_pair(c1, 1, &x, &nx, &y, &ny);
    CHECK(xlat_spm_decode_ids(spm, x, (size_t)nx, &text) == 0 && strcmp(text, "Two men\xc2\xa0talk.") == 0);
    free(text);
    /* SentencePiece never makes a piece of TAB, so the reader's TAB reaches the model as <unk>. */
    xlat_corpus_pair(c1, 2, &x, &nx, &y, &ny);
    int unk = 0;
    for (int32_t k = 0; k < nx; k++) unk += x[k] == XLAT_UNK;
    CHECK(unk == 1);
    char line[512];
    xlat_corpus_describe(c1, line, sizeof line);
    CHECK(strstr(line, "5 pairs read, 4 kept") != NULL && strstr(line, "empty 1") != NULL);
  }
  xlat_corpus_free(c2);

  /* CRLF files give the same pairs. */
  char crlf_en[256], crlf_de[256];
  size_t ne = 0, nd = 0;
  for (const char *p = en; *p; p++) {
    if (*p == '\n') crlf_en[ne++] = '\r';
    crlf_en[ne++] = *p;
  }
  for (const char *p = de; *p; p++) {
    if (*p == '\n') crlf_de[nd++] = '\r';
    crlf_de[nd++] = *p;
  }
  write_file(test_tmp("crlf.en"), crlf_en, ne);
  write_file(test_tmp("crlf.de"), crlf_de, nd);
  CHECK(load(test_tmp("crlf.en"), test_tmp("crlf.de"), spm, &o, &c2) == XLAT_OK && c1 && same_corpus(c1, c2));
  xlat_corpus_free(c2);

  /* Dev/test settings keep every line, aligned with the reference file. */
  o.max_tokens = 0;
  o.max_ratio = 0;
  o.drop_empty = 0;
  CHECK(load(test_tmp("a.en"), test_tmp("a.de"), spm, &o, &c2) == XLAT_OK && xlat_corpus_size(c2) == 5);
  if (c2) {
    const int32_t *x, *y;
    int32_t nx, ny;
    xlat_corpus_pair(c2, 3, &x, &nx, &y, &ny);
    CHECK(nx == 0 && ny == 0 && xlat_corpus_line(c2, 4) == 5);
  }
  xlat_corpus_free(c2);
  xlat_corpus_free(c1);

  /* Length filters. */
  xlat_corpus_options_default(&o);
  const char fen[] = "one two three four five six seven eight nine ten\nA dog.\nA dog runs in the park.\n";
  const char fde[] = "eins\nEin Hund.\nEin Hund rennt im Park.\n";
  write_file(test_tmp("f.en"), fen, sizeof fen - 1);
  write_file(test_tmp("f.de"), fde, sizeof fde - 1);
  CHECK(load(test_tmp("f.en"), test_tmp("f.de"), spm, &o, &c1) == XLAT_OK && xlat_corpus_size(c1) == 2);
  CHECK(c1 && xlat_corpus_get_stats(c1)->bad_ratio == 1 && xlat_corpus_line(c1, 0) == 2);
  xlat_corpus_free(c1);
  o.max_ratio = 0;
  o.max_tokens = 6;
  CHECK(load(test_tmp("f.en"), test_tmp("f.de"), spm, &o, &c1) == XLAT_OK);
  CHECK(c1 && xlat_corpus_get_stats(c1)->too_long >= 1 && xlat_corpus_get_stats(c1)->bad_ratio == 0);
  for (int64_t i = 0; c1 && i < xlat_corpus_size(c1); i++) {
    const int32_t *x, *y;
    int32_t nx, ny;
    xlat_corpus_pair(c1, i, &x, &nx, &y, &ny);
    CHECK(nx <= 6 && ny <= 6);
  }
  xlat_corpus_free(c1);
}

static void test_corpus_errors(const xlat_spm *spm) {
  xlat_corpus *c;
  xlat_corpus_options o;
  xlat_corpus_options_default(&o);
  write_str(test_tmp("m.en"), "a\nb\nc\n");
  write_str(test_tmp("m.de"), "a\nb\n");
  CHECK(load(test_tmp("m.en"), test_tmp("m.de"), spm, &o, &c) == XLAT_ERR_MISMATCH && c == NULL);
  CHECK(strstr(xlat_last_error(), "m.en") && strstr(xlat_last_error(), "m.de") &&
        strstr(xlat_last_error(), "m.de ends after line 2"));
  CHECK(load(test_tmp("m.de"), test_tmp("m.en"), spm, &o, &c) == XLAT_ERR_MISMATCH);
  CHECK(strstr(xlat_last_error(), "m.de ends after line 2") != NULL);

  write_str(test_tmp("u.en"), "ok\nstill ok\nthird\n");
  write_str(test_tmp("u.de"), "gut\nnoch gut\nStra\xdf" "e\n");
  CHECK(load(test_tmp("u.en"), test_tmp("u.de"), spm, &o, &c) == XLAT_ERR_FORMAT && c == NULL);
  CHECK(strstr(xlat_last_error(), "u.de:3:") && strstr(xlat_last_error(), "invalid UTF-8"));
  o.skip_invalid_utf8 = 1;
  CHECK(load(test_tmp("u.en"), test_tmp("u.de"), spm, &o, &c) == XLAT_OK && xlat_corpus_size(c) == 2);
  CHECK(c && xlat_corpus_get_stats(c)->invalid_utf8 == 1);
  xlat_corpus_free(c);
  o.skip_invalid_utf8 = 0;

  write_str(test_tmp("e.en"), "");
  write_str(test_tmp("e.de"), "");
  CHECK(load(test_tmp("e.en"), test_tmp("e.de"), spm, &o, &c) == XLAT_ERR_FORMAT && strstr(xlat_last_error(), "empty"));
  CHECK(load(test_tmp("e.en"), test_tmp("m.de"), spm, &o, &c) == XLAT_ERR_MISMATCH &&
        strstr(xlat_last_error(), "e.en ends after line 0"));
  CHECK(load(test_tmp("nothere.en"), test_tmp("m.de"), spm, &o, &c) == XLAT_ERR_IO && strstr(xlat_last_error(), "nothere.en"));
  char cache_dir[128];
  snprintf(cache_dir, sizeof cache_dir, "%s", test_tmp("cache"));
  o.cache_dir = cache_dir;
  CHECK(load(test_tmp("m.en"), test_tmp("nothere.de"), spm, &o, &c) == XLAT_ERR_IO && strstr(xlat_last_error(), "nothere.de"));
  snprintf(cache_dir, sizeof cache_dir, "%s", test_tmp("m.en")); /* a file where the cache directory should be */
  CHECK(load(test_tmp("m.en"), test_tmp("m.en"), spm, &o, &c) == XLAT_ERR_IO && strstr(xlat_last_error(), "cache"));
  o.cache_dir = NULL;
  o.max_tokens = -1;
  CHECK(load(test_tmp("m.en"), test_tmp("m.de"), spm, &o, &c) == XLAT_ERR_ARG);
}

static int file_exists(const char *path) { return access(path, F_OK) == 0; }

/* Encoding on 1 or 3 threads (chunks of 2048 pairs finished out of order) gives the same corpus, and the same first
 * error: an invalid byte at line 4100 is reported, not the one at line 9000 that another thread may meet first. */
static void test_threads(const xlat_spm *spm) {
  const char *en = test_path("corpora/multi30k/train.en.gz"), *de = test_path("corpora/multi30k/train.de.gz");
  xlat_corpus_options o;
  xlat_corpus_options_default(&o);
  xlat_corpus *c1, *c3;
  o.threads = 1;
  CHECK(load(en, de, spm, &o, &c1) == XLAT_OK);
  o.threads = 3;
  CHECK(load(en, de, spm, &o, &c3) == XLAT_OK);
  CHECK(c1 && c3 && xlat_corpus_size(c1) > 28900 && same_corpus(c1, c3));
  xlat_corpus_free(c1);
  xlat_corpus_free(c3);
  FILE *fe = fopen(test_tmp("bad.en"), "w"), *fd = fopen(test_tmp("bad.de"), "w");
  CHECK(fe && fd);
  for (int i = 1; fe && fd && i <= 10000; i++) {
    fprintf(fe, i == 9000 ? "A \xff dog.\n" : "A dog runs.\n");
    fprintf(fd, i == 4100 ? "Ein \xfe Hund.\n" : "Ein Hund rennt.\n");
  }
  if (fe) fclose(fe);
  if (fd) fclose(fd);
  for (int t = 1; t <= 3; t += 2) {
    o.threads = t;
    CHECK(load(test_tmp("bad.en"), test_tmp("bad.de"), spm, &o, &c1) == XLAT_ERR_FORMAT && c1 == NULL);
    CHECK(strstr(xlat_last_error(), "bad.de:4100: invalid UTF-8") != NULL);
  }
}

static void test_cache(const xlat_spm *spm, const xlat_spm *spm2) {
  xlat_corpus_options o;
  xlat_corpus_options_default(&o);
  char cache_dir[128];
  snprintf(cache_dir, sizeof cache_dir, "%s", test_tmp("cache")); /* test_tmp()'s buffers get reused */
  o.cache_dir = cache_dir;
  char en_buf[600], de_buf[600], cache_buf[600];
  const char *en = test_path("corpora/multi30k/train.en.gz"), *de = test_path("corpora/multi30k/train.de.gz");
  xlat_corpus *c1, *c2, *c3;
  double t0 = now();
  CHECK(load(en, de, spm, &o, &c1) == XLAT_OK);
  double t1 = now();
  CHECK(load(en, de, spm, &o, &c2) == XLAT_OK);
  double t2 = now();
  fprintf(stderr, "multi30k train: encoded in %.2f s, loaded from the cache in %.3f s\n", t1 - t0, t2 - t1);
  CHECK(c1 && c2 && !xlat_corpus_get_stats(c1)->cache_hit && xlat_corpus_get_stats(c2)->cache_hit);
  CHECK(c1 && xlat_corpus_size(c1) > 28900);
  CHECK(c1 && c2 && same_corpus(c1, c2));
  CHECK(t2 - t1 < 0.5);
  const char *cache = test_tmp("cache/train.en.gz+train.de.gz.ids");
  CHECK(file_exists(cache));
  char leftover[700];
  snprintf(leftover, sizeof leftover, "%s.tmp%ld", cache, (long)getpid());
  CHECK(!file_exists(leftover)); /* the temporary file was renamed */
  xlat_corpus_free(c2);
  xlat_corpus_free(c1);

  /* The rest on the 3001-line training subset, to keep the test short. */
  snprintf(en_buf, sizeof en_buf, "%s", test_tmp("sub.en")); /* test_tmp()'s buffers get reused */
  snprintf(de_buf, sizeof de_buf, "%s", test_tmp("sub.de"));
  snprintf(cache_buf, sizeof cache_buf, "%s", test_tmp("cache/sub.en+sub.de.ids"));
  en = en_buf;
  de = de_buf;
  cache = cache_buf;
  CHECK(load(en, de, spm, &o, &c1) == XLAT_OK && !xlat_corpus_get_stats(c1)->cache_hit);

  /* Another tokenizer: a miss, and the cache now holds its ids. */
  CHECK(load(en, de, spm2, &o, &c2) == XLAT_OK && !xlat_corpus_get_stats(c2)->cache_hit);
  CHECK(load(en, de, spm2, &o, &c3) == XLAT_OK && xlat_corpus_get_stats(c3)->cache_hit && same_corpus(c2, c3));
  xlat_corpus_free(c2);
  xlat_corpus_free(c3);
  /* Other filter options: a miss. */
  o.max_tokens = 20;
  CHECK(load(en, de, spm, &o, &c2) == XLAT_OK && !xlat_corpus_get_stats(c2)->cache_hit);
  CHECK(c2 && xlat_corpus_size(c2) < xlat_corpus_size(c1));
  xlat_corpus_free(c2);
  o.max_tokens = 250;

  /* A corrupted cache file is rebuilt, not trusted. */
  CHECK(load(en, de, spm, &o, &c2) == XLAT_OK && !xlat_corpus_get_stats(c2)->cache_hit);
  xlat_corpus_free(c2);
  FILE *f = fopen(cache, "r+b");
  CHECK(f != NULL);
  if (f) {
    fseek(f, 5000, SEEK_SET);
    int ch = fgetc(f);
    fseek(f, 5000, SEEK_SET);
    fputc(ch ^ 0x10, f);
    fclose(f);
  }
  CHECK(load(en, de, spm, &o, &c2) == XLAT_OK && !xlat_corpus_get_stats(c2)->cache_hit && same_corpus(c1, c2));
  xlat_corpus_free(c2);
  CHECK(load(en, de, spm, &o, &c2) == XLAT_OK && xlat_corpus_get_stats(c2)->cache_hit);
  xlat_corpus_free(c2);
  xlat_corpus_free(c1);

  /* A changed corpus file (same name, one word different) invalidates the cache. */
  write_str(test_tmp("v.en"), "A dog runs.\nA cat sleeps.\n");
  write_str(test_tmp("v.de"), "Ein Hund rennt.\nEine Katze schl\xc3\xa4" "ft.\n");
  CHECK(load(test_tmp("v.en"), test_tmp("v.de"), spm, &o, &c1) == XLAT_OK && !xlat_corpus_get_stats(c1)->cache_hit);
  xlat_corpus_free(c1);
  CHECK(load(test_tmp("v.en"), test_tmp("v.de"), spm, &o, &c1) == XLAT_OK && xlat_corpus_get_stats(c1)->cache_hit);
  write_str(test_tmp("v.de"), "Ein Hund rennt.\nEine Katze d\xc3\xb6st.\n");
  CHECK(load(test_tmp("v.en"), test_tmp("v.de"), spm, &o, &c2) == XLAT_OK && !xlat_corpus_get_stats(c2)->cache_hit);
  CHECK(c1 && c2 && !same_corpus(c1, c2));
  xlat_corpus_free(c1);
  xlat_corpus_free(c2);
}

/* A small model trained on the first lines of Multi30k train (both languages). */
static xlat_spm *train_model(const char *prefix, int vocab) {
  const char *inputs[] = {test_tmp("sub.en"), test_tmp("sub.de")};
  const char *sources[] = {test_path("corpora/multi30k/train.en.gz"), test_path("corpora/multi30k/train.de.gz")};
  for (int k = 0; k < 2; k++) {
    xlat_lines *r;
    FILE *f = fopen(inputs[k], "w");
    if (!f || xlat_lines_open(sources[k], &r) != XLAT_OK) {
      CHECK(0);
      if (f) fclose(f);
      return NULL;
    }
    const char *line;
    size_t len;
    while (xlat_lines_number(r) < 3000 && xlat_lines_next(r, &line, &len) == XLAT_OK && line) fprintf(f, "%s\n", line);
    /* Put a no-break space (as in Multi30k's German side, beyond line 3000) into the vocabulary. */
    fprintf(f, "Two men\xc2\xa0talk in a park.\n");
    xlat_lines_close(r);
    fclose(f);
  }
  xlat_spm_train_options to;
  xlat_spm_train_options_default(&to);
  to.inputs = inputs;
  to.n_inputs = 2;
  to.model_prefix = test_tmp(prefix);
  to.vocab_size = vocab;
  xlat_spm *s = NULL;
  char path[600];
  snprintf(path, sizeof path, "%s.model", test_tmp(prefix));
  CHECK(xlat_spm_train(&to) == 0 && xlat_spm_load(path, &s) == 0);
  return s;
}

/* A sharded cache: the same pairs, line numbers and counts as one file (across shard ends too); read back from
 * its shards; a damaged shard is rebuilt; shards of a longer earlier corpus go. */
static void test_shards(const xlat_spm *spm) {
  FILE *fe = fopen(test_tmp("sh.en"), "w"), *fd = fopen(test_tmp("sh.de"), "w");
  CHECK(fe && fd);
  for (int i = 1; fe && fd && i <= 9000; i++) { /* 4 shards of 2048 lines and one of 808; a few pairs dropped */
    fprintf(fe, i % 1000 == 7 ? "\n" : "A dog runs %d times.\n", i);
    fprintf(fd, "Ein Hund rennt %d mal.\n", i);
  }
  if (fe) fclose(fe);
  if (fd) fclose(fd);
  xlat_corpus_options o;
  xlat_corpus_options_default(&o);
  xlat_corpus *one, *sh, *again;
  CHECK(load(test_tmp("sh.en"), test_tmp("sh.de"), spm, &o, &one) == XLAT_OK);
  char dir[512];
  snprintf(dir, sizeof dir, "%s", test_tmp("shards")); /* test_tmp's buffer is reused */
  o.cache_dir = dir;
  o.shard_pairs = 2000; /* rounded up to 2048 */
  CHECK(load(test_tmp("sh.en"), test_tmp("sh.de"), spm, &o, &sh) == XLAT_OK);
  if (!one || !sh) return;
  CHECK(xlat_corpus_size(one) == 9000 - 9 && same_corpus(one, sh) && !xlat_corpus_get_stats(sh)->cache_hit);
  CHECK(memcmp(xlat_corpus_get_stats(one), xlat_corpus_get_stats(sh), offsetof(xlat_corpus_stats, cache_hit)) == 0);
  char name[600];
  for (int k = 0; k < 6; k++) {
    snprintf(name, sizeof name, "%s/sh.en+sh.de.ids.%d", dir, k);
    CHECK((access(name, F_OK) == 0) == (k < 5));
  }
  CHECK(load(test_tmp("sh.en"), test_tmp("sh.de"), spm, &o, &again) == XLAT_OK);
  CHECK(again && xlat_corpus_get_stats(again)->cache_hit && same_corpus(one, again));
  xlat_corpus_free(again);
  /* a damaged shard: a miss, the whole cache rebuilt */
  snprintf(name, sizeof name, "%s/sh.en+sh.de.ids.3", dir);
  FILE *f = fopen(name, "r+b");
  CHECK(f && fseek(f, 200, SEEK_SET) == 0 && fputc(0x55, f) != EOF && fclose(f) == 0);
  CHECK(load(test_tmp("sh.en"), test_tmp("sh.de"), spm, &o, &again) == XLAT_OK);
  CHECK(again && !xlat_corpus_get_stats(again)->cache_hit && same_corpus(one, again));
  xlat_corpus_free(again);
  /* a shorter corpus of the same names: two shards, the three after them removed */
  write_str(test_tmp("sh.en"), "A cat.\nTwo cats.\n");
  write_str(test_tmp("sh.de"), "Eine Katze.\nZwei Katzen.\n");
  o.shard_pairs = 1;
  CHECK(load(test_tmp("sh.en"), test_tmp("sh.de"), spm, &o, &again) == XLAT_OK);
  CHECK(again && xlat_corpus_size(again) == 2 && xlat_corpus_line(again, 1) == 2);
  xlat_corpus_free(again);
  snprintf(name, sizeof name, "%s/sh.en+sh.de.ids.1", dir);
  CHECK(access(name, F_OK) != 0); /* 2 lines fit one shard of 2048 */
  xlat_corpus_free(one);
  xlat_corpus_free(sh);
}

int main(void) {
  test_utf8();
  test_lines();
  test_multi30k_oddities();
  xlat_spm *spm = train_model("m400", 400), *spm2 = train_model("m300", 300);
  if (spm && spm2) {
    CHECK(xlat_spm_checksum(spm) != xlat_spm_checksum(spm2));
    test_corpus_load(spm);
    test_corpus_errors(spm);
    test_threads(spm);
    test_cache(spm, spm2);
    test_shards(spm);
  }
  xlat_spm_free(spm);
  xlat_spm_free(spm2);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", test_tmp(NULL));
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", test_tmp(NULL));
  TEST_END();
}

/* corpus.c - reads a parallel corpus, encodes it with SentencePiece, filters it, and caches the ids.
 *
 * A corpus is one block of memory laid out exactly like its cache file (header, line numbers, lengths, ids), plus
 * per-pair offsets computed on load, so writing the cache is one fwrite and loading it is one fread. The cache is
 * derived data: a missing, stale, truncated or corrupted cache file is simply rebuilt.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "internal.h"

/* The header of a corpus block / cache file: 8-byte words in native byte order. */
enum {
  H_MAGIC, H_VERSION, H_SRC_SUM, H_TGT_SUM, H_SPM_SUM, H_MAX_TOKENS, H_MAX_RATIO, H_DROP_EMPTY, H_SKIP_UTF8,
  H_READ, H_KEPT, H_EMPTY, H_TOO_LONG, H_BAD_RATIO, H_INVALID_UTF8, H_SRC_TOKENS, H_TGT_TOKENS,
  H_WORDS
};
static const char magic[8] = {'X', 'L', 'A', 'T', 'I', 'D', 'S', '\n'};
enum { CACHE_VERSION = 2 }; /* 2: blank lines count as empty, long lines are dropped unencoded */

struct xlat_corpus {
  unsigned char *block;  /* header, line (n) i64, src_len (n) i32, tgt_len (n) i32, src ids, tgt ids */
  size_t block_size;     /* without the CRC32 the cache file adds */
  int64_t n;
  const int64_t *line;
  const int32_t *src_len, *tgt_len, *src_ids, *tgt_ids;
  int64_t *src_off, *tgt_off; /* (n+1) start of each pair's ids */
  xlat_corpus_stats stats;
};

void xlat_corpus_options_default(xlat_corpus_options *o) {
  memset(o, 0, sizeof *o);
  o->max_tokens = 250;
  o->max_ratio = 3.0f;
  o->drop_empty = 1;
}

static size_t block_bytes(int64_t n, int64_t src_tokens, int64_t tgt_tokens) {
  return H_WORDS * 8 + (size_t)n * (8 + 4 + 4) + (size_t)(src_tokens + tgt_tokens) * 4;
}

/* Points c's arrays into c->block (whose header must be complete) and computes the offsets. */
static xlat_status attach(xlat_corpus *c) {
  uint64_t h[H_WORDS];
  memcpy(h, c->block, sizeof h);
  c->n = (int64_t)h[H_KEPT];
  int64_t ns = (int64_t)h[H_SRC_TOKENS], nt = (int64_t)h[H_TGT_TOKENS];
  unsigned char *p = c->block + H_WORDS * 8;
  c->line = (const int64_t *)p;
  p += c->n * 8;
  c->src_len = (const int32_t *)p;
  p += c->n * 4;
  c->tgt_len = (const int32_t *)p;
  p += c->n * 4;
  c->src_ids = (const int32_t *)p;
  p += ns * 4;
  c->tgt_ids = (const int32_t *)p;
  c->src_off = malloc((size_t)(c->n + 1) * sizeof *c->src_off);
  c->tgt_off = malloc((size_t)(c->n + 1) * sizeof *c->tgt_off);
  if (!c->src_off || !c->tgt_off)
    return xlat_fail(XLAT_ERR_NOMEM, "corpus: out of memory for %lld pairs", (long long)c->n);
  c->src_off[0] = c->tgt_off[0] = 0;
  for (int64_t i = 0; i < c->n; i++) {
    c->src_off[i + 1] = c->src_off[i] + c->src_len[i];
    c->tgt_off[i + 1] = c->tgt_off[i] + c->tgt_len[i];
  }
  if (c->src_off[c->n] != ns || c->tgt_off[c->n] != nt)
    return xlat_fail(XLAT_ERR_FORMAT, "corpus: pair lengths add up to %lld + %lld tokens, header says %lld + %lld",
                     (long long)c->src_off[c->n], (long long)c->tgt_off[c->n], (long long)ns, (long long)nt);
  c->stats.read = (int64_t)h[H_READ];
  c->stats.kept = c->n;
  c->stats.empty = (int64_t)h[H_EMPTY];
  c->stats.too_long = (int64_t)h[H_TOO_LONG];
  c->stats.bad_ratio = (int64_t)h[H_BAD_RATIO];
  c->stats.invalid_utf8 = (int64_t)h[H_INVALID_UTF8];
  c->stats.src_tokens = ns;
  c->stats.tgt_tokens = nt;
  return XLAT_OK;
}

/* A corpus over a block of block_size bytes with header h (the block is allocated here, the caller fills it). */
static xlat_status corpus_alloc(const uint64_t *h, xlat_corpus **out) {
  *out = NULL;
  xlat_corpus *c = calloc(1, sizeof *c);
  size_t size = block_bytes((int64_t)h[H_KEPT], (int64_t)h[H_SRC_TOKENS], (int64_t)h[H_TGT_TOKENS]);
  if (!c || !(c->block = malloc(size))) {
    free(c);
    return xlat_fail(XLAT_ERR_NOMEM, "corpus: out of memory for %zu bytes", size);
  }
  c->block_size = size;
  memcpy(c->block, h, H_WORDS * 8);
  *out = c;
  return XLAT_OK;
}

void xlat_corpus_free(xlat_corpus *c) {
  if (!c) return;
  free(c->block);
  free(c->src_off);
  free(c->tgt_off);
  free(c);
}

xlat_status xlat_corpus_from_ids(int64_t n, const int32_t *const *src, const int32_t *src_len,
                                 const int32_t *const *tgt, const int32_t *tgt_len, xlat_corpus **out) {
  *out = NULL;
  if (n < 0) return xlat_fail(XLAT_ERR_ARG, "corpus from ids: %lld pairs, expected >= 0", (long long)n);
  uint64_t h[H_WORDS] = {0};
  memcpy(&h[H_MAGIC], magic, 8);
  h[H_VERSION] = CACHE_VERSION;
  for (int64_t i = 0; i < n; i++) {
    if (src_len[i] < 0 || tgt_len[i] < 0)
      return xlat_fail(XLAT_ERR_ARG, "corpus from ids: pair %lld has a negative length", (long long)i);
    h[H_SRC_TOKENS] += (uint64_t)src_len[i];
    h[H_TGT_TOKENS] += (uint64_t)tgt_len[i];
  }
  h[H_READ] = h[H_KEPT] = (uint64_t)n;
  xlat_corpus *c;
  xlat_status s = corpus_alloc(h, &c);
  if (s != XLAT_OK) return s;
  unsigned char *p = c->block + H_WORDS * 8;
  int32_t *ps = (int32_t *)(p + n * 16), *pt = ps + h[H_SRC_TOKENS];
  for (int64_t i = 0; i < n; i++) {
    ((int64_t *)p)[i] = i + 1;
    ((int32_t *)(p + n * 8))[i] = src_len[i];
    ((int32_t *)(p + n * 12))[i] = tgt_len[i];
    memcpy(ps, src[i], (size_t)src_len[i] * 4);
    memcpy(pt, tgt[i], (size_t)tgt_len[i] * 4);
    ps += src_len[i];
    pt += tgt_len[i];
  }
  if ((s = attach(c)) != XLAT_OK) {
    xlat_corpus_free(c);
    return s;
  }
  *out = c;
  return XLAT_OK;
}

int64_t xlat_corpus_size(const xlat_corpus *c) { return c->n; }

void xlat_corpus_pair(const xlat_corpus *c, int64_t i, const int32_t **src, int32_t *src_len, const int32_t **tgt,
                      int32_t *tgt_len) {
  XLAT_ASSERT(i >= 0 && i < c->n);
  *src = c->src_ids + c->src_off[i];
  *src_len = c->src_len[i];
  *tgt = c->tgt_ids + c->tgt_off[i];
  *tgt_len = c->tgt_len[i];
}

int64_t xlat_corpus_line(const xlat_corpus *c, int64_t i) {
  XLAT_ASSERT(i >= 0 && i < c->n);
  return c->line[i];
}

const xlat_corpus_stats *xlat_corpus_get_stats(const xlat_corpus *c) { return &c->stats; }

void xlat_corpus_describe(const xlat_corpus *c, char *buf, size_t n) {
  const xlat_corpus_stats *s = &c->stats;
  snprintf(buf, n,
           "%lld pairs read, %lld kept (dropped: empty %lld, too long %lld, length ratio %lld, invalid UTF-8 %lld), "
           "%lld + %lld tokens%s",
           (long long)s->read, (long long)s->kept, (long long)s->empty, (long long)s->too_long,
           (long long)s->bad_ratio, (long long)s->invalid_utf8, (long long)s->src_tokens, (long long)s->tgt_tokens,
           s->cache_hit ? ", from the cache" : "");
}

/* ---- reading and encoding -------------------------------------------------------------------------------------- */

/* Growable array of fixed-size elements. */
typedef struct {
  void *p;
  size_t n, cap, elem;
} vec;

static int vec_push(vec *v, const void *x, size_t count) {
  if (v->n + count > v->cap) {
    size_t cap = v->cap ? v->cap : 4096;
    while (cap < v->n + count) cap *= 2;
    void *q = realloc(v->p, cap * v->elem);
    if (!q) return -1;
    v->p = q;
    v->cap = cap;
  }
  memcpy((char *)v->p + v->n * v->elem, x, count * v->elem);
  v->n += count;
  return 0;
}

/* FNV-1a over a file's raw bytes (compressed bytes for .gz): the cache key for its content. */
static xlat_status file_checksum(const char *path, uint64_t *out) {
  FILE *f = fopen(path, "rb");
  if (!f) return xlat_fail(XLAT_ERR_IO, "%s: cannot open for reading: %s", path, strerror(errno));
  static _Thread_local unsigned char buf[1 << 16];
  uint64_t h = 1469598103934665603ULL;
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0)
    for (size_t i = 0; i < n; i++) h = (h ^ buf[i]) * 1099511628211ULL;
  int bad = ferror(f);
  fclose(f);
  if (bad) return xlat_fail(XLAT_ERR_IO, "%s: read error while computing its checksum", path);
  *out = h;
  return XLAT_OK;
}

static xlat_status check_utf8(const char *path, int64_t line, const char *s, size_t len, int *ok) {
  size_t at = xlat_utf8_invalid_at(s, len);
  *ok = at == len;
  return *ok ? XLAT_OK
             : xlat_fail(XLAT_ERR_FORMAT, "%s:%lld: invalid UTF-8 (byte 0x%02x at byte offset %zu of the line)", path,
                         (long long)line, (unsigned char)s[at], at);
}

/* 1 when the line has nothing but spaces, tabs and the like: no text to learn from. */
static int blank(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (!strchr(" \t\r\v\f", s[i]) || s[i] == '\0') return 0;
  return 1;
}

typedef struct {
  vec line, src_len, tgt_len, src_ids, tgt_ids;
} builder;

static void builder_free(builder *b) {
  free(b->line.p);
  free(b->src_len.p);
  free(b->tgt_len.p);
  free(b->src_ids.p);
  free(b->tgt_ids.p);
}

/* Reads, checks, encodes and filters every pair into b and the counters in h. */
static xlat_status encode_pairs(const char *src_path, const char *tgt_path, const xlat_spm *spm,
                                const xlat_corpus_options *o, builder *b, uint64_t *h) {
  xlat_lines *rs = NULL, *rt = NULL;
  int32_t *ids_s = NULL, *ids_t = NULL;
  xlat_status st = xlat_lines_open(src_path, &rs);
  if (st == XLAT_OK) st = xlat_lines_open(tgt_path, &rt);
  while (st == XLAT_OK) {
    const char *ls, *lt;
    size_t ns, nt;
    if ((st = xlat_lines_next(rs, &ls, &ns)) != XLAT_OK || (st = xlat_lines_next(rt, &lt, &nt)) != XLAT_OK) break;
    if (!ls && !lt) break;
    if (!ls || !lt) {
      const char *shorter = ls ? tgt_path : src_path, *longer = ls ? src_path : tgt_path;
      int64_t end = xlat_lines_number(ls ? rt : rs);
      st = xlat_fail(XLAT_ERR_MISMATCH, "line counts differ: %s ends after line %lld, but %s has more lines", shorter,
                     (long long)end, longer);
      break;
    }
    int64_t line = xlat_lines_number(rs);
    h[H_READ]++;
    int ok_s, ok_t;
    xlat_status us = check_utf8(src_path, line, ls, ns, &ok_s);
    xlat_status ut = ok_s ? check_utf8(tgt_path, line, lt, nt, &ok_t) : XLAT_OK;
    if (!ok_s || !ok_t) {
      if (!o->skip_invalid_utf8) {
        st = ok_s ? ut : us;
        break;
      }
      h[H_INVALID_UTF8]++;
      continue;
    }
    if (o->drop_empty && (blank(ls, ns) || blank(lt, nt))) {
      h[H_EMPTY]++;
      continue;
    }
    /* a side of more bytes than max_tokens pieces can cover is too long for certain: not even encoded */
    size_t most = (size_t)o->max_tokens * xlat_spm_max_piece_bytes(spm);
    if (most > 0 && (ns > most || nt > most)) {
      h[H_TOO_LONG]++;
      continue;
    }
    size_t ks, kt;
    free(ids_s);
    free(ids_t);
    ids_s = ids_t = NULL;
    if (xlat_spm_encode_ids(spm, ls, ns, &ids_s, &ks) != 0 || xlat_spm_encode_ids(spm, lt, nt, &ids_t, &kt) != 0) {
      st = xlat_fail(XLAT_ERR_FORMAT, "%s / %s line %lld: %s", src_path, tgt_path, (long long)line,
                     xlat_spm_last_error());
      break;
    }
    if (o->drop_empty && (ks == 0 || kt == 0)) {
      h[H_EMPTY]++;
      continue;
    }
    if (o->max_tokens > 0 && (ks > (size_t)o->max_tokens || kt > (size_t)o->max_tokens)) {
      h[H_TOO_LONG]++;
      continue;
    }
    size_t lo = ks < kt ? ks : kt, hi = ks < kt ? kt : ks;
    if (o->max_ratio > 0 && lo > 0 && (double)hi > (double)o->max_ratio * (double)lo) {
      h[H_BAD_RATIO]++;
      continue;
    }
    int32_t ls32 = (int32_t)ks, lt32 = (int32_t)kt;
    if (vec_push(&b->line, &line, 1) || vec_push(&b->src_len, &ls32, 1) || vec_push(&b->tgt_len, &lt32, 1) ||
        vec_push(&b->src_ids, ids_s, ks) || vec_push(&b->tgt_ids, ids_t, kt)) {
      st = xlat_fail(XLAT_ERR_NOMEM, "%s / %s line %lld: out of memory", src_path, tgt_path, (long long)line);
      break;
    }
    h[H_SRC_TOKENS] += ks;
    h[H_TGT_TOKENS] += kt;
  }
  if (st == XLAT_OK && h[H_READ] == 0)
    st = xlat_fail(XLAT_ERR_FORMAT, "%s and %s: empty files, expected at least one sentence pair", src_path, tgt_path);
  free(ids_s);
  free(ids_t);
  xlat_lines_close(rs);
  xlat_lines_close(rt);
  h[H_KEPT] = b->line.n;
  return st;
}

/* ---- the cache file -------------------------------------------------------------------------------------------- */

static const char *base_name(const char *path) {
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}

/* Loads the cache file when it exists, is intact and its header matches key (the first H_READ words). Any other
 * case is a miss (*out NULL), not an error: the caller rebuilds the cache. */
static void cache_load(const char *path, const uint64_t *key, xlat_corpus **out) {
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) return;
  uint64_t h[H_WORDS];
  struct stat sb;
  xlat_corpus *c = NULL;
  if (fread(h, 8, H_WORDS, f) != H_WORDS || memcmp(h, key, H_READ * 8) != 0 || fstat(fileno(f), &sb) != 0) goto miss;
  if (h[H_KEPT] > (uint64_t)INT64_MAX / 64 || h[H_SRC_TOKENS] > (uint64_t)INT64_MAX / 64 ||
      h[H_TGT_TOKENS] > (uint64_t)INT64_MAX / 64)
    goto miss;
  size_t size = block_bytes((int64_t)h[H_KEPT], (int64_t)h[H_SRC_TOKENS], (int64_t)h[H_TGT_TOKENS]);
  if ((uint64_t)sb.st_size != size + 4 || corpus_alloc(h, &c) != XLAT_OK) goto miss;
  uint32_t crc_file;
  if (fread(c->block + H_WORDS * 8, 1, size - H_WORDS * 8, f) != size - H_WORDS * 8 || fread(&crc_file, 4, 1, f) != 1)
    goto miss;
  if ((uint32_t)crc32_z(0, c->block, size) != crc_file || attach(c) != XLAT_OK) goto miss;
  fclose(f);
  c->stats.cache_hit = 1;
  *out = c;
  return;
miss:
  xlat_corpus_free(c);
  fclose(f);
}

/* Writes the block and its CRC32 atomically (io.h): a crash or a full disk leaves the old cache or the new one. */
static xlat_status cache_write(const char *path, const xlat_corpus *c) {
  uint32_t crc = (uint32_t)crc32_z(0, c->block, c->block_size);
  xlat_atomic_file af;
  xlat_status st = xlat_atomic_open(&af, path);
  if (st == XLAT_OK) {
    xlat_atomic_write(&af, c->block, c->block_size);
    xlat_atomic_write(&af, &crc, 4);
    st = xlat_atomic_commit(&af);
  }
  return st == XLAT_OK ? st : xlat_fail(st, "the corpus cache: %s", xlat_last_error());
}

/* *cacheable = 1 for a regular file (its bytes can be checksummed and then read again); a pipe (FIFO,
 * <(zcat ...)) can be read only once, so it is encoded without the cache. A directory is an error. */
static xlat_status input_kind(const char *path, int *cacheable) {
  struct stat st;
  if (stat(path, &st) != 0) return xlat_fail(XLAT_ERR_IO, "%s: cannot open for reading: %s", path, strerror(errno));
  if (S_ISDIR(st.st_mode))
    return xlat_fail(XLAT_ERR_IO, "%s: is a directory, expected a text file (plain or .gz)", path);
  *cacheable = S_ISREG(st.st_mode);
  return XLAT_OK;
}

xlat_status xlat_corpus_load(const char *src_path, const char *tgt_path, const xlat_spm *spm,
                             const xlat_corpus_options *opt, xlat_corpus **out) {
  *out = NULL;
  xlat_corpus_options defaults;
  if (!opt) {
    xlat_corpus_options_default(&defaults);
    opt = &defaults;
  }
  if (opt->max_tokens < 0 || !(opt->max_ratio >= 0))
    return xlat_fail(XLAT_ERR_ARG, "corpus options: max_tokens %d and max_ratio %g, expected both >= 0",
                     (int)opt->max_tokens, (double)opt->max_ratio);
  uint64_t h[H_WORDS] = {0};
  memcpy(&h[H_MAGIC], magic, 8);
  h[H_VERSION] = CACHE_VERSION;
  h[H_SPM_SUM] = xlat_spm_checksum(spm);
  h[H_MAX_TOKENS] = (uint64_t)opt->max_tokens;
  uint32_t ratio_bits;
  memcpy(&ratio_bits, &opt->max_ratio, 4);
  h[H_MAX_RATIO] = ratio_bits;
  h[H_DROP_EMPTY] = opt->drop_empty != 0;
  h[H_SKIP_UTF8] = opt->skip_invalid_utf8 != 0;

  char *cache_path = NULL;
  xlat_status st;
  int src_regular = 0, tgt_regular = 0;
  if ((st = input_kind(src_path, &src_regular)) != XLAT_OK || (st = input_kind(tgt_path, &tgt_regular)) != XLAT_OK)
    return st;
  if (opt->cache_dir && src_regular && tgt_regular) {
    if ((st = file_checksum(src_path, &h[H_SRC_SUM])) != XLAT_OK) return st;
    if ((st = file_checksum(tgt_path, &h[H_TGT_SUM])) != XLAT_OK) return st;
    if (!opt->cache_read_only && mkdir(opt->cache_dir, 0777) != 0 && errno != EEXIST)
      return xlat_fail(XLAT_ERR_IO, "%s: cannot create the cache directory: %s", opt->cache_dir, strerror(errno));
    size_t n = strlen(opt->cache_dir) + strlen(src_path) + strlen(tgt_path) + 16;
    if (!(cache_path = malloc(n))) return xlat_fail(XLAT_ERR_NOMEM, "corpus: out of memory");
    snprintf(cache_path, n, "%s/%s+%s.ids", opt->cache_dir, base_name(src_path), base_name(tgt_path));
    cache_load(cache_path, h, out);
    if (*out) {
      free(cache_path);
      return XLAT_OK;
    }
  }

  builder b = {{NULL, 0, 0, 8}, {NULL, 0, 0, 4}, {NULL, 0, 0, 4}, {NULL, 0, 0, 4}, {NULL, 0, 0, 4}};
  xlat_corpus *c = NULL;
  st = encode_pairs(src_path, tgt_path, spm, opt, &b, h);
  if (st == XLAT_OK) st = corpus_alloc(h, &c);
  if (st == XLAT_OK) {
    unsigned char *p = c->block + H_WORDS * 8;
    const vec *parts[] = {&b.line, &b.src_len, &b.tgt_len, &b.src_ids, &b.tgt_ids};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
      if (parts[i]->n) memcpy(p, parts[i]->p, parts[i]->n * parts[i]->elem);
      p += parts[i]->n * parts[i]->elem;
    }
    st = attach(c);
  }
  builder_free(&b);
  if (st == XLAT_OK && cache_path && !opt->cache_read_only) st = cache_write(cache_path, c);
  free(cache_path);
  if (st != XLAT_OK) {
    xlat_corpus_free(c);
    return st;
  }
  *out = c;
  return XLAT_OK;
}

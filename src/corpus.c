/* corpus.c - reads a parallel corpus, encodes it with SentencePiece on every core, filters it, and caches the ids.
 *
 * A corpus is one file, or several (shards of shard_pairs input lines each), mapped into memory (mmap), laid out
 * as the cache file: the header, every kept pair's ids (source then target, pair after pair), then the line numbers,
 * each pair's offset into the ids and the lengths, and a CRC32. Encoding streams the ids straight into the file (the cache's temporary file, or an unlinked temporary
 * file when nothing is cached), so building a corpus never holds it twice, and loading a cache reads nothing into
 * private memory: the processes of one machine (the ranks of a run) share its pages, and the kernel can page a corpus
 * larger than RAM in and out. Shards keep each file (and the per-pair arrays that building holds in memory until a
 * file is complete, 24 bytes a pair) bounded for corpora beyond a file system's or the memory's limits. The cache is
 * derived data: a missing, stale, truncated or corrupted file is rebuilt (all shards, when one is).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "internal.h"

/* The header: 8-byte words in native byte order. The first H_READ words are the cache key (H_PART_CHUNKS: input
 * chunks per shard, 0 for one file; H_PART: the shard's number); the counts are the file's own; H_LAST is 1 in the
 * last shard (and in a single file). */
enum {
  H_MAGIC, H_VERSION, H_SRC_SUM, H_TGT_SUM, H_SPM_SUM, H_MAX_TOKENS, H_MAX_RATIO, H_DROP_EMPTY, H_SKIP_UTF8,
  H_PART_CHUNKS, H_PART,
  H_READ, H_KEPT, H_EMPTY, H_TOO_LONG, H_BAD_RATIO, H_INVALID_UTF8, H_SRC_TOKENS, H_TGT_TOKENS, H_LAST,
  H_WORDS
};
static const char magic[8] = {'X', 'L', 'A', 'T', 'I', 'D', 'S', '\n'};
enum { CACHE_VERSION = 4 }; /* 3: streamed layout (ids first), mapped; 4: shards */

/* One mapped file. */
typedef struct {
  void *map; /* header to CRC */
  size_t size;
  int64_t n;
  const int32_t *ids; /* pair i: src at ids + off[i], then its target */
  const int64_t *line, *off;
  const int32_t *src_len, *tgt_len;
} part;

struct xlat_corpus {
  part *parts;
  int32_t n_parts, cap_parts;
  int64_t *first; /* (n_parts + 1): pairs before part k */
  int64_t n;
  xlat_corpus_stats stats;
};

void xlat_corpus_options_default(xlat_corpus_options *o) {
  memset(o, 0, sizeof *o);
  o->max_tokens = 250;
  o->max_ratio = 3.0f;
  o->drop_empty = 1;
}

/* Bytes of the ids region (padded to 8) and of the whole file, for n pairs and `tokens` ids. */
static size_t ids_bytes(int64_t tokens) { return ((size_t)tokens * 4 + 7) / 8 * 8; }
static size_t file_bytes(int64_t n, int64_t tokens) {
  return H_WORDS * 8 + ids_bytes(tokens) + (size_t)n * (8 + 8 + 4 + 4) + 8 + 4;
}

/* Points p's arrays into its mapping (whose size matches the header), checks that the pairs' offsets and lengths
 * tile the ids exactly, so no pair reaches outside them, and adds the header's counts to s. */
static xlat_status attach(part *p, xlat_corpus_stats *s, int *last) {
  uint64_t h[H_WORDS];
  memcpy(h, p->map, sizeof h);
  p->n = (int64_t)h[H_KEPT];
  int64_t ns = (int64_t)h[H_SRC_TOKENS], nt = (int64_t)h[H_TGT_TOKENS];
  const unsigned char *q = (const unsigned char *)p->map + H_WORDS * 8;
  p->ids = (const int32_t *)q;
  q += ids_bytes(ns + nt);
  p->line = (const int64_t *)q;
  q += p->n * 8;
  p->off = (const int64_t *)q;
  q += (p->n + 1) * 8;
  p->src_len = (const int32_t *)q;
  q += p->n * 4;
  p->tgt_len = (const int32_t *)q;
  int64_t s_sum = 0, t_sum = 0;
  for (int64_t i = 0; i < p->n; i++) {
    if (p->src_len[i] < 0 || p->tgt_len[i] < 0 || p->off[i] != s_sum + t_sum)
      return xlat_fail(XLAT_ERR_FORMAT, "corpus: pair %lld has offset %lld and lengths %d + %d, expected offset %lld",
                       (long long)i, (long long)p->off[i], p->src_len[i], p->tgt_len[i], (long long)(s_sum + t_sum));
    s_sum += p->src_len[i];
    t_sum += p->tgt_len[i];
  }
  if (s_sum != ns || t_sum != nt || p->off[p->n] != ns + nt)
    return xlat_fail(XLAT_ERR_FORMAT, "corpus: pair lengths add up to %lld + %lld tokens, header says %lld + %lld",
                     (long long)s_sum, (long long)t_sum, (long long)ns, (long long)nt);
  s->read += (int64_t)h[H_READ];
  s->kept += p->n;
  s->empty += (int64_t)h[H_EMPTY];
  s->too_long += (int64_t)h[H_TOO_LONG];
  s->bad_ratio += (int64_t)h[H_BAD_RATIO];
  s->invalid_utf8 += (int64_t)h[H_INVALID_UTF8];
  s->src_tokens += ns;
  s->tgt_tokens += nt;
  *last = h[H_LAST] != 0;
  return XLAT_OK;
}

static xlat_corpus *corpus_new(void) {
  xlat_corpus *c = calloc(1, sizeof *c);
  if (c && !(c->first = calloc(1, sizeof *c->first))) {
    free(c);
    return NULL;
  }
  return c;
}

/* Maps fd's size bytes read-only (the descriptor may be closed afterwards) as c's next part; checks the CRC when
 * asked; *last: the header says it is the last. */
static xlat_status map_part(int fd, size_t size, int check_crc, xlat_corpus *c, int *last) {
  if (c->n_parts == c->cap_parts) {
    int32_t cap = c->cap_parts ? 2 * c->cap_parts : 4;
    part *parts = realloc(c->parts, (size_t)cap * sizeof *parts);
    if (parts) c->parts = parts;
    int64_t *first = realloc(c->first, ((size_t)cap + 1) * sizeof *first);
    if (first) c->first = first;
    if (!parts || !first) return xlat_fail(XLAT_ERR_NOMEM, "corpus: out of memory");
    c->cap_parts = cap;
  }
  part *p = &c->parts[c->n_parts];
  memset(p, 0, sizeof *p);
  p->map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
  if (p->map == MAP_FAILED)
    return xlat_fail(XLAT_ERR_NOMEM, "corpus: cannot map %zu bytes: %s", size, strerror(errno));
  p->size = size;
  posix_madvise(p->map, size, POSIX_MADV_WILLNEED); /* read ahead: the CRC or an epoch reads it all */
  uint32_t crc;
  memcpy(&crc, (const unsigned char *)p->map + size - 4, 4);
  xlat_status st = XLAT_OK;
  if (check_crc && (uint32_t)crc32_z(0, p->map, size - 4) != crc)
    st = xlat_fail(XLAT_ERR_FORMAT, "corpus: CRC mismatch");
  if (st == XLAT_OK) st = attach(p, &c->stats, last);
  if (st != XLAT_OK) {
    munmap(p->map, size);
    return st;
  }
  c->n += p->n;
  c->first[++c->n_parts] = c->n;
  return XLAT_OK;
}

void xlat_corpus_free(xlat_corpus *c) {
  if (!c) return;
  for (int32_t k = 0; k < c->n_parts; k++) munmap(c->parts[k].map, c->parts[k].size);
  free(c->parts);
  free(c->first);
  free(c);
}

/* The part holding pair *i, and *i made its index there. */
static const part *locate(const xlat_corpus *c, int64_t *i) {
  XLAT_ASSERT(*i >= 0 && *i < c->n);
  int32_t lo = 0, hi = c->n_parts - 1;
  while (lo < hi) {
    int32_t mid = (lo + hi + 1) / 2;
    if (c->first[mid] <= *i) lo = mid;
    else hi = mid - 1;
  }
  *i -= c->first[lo];
  return &c->parts[lo];
}

int64_t xlat_corpus_size(const xlat_corpus *c) { return c->n; }

void xlat_corpus_pair(const xlat_corpus *c, int64_t i, const int32_t **src, int32_t *src_len, const int32_t **tgt,
                      int32_t *tgt_len) {
  const part *p = locate(c, &i);
  *src = p->ids + p->off[i];
  *src_len = p->src_len[i];
  *tgt = *src + *src_len;
  *tgt_len = p->tgt_len[i];
}

int64_t xlat_corpus_line(const xlat_corpus *c, int64_t i) {
  const part *p = locate(c, &i);
  return p->line[i];
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

/* ---- writing a corpus file -------------------------------------------------------------------------------------- */

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

/* Streams pairs into f (positioned at its start): a zeroed header (rewritten last), then the ids as they come; the
 * per-pair arrays wait in memory (24 bytes a pair) until writer_finish appends them, the header and the CRC. */
typedef struct {
  FILE *f;
  uint32_t crc;       /* of everything after the header, so far */
  size_t body;        /* its bytes */
  int64_t tokens;     /* ids written */
  vec line, off, src_len, tgt_len;
  int failed; /* the errno of the first failed write (ENOMEM for memory) */
} writer;

static void put(writer *w, const void *p, size_t n) {
  if (w->failed || n == 0) return;
  if (fwrite(p, 1, n, w->f) != n) w->failed = errno ? errno : EIO;
  w->crc = (uint32_t)crc32_z(w->crc, p, n);
  w->body += n;
}

static void writer_start(writer *w, FILE *f) {
  memset(w, 0, sizeof *w);
  w->f = f;
  w->line.elem = w->off.elem = 8;
  w->src_len.elem = w->tgt_len.elem = 4;
  static const uint64_t zero[H_WORDS];
  if (fwrite(zero, 8, H_WORDS, f) != H_WORDS) w->failed = errno ? errno : EIO;
}

static int writer_pair(writer *w, int64_t line, const int32_t *s, int32_t ns, const int32_t *t, int32_t nt) {
  if (vec_push(&w->line, &line, 1) || vec_push(&w->off, &w->tokens, 1) || vec_push(&w->src_len, &ns, 1) ||
      vec_push(&w->tgt_len, &nt, 1))
    return -1;
  put(w, s, (size_t)ns * 4);
  put(w, t, (size_t)nt * 4);
  w->tokens += ns + nt;
  return 0;
}

/* Completes the file with header h (its H_KEPT, token counts are set here). Returns its size, or 0 on failure. */
static size_t writer_finish(writer *w, uint64_t *h) {
  static const char pad[8];
  put(w, pad, ids_bytes(w->tokens) - (size_t)w->tokens * 4);
  h[H_KEPT] = w->line.n;
  put(w, w->line.p, w->line.n * 8);
  if (!w->failed && vec_push(&w->off, &w->tokens, 1)) w->failed = ENOMEM;
  put(w, w->off.p, w->off.n * 8);
  put(w, w->src_len.p, w->src_len.n * 4);
  put(w, w->tgt_len.p, w->tgt_len.n * 4);
  uint32_t hcrc = (uint32_t)crc32_z(0, (const unsigned char *)h, H_WORDS * 8);
  uint32_t crc = (uint32_t)crc32_combine(hcrc, w->crc, (z_off_t)w->body);
  if (!w->failed && (fwrite(&crc, 4, 1, w->f) != 1 || fseek(w->f, 0, SEEK_SET) != 0 ||
                     fwrite(h, 8, H_WORDS, w->f) != H_WORDS || fflush(w->f) != 0))
    w->failed = errno ? errno : EIO;
  size_t size = H_WORDS * 8 + w->body + 4;
  free(w->line.p), free(w->off.p), free(w->src_len.p), free(w->tgt_len.p);
  w->line.p = w->off.p = w->src_len.p = w->tgt_len.p = NULL;
  return w->failed ? 0 : size;
}

/* A corpus written to an unlinked temporary file and mapped: when nothing is cached. */
static FILE *scratch_file(void) { return tmpfile(); }

xlat_status xlat_corpus_from_ids(int64_t n, const int32_t *const *src, const int32_t *src_len,
                                 const int32_t *const *tgt, const int32_t *tgt_len, xlat_corpus **out) {
  *out = NULL;
  if (n < 0) return xlat_fail(XLAT_ERR_ARG, "corpus from ids: %lld pairs, expected >= 0", (long long)n);
  for (int64_t i = 0; i < n; i++)
    if (src_len[i] < 0 || tgt_len[i] < 0)
      return xlat_fail(XLAT_ERR_ARG, "corpus from ids: pair %lld has a negative length", (long long)i);
  uint64_t h[H_WORDS] = {0};
  memcpy(&h[H_MAGIC], magic, 8);
  h[H_VERSION] = CACHE_VERSION;
  h[H_READ] = (uint64_t)n;
  h[H_LAST] = 1;
  FILE *f = scratch_file();
  if (!f) return xlat_fail(XLAT_ERR_IO, "corpus: cannot create a temporary file: %s", strerror(errno));
  writer w;
  writer_start(&w, f);
  for (int64_t i = 0; i < n && !w.failed; i++) {
    if (writer_pair(&w, i + 1, src[i], src_len[i], tgt[i], tgt_len[i])) w.failed = ENOMEM;
    h[H_SRC_TOKENS] += (uint64_t)src_len[i];
    h[H_TGT_TOKENS] += (uint64_t)tgt_len[i];
  }
  size_t size = writer_finish(&w, h);
  xlat_corpus *c = corpus_new();
  int last;
  xlat_status st = !size ? xlat_fail(XLAT_ERR_IO, "corpus: cannot write a temporary file: %s", strerror(w.failed))
                   : !c  ? xlat_fail(XLAT_ERR_NOMEM, "corpus: out of memory")
                         : map_part(fileno(f), size, 0, c, &last);
  fclose(f);
  if (st != XLAT_OK) {
    xlat_corpus_free(c);
    return st;
  }
  *out = c;
  return XLAT_OK;
}

/* ---- reading and encoding -------------------------------------------------------------------------------------- */

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

/* ---- encoding on every core ------------------------------------------------------------------------------------ *
 * The calling thread reads pairs into chunks; worker threads check, encode and filter whole chunks; the calling
 * thread writes finished chunks in input order, so the result (and the first error reported) is the same for any
 * number of threads. */

enum { CHUNK = 2048 }; /* pairs */

typedef enum { C_FREE, C_READY, C_BUSY, C_DONE } chunk_state;

typedef struct {
  chunk_state state;
  int64_t seq;
  /* input: the pairs' text, copied */
  char *text;
  size_t text_n, text_cap;
  size_t at[CHUNK][4]; /* source start, length, target start, length in text */
  int64_t line[CHUNK];
  int32_t n;
  /* output */
  vec ids, lens;         /* kept pairs' ids (source then target) and (line as 2 words, src len, tgt len) */
  uint64_t count[H_WORDS]; /* H_READ .. H_TGT_TOKENS */
  xlat_status st;
  char error[512];
} chunk;

typedef struct {
  const char *src_path, *tgt_path;
  const xlat_spm *src_spm, *tgt_spm;
  const xlat_corpus_options *o;
  pthread_mutex_t mu;
  pthread_cond_t ready, done;
  chunk *chunks;
  int32_t n_chunks;
  int closing;
} encoder;

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

/* Checks, encodes and filters one pair into k; stops the chunk (k->st) at a failure. */
static void encode_pair(const encoder *e, chunk *k, int32_t i) {
  const xlat_corpus_options *o = e->o;
  const char *ls = k->text + k->at[i][0], *lt = k->text + k->at[i][2];
  size_t ns = k->at[i][1], nt = k->at[i][3];
  int64_t line = k->line[i];
  uint64_t *h = k->count;
  h[H_READ]++;
  int ok_s, ok_t;
  xlat_status us = check_utf8(e->src_path, line, ls, ns, &ok_s);
  xlat_status ut = ok_s ? check_utf8(e->tgt_path, line, lt, nt, &ok_t) : XLAT_OK;
  if (!ok_s || !ok_t) {
    if (!o->skip_invalid_utf8) {
      k->st = ok_s ? ut : us;
      return;
    }
    h[H_INVALID_UTF8]++;
    return;
  }
  if (o->drop_empty && (blank(ls, ns) || blank(lt, nt))) {
    h[H_EMPTY]++;
    return;
  }
  /* a side of more bytes than max_tokens pieces can cover is too long for certain: not even encoded */
  size_t most_s = (size_t)o->max_tokens * xlat_spm_max_piece_bytes(e->src_spm),
         most_t = (size_t)o->max_tokens * xlat_spm_max_piece_bytes(e->tgt_spm);
  if ((most_s > 0 && ns > most_s) || (most_t > 0 && nt > most_t)) {
    h[H_TOO_LONG]++;
    return;
  }
  int32_t *ids_s = NULL, *ids_t = NULL;
  size_t ks, kt;
  if (xlat_spm_encode_ids(e->src_spm, ls, ns, &ids_s, &ks) != 0 ||
      xlat_spm_encode_ids(e->tgt_spm, lt, nt, &ids_t, &kt) != 0) {
    k->st = xlat_fail(XLAT_ERR_FORMAT, "%s / %s line %lld: %s", e->src_path, e->tgt_path, (long long)line,
                      xlat_spm_last_error());
  } else if (o->drop_empty && (ks == 0 || kt == 0)) {
    h[H_EMPTY]++;
  } else if (o->max_tokens > 0 && (ks > (size_t)o->max_tokens || kt > (size_t)o->max_tokens)) {
    h[H_TOO_LONG]++;
  } else if (o->max_ratio > 0 && (ks < kt ? ks : kt) > 0 &&
             (double)(ks < kt ? kt : ks) > (double)o->max_ratio * (double)(ks < kt ? ks : kt)) {
    h[H_BAD_RATIO]++;
  } else {
    int32_t rec[4] = {(int32_t)(line & 0xFFFFFFFF), (int32_t)(line >> 32), (int32_t)ks, (int32_t)kt};
    if (vec_push(&k->ids, ids_s, ks) || vec_push(&k->ids, ids_t, kt) || vec_push(&k->lens, rec, 4))
      k->st = xlat_fail(XLAT_ERR_NOMEM, "%s / %s line %lld: out of memory", e->src_path, e->tgt_path,
                        (long long)line);
    h[H_SRC_TOKENS] += ks;
    h[H_TGT_TOKENS] += kt;
  }
  free(ids_s);
  free(ids_t);
}

static void *encode_worker(void *arg) {
  encoder *e = arg;
  pthread_mutex_lock(&e->mu);
  for (;;) {
    chunk *k = NULL;
    for (int32_t i = 0; i < e->n_chunks && !k; i++)
      if (e->chunks[i].state == C_READY) k = &e->chunks[i];
    if (!k) {
      if (e->closing) break;
      pthread_cond_wait(&e->ready, &e->mu);
      continue;
    }
    k->state = C_BUSY;
    pthread_mutex_unlock(&e->mu);
    k->ids.n = k->lens.n = 0;
    memset(k->count, 0, sizeof k->count);
    k->st = XLAT_OK;
    for (int32_t i = 0; i < k->n && k->st == XLAT_OK; i++) encode_pair(e, k, i);
    if (k->st != XLAT_OK) snprintf(k->error, sizeof k->error, "%s", xlat_last_error());
    pthread_mutex_lock(&e->mu);
    k->state = C_DONE;
    pthread_cond_broadcast(&e->done);
  }
  pthread_mutex_unlock(&e->mu);
  return NULL;
}

/* Appends a finished chunk to the file and its counts to h; returns its status (with the message restored). */
static xlat_status write_chunk(writer *w, chunk *k, uint64_t *h) {
  if (k->st != XLAT_OK) return xlat_fail(k->st, "%s", k->error);
  const int32_t *rec = k->lens.p, *ids = k->ids.p;
  for (size_t p = 0; p < k->lens.n / 4; p++, rec += 4) {
    int64_t line = (int64_t)(uint32_t)rec[0] | (int64_t)rec[1] << 32;
    if (writer_pair(w, line, ids, rec[2], ids + rec[2], rec[3]))
      return xlat_fail(XLAT_ERR_NOMEM, "corpus: out of memory at line %lld", (long long)line);
    ids += rec[2] + rec[3];
  }
  for (int k2 = H_READ; k2 < H_WORDS; k2++)
    if (k2 != H_KEPT) h[k2] += k->count[k2];
  return XLAT_OK;
}

/* Copies one pair into chunk k. */
static int add_to_chunk(chunk *k, int64_t line, const char *s, size_t ns, const char *t, size_t nt) {
  if (!k->text || k->text_n + ns + nt > k->text_cap) {
    size_t cap = 2 * (k->text_n + ns + nt) + 4096;
    char *p = realloc(k->text, cap);
    if (!p) return -1;
    k->text = p, k->text_cap = cap;
  }
  k->at[k->n][0] = k->text_n, k->at[k->n][1] = ns;
  memcpy(k->text + k->text_n, s, ns);
  k->text_n += ns;
  k->at[k->n][2] = k->text_n, k->at[k->n][3] = nt;
  memcpy(k->text + k->text_n, t, nt);
  k->text_n += nt;
  k->line[k->n++] = line;
  return 0;
}

/* ---- building the files ------------------------------------------------------------------------------------------
 * The encoded chunks go, in order, into the current part: the cache file (written atomically: a crash or a full disk
 * leaves the old file or the new one; PATH.K for shard K), or an unlinked temporary file when nothing is cached. A
 * part is closed, committed and mapped when the next one starts and at the end. */
typedef struct {
  const char *path;    /* the cache file, or NULL */
  int64_t part_chunks; /* input chunks per part; 0: one part */
  const uint64_t *key; /* the first H_READ header words */
  uint64_t h[H_WORDS]; /* the current part's header */
  int64_t read;        /* pairs read, all parts */
  xlat_atomic_file af;
  FILE *f;
  writer w;
  int32_t k; /* the current part */
  xlat_corpus *c;
} builder;

static char *part_path(const char *path, int64_t part_chunks, int32_t k) {
  size_t n = strlen(path) + 16;
  char *p = malloc(n);
  if (p) snprintf(p, n, part_chunks ? "%s.%d" : "%s", path, (int)k);
  return p;
}

static xlat_status part_open(builder *b) {
  memset(b->h, 0, sizeof b->h);
  memcpy(b->h, b->key, H_READ * 8);
  b->h[H_PART] = (uint64_t)b->k;
  xlat_status st = XLAT_OK;
  if (b->path) {
    char *path = part_path(b->path, b->part_chunks, b->k);
    st = !path ? xlat_fail(XLAT_ERR_NOMEM, "corpus: out of memory") : xlat_atomic_open(&b->af, path);
    free(path);
    if (st != XLAT_OK) return xlat_fail(st, "the corpus cache: %s", xlat_last_error());
    b->f = b->af.f;
  } else if (!(b->f = scratch_file())) {
    return xlat_fail(XLAT_ERR_IO, "corpus: cannot create a temporary file: %s", strerror(errno));
  }
  writer_start(&b->w, b->f);
  return XLAT_OK;
}

/* Completes, commits and maps the current part; on failure (or when st is one already) drops it. */
static xlat_status part_close(builder *b, xlat_status st, int last) {
  b->h[H_LAST] = (uint64_t)last;
  size_t size = writer_finish(&b->w, b->h);
  char *path = b->path ? part_path(b->path, b->part_chunks, b->k) : NULL;
  if (st == XLAT_OK && b->path && !path) st = xlat_fail(XLAT_ERR_NOMEM, "corpus: out of memory");
  if (st == XLAT_OK && !size)
    st = path ? xlat_fail(XLAT_ERR_IO, "the corpus cache: %s: cannot write: %s", path, strerror(b->w.failed))
              : xlat_fail(XLAT_ERR_IO, "corpus: cannot write a temporary file: %s", strerror(b->w.failed));
  int fd = -1, ignored;
  if (b->path) {
    if (st != XLAT_OK) {
      xlat_atomic_abort(&b->af);
      free(path);
      return st;
    }
    if ((st = xlat_atomic_commit(&b->af)) != XLAT_OK) st = xlat_fail(st, "the corpus cache: %s", xlat_last_error());
    else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
      st = xlat_fail(XLAT_ERR_IO, "%s: cannot open the cache just written: %s", path, strerror(errno));
    free(path);
  } else {
    fd = fileno(b->f);
  }
  if (st == XLAT_OK) st = map_part(fd, size, 0, b->c, &ignored);
  if (b->path && fd >= 0) close(fd);
  if (!b->path) fclose(b->f);
  b->k++;
  return st;
}

/* Appends finished chunk number seq, starting the next part at a shard's end. */
static xlat_status builder_chunk(builder *b, chunk *k, int64_t seq) {
  xlat_status st = XLAT_OK;
  if (b->part_chunks && seq > 0 && seq % b->part_chunks == 0 && (st = part_close(b, XLAT_OK, 0)) == XLAT_OK)
    st = part_open(b);
  if (st == XLAT_OK) st = write_chunk(&b->w, k, b->h);
  b->read += (int64_t)k->count[H_READ];
  return st;
}

/* Reads, encodes (o->threads workers) and filters every pair into b's parts. */
static xlat_status encode_pairs(const char *src_path, const char *tgt_path, const xlat_spm *src_spm,
                                const xlat_spm *tgt_spm, const xlat_corpus_options *o, builder *b) {
  int32_t threads = o->threads > 0 ? o->threads : (int32_t)sysconf(_SC_NPROCESSORS_ONLN);
  if (threads < 1) threads = 1;
  encoder e = {src_path, tgt_path, src_spm, tgt_spm, o, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
               PTHREAD_COND_INITIALIZER, NULL, 2 * threads + 2, 0};
  e.chunks = calloc((size_t)e.n_chunks, sizeof *e.chunks);
  pthread_t *tid = calloc((size_t)threads, sizeof *tid);
  int32_t started = 0;
  xlat_status st = e.chunks && tid ? XLAT_OK : xlat_fail(XLAT_ERR_NOMEM, "corpus: out of memory");
  for (int32_t i = 0; st == XLAT_OK && i < e.n_chunks; i++) e.chunks[i].ids.elem = e.chunks[i].lens.elem = 4;
  for (; st == XLAT_OK && started < threads; started++)
    if (pthread_create(&tid[started], NULL, encode_worker, &e) != 0)
      st = xlat_fail(XLAT_ERR_NOMEM, "corpus: cannot start encoding thread %d", started);
  xlat_lines *rs = NULL, *rt = NULL;
  if (st == XLAT_OK) st = xlat_lines_open(src_path, &rs);
  if (st == XLAT_OK) st = xlat_lines_open(tgt_path, &rt);
  xlat_status read_st = XLAT_OK; /* a reading failure, reported after the chunks before it */
  char read_error[512] = "";
  int64_t next_read = 0, next_write = 0;
  int eof = st != XLAT_OK;
  while (st == XLAT_OK && (!eof || next_write < next_read)) {
    chunk *k = &e.chunks[next_read % e.n_chunks];
    pthread_mutex_lock(&e.mu);
    int can_read = !eof && k->state == C_FREE;
    chunk *oldest = &e.chunks[next_write % e.n_chunks];
    while (!can_read && oldest->state != C_DONE) pthread_cond_wait(&e.done, &e.mu);
    pthread_mutex_unlock(&e.mu);
    if (!can_read) { /* the oldest chunk is done: write it */
      st = builder_chunk(b, oldest, next_write);
      pthread_mutex_lock(&e.mu); /* the workers look at every chunk's state */
      oldest->state = C_FREE;
      pthread_mutex_unlock(&e.mu);
      next_write++;
      continue;
    }
    k->n = 0, k->text_n = 0, k->seq = next_read;
    while (k->n < CHUNK) {
      const char *ls, *lt;
      size_t ns, nt;
      if ((read_st = xlat_lines_next(rs, &ls, &ns)) != XLAT_OK || (read_st = xlat_lines_next(rt, &lt, &nt)) != XLAT_OK)
        break;
      if (!ls && !lt) break;
      if (!ls || !lt) {
        const char *shorter = ls ? tgt_path : src_path, *longer = ls ? src_path : tgt_path;
        int64_t end = xlat_lines_number(ls ? rt : rs);
        read_st = xlat_fail(XLAT_ERR_MISMATCH, "line counts differ: %s ends after line %lld, but %s has more lines",
                            shorter, (long long)end, longer);
        break;
      }
      if (add_to_chunk(k, xlat_lines_number(rs), ls, ns, lt, nt)) {
        read_st = xlat_fail(XLAT_ERR_NOMEM, "corpus: out of memory");
        break;
      }
    }
    if (read_st != XLAT_OK) snprintf(read_error, sizeof read_error, "%s", xlat_last_error());
    if (k->n < CHUNK) eof = 1;
    if (k->n > 0) {
      pthread_mutex_lock(&e.mu);
      k->state = C_READY;
      pthread_cond_signal(&e.ready);
      pthread_mutex_unlock(&e.mu);
      next_read++;
    }
  }
  pthread_mutex_lock(&e.mu);
  e.closing = 1;
  pthread_cond_broadcast(&e.ready);
  pthread_mutex_unlock(&e.mu);
  for (int32_t i = 0; i < started; i++) pthread_join(tid[i], NULL);
  if (st == XLAT_OK && read_st != XLAT_OK) st = xlat_fail(read_st, "%s", read_error);
  if (st == XLAT_OK && b->read == 0)
    st = xlat_fail(XLAT_ERR_FORMAT, "%s and %s: empty files, expected at least one sentence pair", src_path, tgt_path);
  for (int32_t i = 0; e.chunks && i < e.n_chunks; i++)
    free(e.chunks[i].text), free(e.chunks[i].ids.p), free(e.chunks[i].lens.p);
  free(e.chunks);
  free(tid);
  xlat_lines_close(rs);
  xlat_lines_close(rt);
  pthread_mutex_destroy(&e.mu);
  pthread_cond_destroy(&e.ready);
  pthread_cond_destroy(&e.done);
  return st;
}

/* ---- the cache file -------------------------------------------------------------------------------------------- */

static const char *base_name(const char *path) {
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}

/* Maps one cache file of c when it exists, is intact and its header matches key (the first H_READ words); 0 when it
 * was, *last then telling whether it is the last shard. */
static int load_part(const char *path, const uint64_t *key, xlat_corpus *c, int *last) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  uint64_t h[H_WORDS];
  struct stat sb;
  int ok = pread(fd, h, sizeof h, 0) == (ssize_t)sizeof h && memcmp(h, key, H_READ * 8) == 0 && fstat(fd, &sb) == 0 &&
           h[H_KEPT] <= (uint64_t)INT64_MAX / 64 && h[H_SRC_TOKENS] <= (uint64_t)INT64_MAX / 64 &&
           h[H_TGT_TOKENS] <= (uint64_t)INT64_MAX / 64 &&
           (uint64_t)sb.st_size == file_bytes((int64_t)h[H_KEPT], (int64_t)(h[H_SRC_TOKENS] + h[H_TGT_TOKENS])) &&
           map_part(fd, (size_t)sb.st_size, 1, c, last) == XLAT_OK;
  close(fd);
  return ok ? 0 : -1;
}

/* Maps the whole cache (every shard up to the last) when all of it is there and valid. Any other case is a miss
 * (*out NULL), not an error: the caller rebuilds the cache. */
static void cache_load(const char *path, uint64_t *key, xlat_corpus **out) {
  *out = NULL;
  xlat_corpus *c = corpus_new();
  int last = 0;
  for (int32_t k = 0; c && !last; k++) {
    key[H_PART] = (uint64_t)k;
    char *name = part_path(path, (int64_t)key[H_PART_CHUNKS], k);
    int miss = !name || load_part(name, key, c, &last) != 0;
    free(name);
    if (miss) {
      xlat_corpus_free(c);
      return;
    }
  }
  key[H_PART] = 0;
  if (c) c->stats.cache_hit = 1;
  *out = c;
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

/* Encodes the corpus into the cache at path (its shards PATH.K when sharded; shards of a longer earlier corpus are
 * removed), or into unlinked temporary files without a path, and maps it. */
static xlat_status build(const char *src_path, const char *tgt_path, const xlat_spm *src_spm,
                         const xlat_spm *tgt_spm, const xlat_corpus_options *o, const uint64_t *key, const char *path,
                         xlat_corpus **out) {
  builder b = {.path = path, .part_chunks = (int64_t)key[H_PART_CHUNKS], .key = key, .c = corpus_new()};
  if (!b.c) return xlat_fail(XLAT_ERR_NOMEM, "corpus: out of memory");
  xlat_status st = part_open(&b);
  if (st == XLAT_OK) {
    st = encode_pairs(src_path, tgt_path, src_spm, tgt_spm, o, &b);
    st = part_close(&b, st, 1);
  }
  for (int32_t k = b.k; path && b.part_chunks; k++) { /* stale shards after the last */
    char *name = part_path(path, b.part_chunks, k);
    int gone = !name || unlink(name) != 0;
    free(name);
    if (gone) break;
  }
  if (st != XLAT_OK) {
    xlat_corpus_free(b.c);
    return st;
  }
  *out = b.c;
  return XLAT_OK;
}

xlat_status xlat_corpus_load(const char *src_path, const char *tgt_path, const xlat_spm *src_spm,
                             const xlat_spm *tgt_spm, const xlat_corpus_options *opt, xlat_corpus **out) {
  *out = NULL;
  xlat_corpus_options defaults;
  if (!opt) {
    xlat_corpus_options_default(&defaults);
    opt = &defaults;
  }
  if (opt->max_tokens < 0 || !(opt->max_ratio >= 0) || opt->shard_pairs < 0)
    return xlat_fail(XLAT_ERR_ARG,
                     "corpus options: max_tokens %d, max_ratio %g and shard_pairs %lld, expected all >= 0",
                     (int)opt->max_tokens, (double)opt->max_ratio, (long long)opt->shard_pairs);
  uint64_t h[H_WORDS] = {0};
  memcpy(&h[H_MAGIC], magic, 8);
  h[H_VERSION] = CACHE_VERSION;
  h[H_SPM_SUM] = xlat_spm_pair_checksum(src_spm, tgt_spm);
  h[H_MAX_TOKENS] = (uint64_t)opt->max_tokens;
  uint32_t ratio_bits;
  memcpy(&ratio_bits, &opt->max_ratio, 4);
  h[H_MAX_RATIO] = ratio_bits;
  h[H_DROP_EMPTY] = opt->drop_empty != 0;
  h[H_SKIP_UTF8] = opt->skip_invalid_utf8 != 0;
  h[H_PART_CHUNKS] = opt->shard_pairs > 0 ? (uint64_t)((opt->shard_pairs + CHUNK - 1) / CHUNK) : 0;

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
  st = build(src_path, tgt_path, src_spm, tgt_spm, opt, h, opt->cache_read_only ? NULL : cache_path, out);
  free(cache_path);
  return st;
}

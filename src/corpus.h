/* corpus.h - parallel corpora (read through io.h's line reader): filters, the encoded-id cache, token-based
 * batches. Part of libxlat's public interface: included by xlat.h after xlat_status and xlat_batch are declared
 * (include xlat.h, not this file).
 *
 * Conventions for batches (xlat_batch in xlat.h): the source row is the sentence's ids x1..xm as they are (no BOS,
 * no EOS), so S = max m; the target rows are tgt_in = BOS y1..yn and tgt_out = y1..yn EOS, so T = max n + 1.
 * Rows are padded with XLAT_PAD (0). The decoder encodes sources the same way (bare ids, padded).
 */
#ifndef XLAT_CORPUS_H
#define XLAT_CORPUS_H

#ifndef XLAT_H
#error "include xlat.h, not corpus.h"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- encoded parallel corpus ----------------------------------------------------------------------------------- */
typedef struct {
  int32_t max_tokens;        /* drop pairs with more tokens than this on either side (without BOS/EOS); 0: no limit */
  float max_ratio;           /* drop pairs whose longer/shorter token-count ratio exceeds this; 0: no limit */
  int32_t drop_empty;        /* 1: drop pairs where either side is blank (only whitespace) or encodes to no token */
  int32_t skip_invalid_utf8; /* 1: drop and count pairs with invalid UTF-8; 0: fail naming the file and line */
  int32_t cache_read_only;   /* 1: use a valid cache but never write one (the ranks of a run other than 0) */
  int32_t threads;           /* encoding threads; 0: every online CPU (the result is the same for any number) */
  const char *cache_dir;     /* directory for the encoded-id cache (created if missing); NULL: no cache. Inputs
                              * that are pipes (FIFO, <(zcat ...)) are read once and never cached. */
  int64_t shard_pairs;       /* input pairs per cache file (rounded up to a multiple of 2048): CACHE.ids.0, .1, ...;
                              * 0: one file. Bounds each file and the memory building one holds (24 bytes a pair) */
} xlat_corpus_options;

/* max_tokens 250, max_ratio 3, drop_empty 1, skip_invalid_utf8 0, cache_dir NULL. For a dev/test set whose pairs
 * must stay aligned with a reference file, set max_tokens 0, max_ratio 0, drop_empty 0 (then every line is kept). */
void xlat_corpus_options_default(xlat_corpus_options *o);

typedef struct {
  int64_t read;         /* pairs read */
  int64_t kept;         /* pairs in the corpus */
  int64_t empty;        /* dropped: a side empty */
  int64_t too_long;     /* dropped: a side over max_tokens */
  int64_t bad_ratio;    /* dropped: length ratio over max_ratio */
  int64_t invalid_utf8; /* dropped: invalid UTF-8 (skip_invalid_utf8 = 1) */
  int64_t src_tokens, tgt_tokens; /* kept tokens per side, without BOS/EOS */
  int cache_hit;        /* 1 when the ids came from the cache */
} xlat_corpus_stats;

typedef struct xlat_corpus xlat_corpus;

/* Reads src_path and tgt_path (plain or gzip, line i of one is the translation of line i of the other), encodes them
 * with src_spm and tgt_spm (the same model for a joint vocabulary), filters. With o->cache_dir, the ids are cached
 * in a file keyed by both files' contents, the models' xlat_spm_pair_checksum and the filter options, named
 * CACHE_DIR/SRC_BASENAME+TGT_BASENAME.ids: a later load of the same data reads the cache; any change re-encodes and
 * rewrites it (atomically; a damaged cache file is rebuilt too).
 * Errors: XLAT_ERR_IO (missing file, unwritable cache dir), XLAT_ERR_MISMATCH (line counts differ: the message names
 * both files and the line where the shorter one ends), XLAT_ERR_FORMAT (invalid UTF-8 naming file and line, an empty
 * file). o NULL means the defaults. */
xlat_status xlat_corpus_load(const char *src_path, const char *tgt_path, const xlat_spm *src_spm,
                             const xlat_spm *tgt_spm, const xlat_corpus_options *o, xlat_corpus **out);
/* A corpus from n pairs of id arrays (copied; no filtering), for tests and callers that encode text themselves. */
xlat_status xlat_corpus_from_ids(int64_t n, const int32_t *const *src, const int32_t *src_len,
                                 const int32_t *const *tgt, const int32_t *tgt_len, xlat_corpus **out);
void xlat_corpus_free(xlat_corpus *c);
int64_t xlat_corpus_size(const xlat_corpus *c);
/* Pair i's ids (without BOS/EOS); the pointers stay valid while c lives. */
void xlat_corpus_pair(const xlat_corpus *c, int64_t i, const int32_t **src, int32_t *src_len, const int32_t **tgt,
                      int32_t *tgt_len);
/* 1-based line number of pair i in the input files (i + 1 for a corpus from ids). */
int64_t xlat_corpus_line(const xlat_corpus *c, int64_t i);
const xlat_corpus_stats *xlat_corpus_get_stats(const xlat_corpus *c);
/* One line for the log, e.g. "29000 pairs read, 28990 kept (empty 0, too long 2, ratio 8, invalid UTF-8 0),
 * 401234 + 423456 tokens, cache hit", written into buf (truncated to n bytes, always NUL-terminated). */
void xlat_corpus_describe(const xlat_corpus *c, char *buf, size_t n);

/* ---- batches ----------------------------------------------------------------------------------------------------- */
/* Builds one padded batch from B pairs of id arrays (see the conventions at the top), into storage owned by buf that
 * grows as needed; out stays valid until the next call on buf. tgt may be NULL (source-only batch: T = 0, tgt_in and
 * tgt_out NULL). XLAT_ERR_ARG when B < 1. */
typedef struct xlat_batch_buffer xlat_batch_buffer;
xlat_status xlat_batch_buffer_new(xlat_batch_buffer **out);
void xlat_batch_buffer_free(xlat_batch_buffer *buf);
xlat_status xlat_batch_make(xlat_batch_buffer *buf, int32_t B, const int32_t *const *src, const int32_t *src_len,
                            const int32_t *const *tgt, const int32_t *tgt_len, xlat_batch *out);

/* Token-based batches over a corpus. Per epoch: the pairs are shuffled by (seed, epoch), sorted by length
 * max(S, T) = max(src_len, tgt_len + 1) (ties keep the shuffled order), cut into batches with B * max(S, T) <=
 * max_tokens, and the batches are shuffled. Every pair with src_len <= max_len and tgt_len + 1 <= max_len appears
 * exactly once per epoch; longer pairs are left out (xlat_batcher_skipped). The same corpus, seed and epoch give the
 * same batches in the same order, so (epoch, batch index) is an exact resume point. Holds a pointer to the corpus
 * (which must outlive it); all storage is allocated in _new. */
typedef struct xlat_batcher xlat_batcher;

/* XLAT_ERR_ARG when max_len < 2 or max_tokens < max_len. */
xlat_status xlat_batcher_new(const xlat_corpus *c, int32_t max_tokens, int32_t max_len, uint64_t seed,
                             xlat_batcher **out);
void xlat_batcher_free(xlat_batcher *b);
/* Lays out epoch (any value >= 0) and returns its number of batches. */
int64_t xlat_batcher_epoch(xlat_batcher *b, int64_t epoch);
/* Batch index of the current epoch, padded into storage owned by b (valid until the next _get). XLAT_ERR_ARG when
 * index is out of range or no epoch was laid out. */
xlat_status xlat_batcher_get(xlat_batcher *b, int64_t index, xlat_batch *out);
/* Corpus indices of the pairs in batch index (in row order) and their count in *B; NULL when out of range. */
const int64_t *xlat_batcher_pairs(const xlat_batcher *b, int64_t index, int32_t *B);
/* Pairs left out of every epoch because a side is longer than max_len. */
int64_t xlat_batcher_skipped(const xlat_batcher *b);

#ifdef __cplusplus
}
#endif
#endif

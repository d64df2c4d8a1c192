/* corpus.h - parallel corpora: streaming reader (plain or gzip), filters, the encoded-id cache, token-based batches.
 * Part of libxlat's public interface (included by xlat.h). */
#ifndef XLAT_CORPUS_H
#define XLAT_CORPUS_H

#include <stddef.h>
#include <stdint.h>

#include "spm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Streaming line reader over a plain or gzip file (detected by content). Lines are returned without the final
 * "\n" (and without a "\r" before it); a last line without newline is still a line. */
typedef struct xlat_lines xlat_lines;
int xlat_lines_open(const char *path, xlat_lines **out);            /* 0 / -1 with xlat_last_error() */
/* 1 with *line (valid until the next call) and *len; 0 at end; -1 on a read error. */
int xlat_lines_next(xlat_lines *r, const char **line, size_t *len);
int64_t xlat_lines_number(const xlat_lines *r);                     /* 1-based number of the last line returned */
void xlat_lines_close(xlat_lines *r);

/* 1 when the bytes are valid UTF-8. */
int xlat_utf8_valid(const char *s, size_t len);

typedef struct {
  int32_t max_tokens;    /* pairs with more tokens on either side are dropped (after encoding); 0: no limit */
  float max_ratio;       /* pairs whose longer/shorter token ratio exceeds this are dropped; 0: no limit */
  int32_t skip_invalid_utf8; /* 1: skip and count pairs with invalid UTF-8; 0: fail naming file and line */
  const char *cache_dir; /* where the encoded-id cache lives; NULL disables the cache */
} xlat_corpus_options;

void xlat_corpus_options_default(xlat_corpus_options *o); /* max_tokens 250, max_ratio 3, skip 0, cache NULL */

/* Encoded parallel corpus: every kept pair's source and target ids (without BOS/EOS). */
typedef struct {
  int64_t read, kept, empty, too_long, bad_ratio, invalid_utf8; /* counts for the log */
  int cache_hit;
} xlat_corpus_stats;

typedef struct xlat_corpus xlat_corpus;

/* Reads and encodes src_path/tgt_path with the tokenizer, or loads them from the cache when the files' and
 * tokenizer's checksums match. A line-count mismatch names both files and the line where the shorter one ends. */
int xlat_corpus_load(const char *src_path, const char *tgt_path, const xlat_spm *spm, const xlat_corpus_options *o,
                     xlat_corpus **out);
void xlat_corpus_free(xlat_corpus *c);
int64_t xlat_corpus_size(const xlat_corpus *c);
/* Pair i's ids (without BOS/EOS); pointers valid while c lives. */
void xlat_corpus_pair(const xlat_corpus *c, int64_t i, const int32_t **src, int32_t *src_len, const int32_t **tgt,
                      int32_t *tgt_len);
const xlat_corpus_stats *xlat_corpus_get_stats(const xlat_corpus *c);

#ifdef __cplusplus
}
#endif
#endif

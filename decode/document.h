/* document.h - translating a document line by line: the pipeline of xlat-decode.
 *
 * The reader (the calling thread) takes a window of lines and hands them to the library's translator (translator.h:
 * clean-up, sentence splitting, length-sorted mini-batches, worker threads). While the workers translate one window
 * the reader prepares the next; a finished window is written in input order, one output line per input line. A
 * segment's translation depends only on the segment (beam.h), so the output is the same for any batch size, window or
 * thread count. Under mpirun the ranks take the windows in turn and rank 0 writes them all, in order, so it is also
 * the same for any number of ranks.
 */
#ifndef XLAT_DECODE_DOCUMENT_H
#define XLAT_DECODE_DOCUMENT_H

#include "xlat.h"

typedef enum {
  FORMAT_TEXT,   /* the translation */
  FORMAT_SCORES, /* score TAB translation */
  FORMAT_IDS,    /* output token ids */
  FORMAT_ALIGN,  /* translation ||| source-target token alignment pairs */
  FORMAT_JSON,   /* one JSON object per line */
  FORMAT_NBEST,  /* Moses n-best: line ||| translation ||| score, n-best lines per input line */
} out_format;

/* What --attention-svg draws: the first segment of the first input line with text in the first window, and its best
 * translation (with --score: its target). */
typedef struct {
  int found;
  int64_t line;       /* 0-based */
  int32_t *src, *tgt; /* (src_len), (tgt_len) ids, malloc'ed: the caller frees them */
  int32_t src_len, tgt_len;
} doc_first;

typedef struct {
  xlat_translator_options tr; /* models, tokenizer, search, threads, batches, segment length, sentence splitting */
  int32_t window;          /* lines sorted together */
  out_format format;
  const char *input;       /* NULL: stdin */
  const char *output;      /* NULL: stdout; else written to a temporary file renamed when complete */
  const char *score_path;  /* forced decoding: target sentences, one per input line; prints their scores */
  int quiet;               /* no warnings on stderr */
  doc_first *first;        /* when not NULL, filled in as the first window is written */
  const char *attention_dir; /* when not NULL: one attention heatmap per segment there (attention.h) */
} doc_options;

/* Runs the whole document; reports problems on stderr. Returns the program's exit code: 0 success, 1 failure. */
int doc_translate(const doc_options *o);

/* --input-format markdown|html: the whole input is one document (read through the line reader, lines joined with
 * "\n"), translated keeping its markup (xlat_translate_document) and written whole. Returns the exit code. */
int doc_translate_markup(const doc_options *o, xlat_markup_format fmt);

#endif

/* output.h - xlat-decode's output: one line (or n-best block) per input line in each format, and output files that
 * appear only when complete. */
#ifndef XLAT_DECODE_OUTPUT_H
#define XLAT_DECODE_OUTPUT_H

#include <stdint.h>
#include <stdio.h>

#include "document.h"
#include "io.h"

/* Writes the output of input line number (0-based) translated as n segments (0 for an empty line), joining their
 * translations with spaces, adding their scores and offsetting their token positions. Returns 0, or -1 on a write
 * error. */
int out_line(FILE *f, out_format fmt, int64_t number, const xlat_seg_result *segs, int32_t n, int32_t n_best);

/* Forced-decoding output of line number: the score, or a JSON object with score and log-probability. */
int out_score(FILE *f, out_format fmt, int64_t number, float score, float logprob, int32_t len);

/* An output file written as path.tmp and renamed over path (after fsync) only by out_commit (io.h's atomic
 * writer), or stdout. */
typedef struct {
  FILE *f;
  xlat_atomic_file af; /* af.path NULL for stdout */
} out_file;

/* Opens path (NULL: stdout). Returns 0, or -1 with a message on stderr. */
int out_open(out_file *o, const char *path);
/* Flushes, syncs, closes and renames into place. Returns 0, or -1 with a message on stderr (the file is removed). */
int out_commit(out_file *o);
/* Closes and removes the temporary file (stdout is only flushed). */
void out_abort(out_file *o);

#endif

/* progress.h - what xlat-train reports while it trains: a live line on a terminal, plain log lines otherwise, and
 * the TSV log (step, wall_s, train_loss, dev_loss, dev_bleu, dev_chrf, lr, tokens_per_s, grad_norm) for plots. */
#ifndef XLAT_TRAIN_PROGRESS_H
#define XLAT_TRAIN_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

#include "validate.h"

typedef struct {
  int tty;          /* stderr is a terminal: one live line, rewritten in place */
  int line_open;    /* the live line is on screen and must be ended before other output */
  int64_t log_freq; /* updates between log lines and TSV rows */
  FILE *tsv;
  double last_draw; /* monotonic seconds of the last live-line redraw */
  /* since the last TSV row / log line */
  double loss_sum, interval_start;
  double grad_norm_sum; /* gradient norms before clipping, one per update */
  int64_t tokens, updates;
} progress;

/* What one update leaves to report. */
typedef struct {
  int64_t epoch, step;
  double wall;   /* training seconds so far, summed over resumes */
  float lr;
  double eta;    /* seconds to the nearest stop limit; < 0 when unknown */
} progress_step_info;

/* Opens DIR/train.tsv for appending (writing the header to a new file). Rows of steps after resume_step (0 for a
 * fresh start; rows written after the checkpoint a resume starts from) are dropped first, atomically; a file with
 * other columns (written by an older xlat-train) is rewritten with today's, its cells moved by column name and the
 * new columns left empty. Returns 0, or -1 after printing why to stderr. */
int progress_open(progress *p, const char *tsv_path, int64_t resume_step, int64_t log_freq);
void progress_close(progress *p);
/* One update: the training loss summed over its tokens, the token count, and the gradient norm before clipping. */
void progress_add(progress *p, double loss_sum, int64_t tokens, double grad_norm);
/* After each update: redraws the live line, and every log_freq steps (or when dev results are given: dev not NULL)
 * writes a log line and a TSV row (NaN scores: empty cells); the interval then restarts. */
void progress_step(progress *p, const progress_step_info *s, const validator_scores *dev);
/* Leaves seconds (spent validating or saving) out of the current interval's tokens per second. */
void progress_exclude(progress *p, double seconds);
/* A message on stderr (ending the live line first), printf-style, newline added; progress_error's also when quiet. */
void progress_message(progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void progress_error(progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Quiet: no log lines, live line, messages or train.tsv (the ranks of a data-parallel run other than 0); errors
 * still show. */
void progress_set_quiet(int quiet);

/* Monotonic seconds. */
double progress_now(void);

#endif

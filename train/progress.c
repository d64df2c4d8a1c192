/* progress.c - live progress line, log lines and the TSV log of xlat-train.
 *
 * Everything goes to stderr (stdout stays free). The TSV is appended row by row with fflush, so a crash loses at most
 * the row being written; a resume first rewrites it (atomically) without the rows past its checkpoint.
 */
#include "progress.h"

#include "io.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char tsv_header[] =
    "step\twall_s\ttrain_loss\tdev_loss\tdev_bleu\tdev_chrf\tlr\ttokens_per_s\tgrad_norm\n";
#define TSV_COLUMNS 9
static int quiet; /* progress_set_quiet */

void progress_set_quiet(int q) { quiet = q; }

double progress_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#define MAX_OLD_COLUMNS 64

/* Splits line at TABs into at most MAX_OLD_COLUMNS cells (starts and lengths); returns how many. */
static int split_cells(const char *line, size_t len, const char **cell, size_t *clen) {
  int n = 0;
  size_t start = 0;
  for (size_t i = 0; i <= len && n < MAX_OLD_COLUMNS; i++)
    if (i == len || line[i] == '\t') cell[n] = line + start, clen[n] = i - start, n++, start = i + 1;
  return n;
}

/* Keeps the header and the rows with step <= last_step of an existing TSV (replaced atomically, io.h). A header
 * other than today's (an older xlat-train's train.tsv) is replaced by today's, and each kept row's cells moved to
 * the columns of the same names; columns it lacks stay empty. */
static int tsv_truncate(const char *path, int64_t last_step) {
  xlat_lines *in;
  if (access(path, F_OK) != 0) return 0;
  xlat_atomic_file out;
  if (xlat_lines_open(path, &in) != XLAT_OK) return -1;
  if (xlat_atomic_open(&out, path) != XLAT_OK) {
    xlat_lines_close(in);
    return -1;
  }
  const char *line, *cell[MAX_OLD_COLUMNS], *names[TSV_COLUMNS];
  size_t len, clen[MAX_OLD_COLUMNS], nlen[TSV_COLUMNS];
  int from[TSV_COLUMNS], convert = 0; /* from[j]: the old column of today's column j, or -1 */
  xlat_status st;
  split_cells(tsv_header, strlen(tsv_header) - 1, names, nlen);
  while ((st = xlat_lines_next(in, &line, &len)) == XLAT_OK && line) {
    if (xlat_lines_number(in) == 1 && (len != strlen(tsv_header) - 1 || memcmp(line, tsv_header, len) != 0)) {
      int n = split_cells(line, len, cell, clen);
      for (int j = 0; j < TSV_COLUMNS; j++) {
        from[j] = -1;
        for (int k = 0; k < n; k++)
          if (clen[k] == nlen[j] && !memcmp(cell[k], names[j], nlen[j])) from[j] = k;
      }
      convert = 1;
      fputs(tsv_header, out.f);
      continue;
    }
    char *end;
    long long step = strtoll(line, &end, 10);
    if (end != line && step > last_step) continue;
    if (!convert || end == line) {
      fprintf(out.f, "%s\n", line);
      continue;
    }
    int n = split_cells(line, len, cell, clen);
    for (int j = 0; j < TSV_COLUMNS; j++) {
      if (j) fputc('\t', out.f);
      if (from[j] >= 0 && from[j] < n) fwrite(cell[from[j]], 1, clen[from[j]], out.f);
    }
    fputc('\n', out.f);
  }
  xlat_lines_close(in);
  if (st != XLAT_OK) {
    xlat_atomic_abort(&out);
    return -1;
  }
  return xlat_atomic_commit(&out) == XLAT_OK ? 0 : -1;
}

int progress_open(progress *p, const char *tsv_path, int64_t resume_step, int64_t log_freq) {
  memset(p, 0, sizeof *p);
  p->tty = isatty(STDERR_FILENO);
  p->log_freq = log_freq;
  p->interval_start = progress_now();
  if (quiet) return 0; /* another rank writes the log */
  if (tsv_truncate(tsv_path, resume_step) != 0) {
    fprintf(stderr, "xlat-train: cannot rewrite %s: %s\n", tsv_path, xlat_last_error());
    return -1;
  }
  p->tsv = fopen(tsv_path, "a");
  if (!p->tsv) {
    fprintf(stderr, "xlat-train: cannot open %s for appending: %s\n", tsv_path, strerror(errno));
    return -1;
  }
  if (ftell(p->tsv) == 0 && (fputs(tsv_header, p->tsv) < 0 || fflush(p->tsv) != 0)) {
    fprintf(stderr, "xlat-train: cannot write %s: %s\n", tsv_path, strerror(errno));
    return -1;
  }
  return 0;
}

void progress_close(progress *p) {
  if (p->line_open) fputc('\n', stderr);
  p->line_open = 0;
  if (p->tsv) fclose(p->tsv);
  p->tsv = NULL;
}

void progress_add(progress *p, double loss_sum, int64_t tokens, double grad_norm) {
  p->loss_sum += loss_sum;
  p->tokens += tokens;
  p->grad_norm_sum += grad_norm;
  p->updates++;
}

/* "1h02m", "12m05s", "42s" */
static void fmt_duration(double s, char *buf, size_t n) {
  if (s < 0 || !isfinite(s)) {
    snprintf(buf, n, "?");
    return;
  }
  long t = (long)(s + 0.5);
  if (t >= 3600)
    snprintf(buf, n, "%ldh%02ldm", t / 3600, t / 60 % 60);
  else if (t >= 60)
    snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
  else
    snprintf(buf, n, "%lds", t);
}

static void fmt_cell(double v, const char *f, char *buf, size_t n) {
  if (isnan(v))
    buf[0] = '\0';
  else
    snprintf(buf, n, f, v);
}

void progress_step(progress *p, const progress_step_info *s, const validator_scores *dev) {
  double now = progress_now(), span = now - p->interval_start;
  double loss = p->tokens ? p->loss_sum / (double)p->tokens : NAN;
  double gnorm = p->updates ? p->grad_norm_sum / (double)p->updates : NAN;
  double tps = span > 0 ? (double)p->tokens / span : 0;
  int row = (s->step % p->log_freq == 0 || dev) && !quiet;
  char eta[32], wall[32];
  fmt_duration(s->eta, eta, sizeof eta);
  fmt_duration(s->wall, wall, sizeof wall);
  if (p->tty && !quiet && (row || now - p->last_draw >= 0.25)) {
    fprintf(stderr, "\r\033[Kepoch %lld  step %lld  loss %.3f  lr %.2e  gnorm %.2f  %.0f tok/s  %s  ETA %s",
            (long long)s->epoch, (long long)s->step, loss, (double)s->lr, gnorm, tps, wall, eta);
    fflush(stderr);
    p->line_open = 1;
    p->last_draw = now;
  }
  if (!row) {
    if (quiet) p->loss_sum = 0, p->tokens = 0, p->grad_norm_sum = 0, p->updates = 0, p->interval_start = now;
    return;
  }
  if (!p->tty && s->step % p->log_freq == 0 && p->tokens > 0)
    fprintf(stderr, "epoch %lld step %lld loss %.4f lr %.3e gnorm %.4f tok/s %.0f time %s ETA %s\n",
            (long long)s->epoch, (long long)s->step, loss, (double)s->lr, gnorm, tps, wall, eta);
  char c_loss[32], c_dev[32], c_bleu[32], c_chrf[32], c_gnorm[32];
  fmt_cell(loss, "%.5f", c_loss, sizeof c_loss);
  fmt_cell(dev ? dev->loss : NAN, "%.5f", c_dev, sizeof c_dev);
  fmt_cell(dev ? dev->bleu : NAN, "%.2f", c_bleu, sizeof c_bleu);
  fmt_cell(dev ? dev->chrf : NAN, "%.2f", c_chrf, sizeof c_chrf);
  fmt_cell(gnorm, "%.5g", c_gnorm, sizeof c_gnorm);
  fprintf(p->tsv, "%lld\t%.1f\t%s\t%s\t%s\t%s\t%.4e\t%.0f\t%s\n", (long long)s->step, s->wall, c_loss, c_dev, c_bleu,
          c_chrf, (double)s->lr, tps, c_gnorm);
  fflush(p->tsv);
  p->loss_sum = 0;
  p->tokens = 0;
  p->grad_norm_sum = 0;
  p->updates = 0;
  p->interval_start = now;
}

void progress_exclude(progress *p, double seconds) { p->interval_start += seconds; }

static void message(progress *p, const char *fmt, va_list ap) {
  if (p && p->line_open) fputc('\n', stderr);
  if (p) p->line_open = 0;
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
}

void progress_message(progress *p, const char *fmt, ...) {
  if (quiet) return;
  va_list ap;
  va_start(ap, fmt);
  message(p, fmt, ap);
  va_end(ap);
}

void progress_error(progress *p, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  message(p, fmt, ap);
  va_end(ap);
}

/* plot.c - `xlat-train plot`: reads each run's train.tsv (progress.c writes it: a header naming the columns, then one
 * row per log interval or validation, a cell left empty where the row has no value) and draws one metric against
 * training minutes (wall_s / 60), one line per run, with the library's SVG writer (svg.h). Columns are found by
 * their header names; "", "-", "nan" and other non-finite cells count as missing; anything else that is not a
 * number stops the command, naming the file, line and column. */
#include "plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "options.h"
#include "xlat.h"

#define MAX_RUNS 256
#define MAX_COLS 64

static const char plot_usage[] =
    "usage: xlat-train plot --output OUT.svg [--metric NAME] [--title T] RUN_DIR[=LABEL] ...\n"
    "Draws a metric from each run's RUN_DIR/train.tsv against training minutes (wall_s / 60) as an SVG line chart,\n"
    "written atomically: one line per run, named LABEL or the directory's name. Rows without the metric (steps\n"
    "without validation) are skipped. RUN_DIR may also name the TSV file itself. --metric: dev_bleu (default),\n"
    "dev_chrf, dev_loss, train_loss, grad_norm or lr.\n";

static const struct {
  const char *column, *title, *axis;
} metrics[] = {{"dev_bleu", "dev BLEU", "dev BLEU"},
               {"dev_loss", "dev loss", "dev cross-entropy (nats per token)"},
               {"train_loss", "training loss", "training loss (label-smoothed, nats per token)"},
               {"dev_chrf", "dev chrF", "dev chrF2"},
               {"grad_norm", "gradient norm", "gradient norm before clipping (mean of the interval)"},
               {"lr", "learning rate", "learning rate"}};
#define NMETRICS (int)(sizeof metrics / sizeof metrics[0])
#define DEV_METRIC(m) ((m) == 0 || (m) == 1 || (m) == 3) /* values only at validations */

typedef struct {
  char *path, *label;
  double *x, *y; /* (n) minutes, metric */
  int32_t n, cap;
} run;

typedef struct {
  const char *p;
  size_t len;
} cell;

/* Splits a line at TABs into at most MAX_COLS cells; returns the number of fields (MAX_COLS + 1 when more). */
static int split(const char *line, size_t len, cell *c) {
  int n = 0;
  size_t start = 0;
  for (size_t i = 0; i <= len; i++)
    if (i == len || line[i] == '\t') {
      if (n == MAX_COLS) return MAX_COLS + 1;
      c[n++] = (cell){line + start, i - start};
      start = i + 1;
    }
  return n;
}

/* 1 with *v set when the cell is a number (NaN for "", "-" or a non-finite value), 0 when it is not a number. */
static int parse_cell(cell c, double *v) {
  char buf[64];
  if (c.len == 0 || (c.len == 1 && c.p[0] == '-')) {
    *v = NAN;
    return 1;
  }
  if (c.len >= sizeof buf) return 0;
  memcpy(buf, c.p, c.len);
  buf[c.len] = '\0';
  char *end;
  double d = strtod(buf, &end);
  if (end == buf || *end != '\0') return 0;
  *v = isfinite(d) ? d : NAN;
  return 1;
}

static int find_column(const cell *c, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (c[i].len == strlen(name) && memcmp(c[i].p, name, c[i].len) == 0) return i;
  return -1;
}

static xlat_status add_point(run *r, double x, double y) {
  if (r->n == r->cap) {
    int32_t cap = r->cap ? 2 * r->cap : 256;
    double *nx = realloc(r->x, sizeof *nx * (size_t)cap);
    if (nx) r->x = nx;
    double *ny = nx ? realloc(r->y, sizeof *ny * (size_t)cap) : NULL;
    if (!ny) return xlat_fail(XLAT_ERR_NOMEM, "%s: out of memory after %d points", r->path, r->n);
    r->y = ny;
    r->cap = cap;
  }
  r->x[r->n] = x, r->y[r->n] = y, r->n++;
  return XLAT_OK;
}

/* Reads column metric of r->path into r against training minutes (wall_s / 60), or against updates (step). A file
 * without that column is an error, or with optional set, a run without points (train.tsv of an older xlat-train). */
static xlat_status read_run(run *r, const char *metric, int by_step, int optional) {
  const char *xname = by_step ? "step" : "wall_s";
  xlat_lines *in;
  xlat_status s = xlat_lines_open(r->path, &in);
  if (s != XLAT_OK) return s;
  int ncols = 0, wall = -1, col = -1;
  cell c[MAX_COLS];
  for (;;) {
    const char *line;
    size_t len;
    if ((s = xlat_lines_next(in, &line, &len)) != XLAT_OK || !line) break;
    long long no = (long long)xlat_lines_number(in);
    int n = split(line, len, c);
    if (xlat_nul_at(line, len) != len) {
      s = xlat_fail(XLAT_ERR_FORMAT, "%s:%lld: a NUL byte at column %zu, expected text", r->path, no,
                    xlat_nul_at(line, len) + 1);
      break;
    }
    if (no == 1) {
      wall = find_column(c, n, xname);
      col = find_column(c, n, metric);
      if (n > MAX_COLS) {
        s = xlat_fail(XLAT_ERR_FORMAT, "%s:1: more than %d columns, expected xlat-train's train.tsv", r->path,
                      MAX_COLS);
        break;
      }
      if (wall >= 0 && col < 0 && optional) break;
      if (wall < 0 || col < 0) {
        s = xlat_fail(XLAT_ERR_FORMAT, "%s:1: header \"%.60s%s\" has no column %s, expected xlat-train's train.tsv "
                      "(step, wall_s, train_loss, dev_loss, dev_bleu, dev_chrf, lr, tokens_per_s, grad_norm)", r->path,
                      line, len > 60 ? "..." : "", wall < 0 ? xname : metric);
        break;
      }
      ncols = n;
      continue;
    }
    double minutes, v;
    if (n != ncols) {
      s = xlat_fail(XLAT_ERR_FORMAT, "%s:%lld: %s%d tab-separated fields, expected %d as in the header", r->path,
                    no, n > MAX_COLS ? "more than " : "", n > MAX_COLS ? MAX_COLS : n, ncols);
      break;
    }
    if (!parse_cell(c[wall], &minutes) || isnan(minutes) || minutes < 0) {
      s = xlat_fail(XLAT_ERR_FORMAT, "%s:%lld: %s is \"%.*s\", expected a number >= 0", r->path, no, xname,
                    (int)(c[wall].len > 40 ? 40 : c[wall].len), c[wall].p);
      break;
    }
    if (!parse_cell(c[col], &v)) {
      s = xlat_fail(XLAT_ERR_FORMAT, "%s:%lld: %s is \"%.*s\", expected a number (or an empty cell, \"-\", \"nan\")",
                    r->path, no, metric, (int)(c[col].len > 40 ? 40 : c[col].len), c[col].p);
      break;
    }
    if (!isnan(v) && (s = add_point(r, by_step ? minutes : minutes / 60.0, v)) != XLAT_OK) break;
  }
  if (s == XLAT_OK && xlat_lines_number(in) == 0)
    s = xlat_fail(XLAT_ERR_FORMAT, "%s: empty, expected a header line naming the columns", r->path);
  xlat_lines_close(in);
  return s;
}

/* The run named by arg: DIR, DIR=LABEL or a TSV file (arg is a path as a whole when one exists). */
static int parse_run(const char *arg, run *r) {
  struct stat st;
  const char *eq = strrchr(arg, '=');
  size_t dir_len = stat(arg, &st) == 0 || !eq ? strlen(arg) : (size_t)(eq - arg);
  char *dir = strndup(arg, dir_len);
  if (!dir) return -1;
  int is_file = stat(dir, &st) == 0 && S_ISREG(st.st_mode);
  size_t n = strlen(dir) + 16;
  r->path = malloc(n);
  if (r->path) snprintf(r->path, n, is_file ? "%s" : "%s/train.tsv", dir);
  /* the label: given, else the run directory's base name (of a file: its directory's) */
  size_t end = strlen(dir);
  if (is_file)
    while (end > 0 && dir[end - 1] != '/') end--;
  while (end > 1 && dir[end - 1] == '/') end--;
  size_t start = end;
  while (start > 0 && dir[start - 1] != '/') start--;
  if (eq && dir_len < strlen(arg) && eq[1])
    r->label = strdup(eq + 1);
  else
    r->label = end > start ? strndup(dir + start, end - start) : strdup(dir);
  free(dir);
  return r->path && r->label ? 0 : -1;
}

int plot_main(int argc, char **argv) {
  const char *out = NULL, *title = NULL, *metric = "dev_bleu";
  const char *args[MAX_RUNS];
  int n = 0, m = 0;
  for (int i = 2; i < argc; i++) {
    const char *v;
    int r = 0;
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      fputs(plot_usage, stdout);
      return 0;
    } else if ((r = xlat_cli_flag(argc, argv, &i, "--output", &v)) > 0) {
      out = v;
    } else if (r == 0 && (r = xlat_cli_flag(argc, argv, &i, "--metric", &v)) > 0) {
      metric = v;
    } else if (r == 0 && (r = xlat_cli_flag(argc, argv, &i, "--title", &v)) > 0) {
      title = v;
    } else if (r < 0) {
      return train_usage_error("missing value after ", argv[i]);
    } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
      return train_usage_error("unknown argument ", argv[i]);
    } else if (n == MAX_RUNS) {
      return train_usage_error("too many runs to plot, at most 256", NULL);
    } else {
      args[n++] = argv[i];
    }
  }
  if (!out || n == 0) return train_usage_error("plot needs --output OUT.svg and at least one run directory", NULL);
  while (m < NMETRICS && strcmp(metric, metrics[m].column)) m++;
  if (m == NMETRICS)
    return train_usage_error("--metric expects dev_bleu, dev_chrf, dev_loss, train_loss, grad_norm or lr, got ",
                             metric);
  run *runs = calloc((size_t)n, sizeof *runs);
  xlat_svg_series *series = calloc((size_t)n, sizeof *series);
  int rc = 1;
  if (!runs || !series) {
    fprintf(stderr, "xlat-train: out of memory\n");
    goto done;
  }
  int32_t points = 0;
  for (int i = 0; i < n; i++) {
    if (parse_run(args[i], &runs[i]) != 0) {
      fprintf(stderr, "xlat-train: out of memory\n");
      goto done;
    }
    if (read_run(&runs[i], metrics[m].column, 0, 0) != XLAT_OK) {
      fprintf(stderr, "xlat-train: %s\n", xlat_last_error());
      goto done;
    }
    if (runs[i].n == 0)
      fprintf(stderr, "xlat-train: warning: %s has no %s values%s\n", runs[i].path, metrics[m].column,
              DEV_METRIC(m) ? " (a run without --valid-src or that metric, or before its first validation)" : "");
    series[i] = (xlat_svg_series){runs[i].label, runs[i].x, runs[i].y, runs[i].n};
    points += runs[i].n;
  }
  if (xlat_svg_line_chart(out, title ? title : metrics[m].title, "training minutes", metrics[m].axis, series, n) !=
      XLAT_OK) {
    fprintf(stderr, "xlat-train: %s\n", xlat_last_error());
    goto done;
  }
  fprintf(stderr, "plotted %s of %d run%s (%d points) into %s\n", metrics[m].column, n, n == 1 ? "" : "s", points,
          out);
  rc = 0;
done:
  for (int i = 0; runs && i < n; i++) free(runs[i].path), free(runs[i].label), free(runs[i].x), free(runs[i].y);
  free(runs);
  free(series);
  return rc;
}

xlat_status plot_training(const char *tsv_path, const char *svg_path) {
  /* train_loss, dev_loss, dev_bleu, dev_chrf against updates (k = 0..3), then against minutes (k = 4..7) */
  static const char *const columns[4] = {"train_loss", "dev_loss", "dev_bleu", "dev_chrf"};
  static const char *const names[4] = {"training loss", "dev loss", "dev BLEU", "dev chrF"};
  run r[8];
  memset(r, 0, sizeof r);
  xlat_status st = XLAT_OK;
  for (int k = 0; k < 8 && st == XLAT_OK; k++) {
    r[k].path = (char *)tsv_path; /* read only */
    st = read_run(&r[k], columns[k % 4], k < 4, k % 4 == 3);
  }
  if (st == XLAT_OK) {
    xlat_svg_series loss[2][2], score[2][2];
    int nscore = 0;
    for (int x = 0; x < 2; x++) {
      for (int k = 0; k < 2; k++)
        loss[x][k] = (xlat_svg_series){names[k], r[4 * x + k].x, r[4 * x + k].y, r[4 * x + k].n};
      nscore = 0;
      for (int k = 2; k < 4; k++)
        if (r[4 * x + k].n > 0)
          score[x][nscore++] = (xlat_svg_series){names[k], r[4 * x + k].x, r[4 * x + k].y, r[4 * x + k].n};
    }
    /* the scores' chart title names what was measured: "Dev BLEU", "Dev chrF" or "Dev BLEU and chrF" */
    char upd[64], min[64], score_axis[32];
    const char *what = r[2].n > 0 && r[3].n > 0 ? "BLEU and chrF" : r[2].n > 0 ? "BLEU" : "chrF";
    snprintf(upd, sizeof upd, "Dev %s against updates", what);
    snprintf(min, sizeof min, "Dev %s against training minutes", what);
    snprintf(score_axis, sizeof score_axis, "dev %s", what);
    const char *loss_axis = "cross-entropy (nats per token)";
    xlat_svg_chart charts[4] = {{"Loss against updates", "updates", loss_axis, loss[0], 2},
                                {upd, "updates", score_axis, score[0], nscore},
                                {"Loss against training minutes", "training minutes", loss_axis, loss[1], 2},
                                {min, "training minutes", score_axis, score[1], nscore}};
    if (nscore > 0) {
      st = xlat_svg_charts(svg_path, charts, 4);
    } else { /* a run validated on loss only: no score charts */
      xlat_svg_chart losses[2] = {charts[0], charts[2]};
      st = xlat_svg_charts(svg_path, losses, 2);
    }
  }
  for (int k = 0; k < 8; k++) free(r[k].x), free(r[k].y);
  return st;
}

/* svg.c - line charts and heatmaps as SVG text (svg.h): no plotting library, one atomic file per picture.
 *
 * Layout is computed from estimated text widths (0.6 em per character, what sans-serif fonts average), so labels
 * of any length get the room they need. Not here: reading the pictures back, fonts, interaction beyond tooltips.
 */
#include "svg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- text --------------------------------------------------------------------------------------------------- */

/* Escaped text goes to a buffer (snprintf-style) or, when f is set, straight to a file. */
typedef struct {
  char *out;
  size_t cap, len;
  FILE *f;
} sink;

static void emit(sink *k, const char *p, size_t n) {
  if (k->f) {
    fwrite(p, 1, n, k->f);
    return;
  }
  for (size_t i = 0; i < n; i++, k->len++)
    if (k->len + 1 < k->cap) k->out[k->len] = p[i];
}

static void escape_into(sink *k, const char *s) {
  static const char fffd[] = "\xEF\xBF\xBD";
  size_t len = strlen(s);
  for (size_t i = 0; i < len;) {
    unsigned char c = (unsigned char)s[i];
    const char *ent = c == '&' ? "&amp;" : c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '"' ? "&quot;"
                    : c == '\'' ? "&apos;" : NULL;
    uint32_t cp;
    size_t n;
    if (ent) {
      emit(k, ent, strlen(ent)), i++;
    } else if (c < 0x80) { /* of the C0 controls XML 1.0 holds TAB, LF and CR; DEL is replaced too */
      int ok = c >= 0x20 ? c != 0x7F : (c == '\t' || c == '\n' || c == '\r');
      emit(k, ok ? s + i : fffd, ok ? 1 : 3), i++;
    } else if ((n = xlat_utf8_decode(s + i, len - i, &cp)) == 0 || cp == 0xFFFE || cp == 0xFFFF) {
      emit(k, fffd, 3), i += n ? n : 1;
    } else {
      emit(k, s + i, n), i += n;
    }
  }
}

size_t xlat_svg_escape(const char *s, char *out, size_t cap) {
  sink k = {out, out ? cap : 0, 0, NULL};
  escape_into(&k, s ? s : "");
  if (k.cap > 0) out[k.len < k.cap ? k.len : k.cap - 1] = '\0';
  return k.len;
}

static void put_text(FILE *f, const char *s) {
  sink k = {NULL, 0, 0, f};
  escape_into(&k, s ? s : "");
}

/* Estimated width in pixels of s at font size px: 0.6 em per character (UTF-8 lead bytes). */
static double text_width(const char *s, double px) {
  size_t chars = 0;
  for (; s && *s; s++) chars += ((unsigned char)*s & 0xC0) != 0x80;
  return 0.6 * px * (double)chars;
}

/* ---- axes ----------------------------------------------------------------------------------------------------- */

/* Heckbert's nice number near x: 1, 2, 5 or 10 times a power of ten, rounded or the next one up. */
static double nice_number(double x, int round) {
  double e = floor(log10(x)), f = x / pow(10.0, e), nf;
  if (round)
    nf = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
  else
    nf = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
  return nf * pow(10.0, e);
}

typedef struct {
  double lo, hi, step;
  int ticks, decimals;
} axis;

/* Loose labelling (Heckbert 1990): the axis spans [lo, hi] rounded out to multiples of a nice step, ~5 ticks. */
static axis nice_axis(double lo, double hi) {
  if (!(hi - lo > 1e-12 * fmax(1.0, fabs(lo)))) {
    double pad = lo != 0.0 ? 0.1 * fabs(lo) : 1.0;
    lo -= pad, hi += pad;
  }
  axis a;
  a.step = nice_number(nice_number(hi - lo, 0) / 4.0, 1);
  a.lo = floor(lo / a.step) * a.step;
  a.hi = ceil(hi / a.step) * a.step;
  a.ticks = (int)floor((a.hi - a.lo) / a.step + 0.5) + 1;
  int d = -(int)floor(log10(a.step));
  a.decimals = d > 0 ? d : 0;
  return a;
}

static void tick_label(const axis *a, int k, char *buf, size_t n) {
  double v = a->lo + k * a->step;
  if (fabs(v) < 1e-9 * a->step) v = 0.0; /* no "-0" */
  snprintf(buf, n, "%.*f", a->decimals, v);
}

/* ---- files ---------------------------------------------------------------------------------------------------- */

static void put_header(FILE *f, double w, double h) {
  fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
             "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
             "font-family=\"sans-serif\" font-size=\"12\">\n"
             "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
          ceil(w), ceil(h), ceil(w), ceil(h));
}

static xlat_status begin(xlat_atomic_file *af, const char *path, double w, double h) {
  xlat_status s = xlat_atomic_open(af, path);
  if (s != XLAT_OK) return s;
  put_header(af->f, w, h);
  return XLAT_OK;
}

static void put_title(FILE *f, const char *title, double w) {
  if (!title || !*title) return;
  fprintf(f, "<text class=\"title\" x=\"%.1f\" y=\"24\" text-anchor=\"middle\" font-size=\"16\" "
             "font-weight=\"bold\">", w / 2);
  put_text(f, title);
  fputs("</text>\n", f);
}

static xlat_status end(xlat_atomic_file *af) {
  fputs("</svg>\n", af->f);
  return xlat_atomic_commit(af);
}

/* ---- line chart ----------------------------------------------------------------------------------------------- */

static const char *const palette[10] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                        "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
static const char *const dashes[3] = {"", " stroke-dasharray=\"7 3\"", " stroke-dasharray=\"2 2\""};

/* A chart's layout: its axes, its plot area and its size. */
typedef struct {
  axis xa, ya;
  double left, top, W, H;
} chart_layout;

static const double plot_w = 560, plot_h = 320;

/* Checks chart c (its series) and lays it out; name says which picture in a message. */
static xlat_status chart_measure(const char *name, const xlat_svg_chart *c, chart_layout *L) {
  if (c->n_series < 0 || (c->n_series > 0 && !c->series))
    return xlat_fail(XLAT_ERR_ARG, "%s: %d series, expected 0 or more", name, c->n_series);
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY, name_w = 0;
  for (int32_t i = 0; i < c->n_series; i++) {
    const xlat_svg_series *s = &c->series[i];
    if (s->n < 0 || (s->n > 0 && (!s->x || !s->y)))
      return xlat_fail(XLAT_ERR_ARG, "%s: series %d has %d points and %s, expected n >= 0 and x, y arrays", name, i,
                       s->n, s->n > 0 ? "a NULL array" : "a negative count");
    name_w = fmax(name_w, text_width(s->name, 12));
    for (int32_t j = 0; j < s->n; j++)
      if (isfinite(s->x[j]) && isfinite(s->y[j]))
        x0 = fmin(x0, s->x[j]), x1 = fmax(x1, s->x[j]), y0 = fmin(y0, s->y[j]), y1 = fmax(y1, s->y[j]);
  }
  if (x0 > x1) x0 = 0, x1 = 1, y0 = 0, y1 = 1; /* nothing to draw: empty unit axes */
  L->xa = nice_axis(x0, x1), L->ya = nice_axis(y0, y1);
  char buf[64];
  double tick_w = 0;
  for (int k = 0; k < L->ya.ticks; k++)
    tick_label(&L->ya, k, buf, sizeof buf), tick_w = fmax(tick_w, text_width(buf, 11));
  L->top = c->title && *c->title ? 44 : 20;
  L->left = (c->y_label && *c->y_label ? 30 : 8) + tick_w + 10;
  double bottom = 30 + (c->x_label && *c->x_label ? 22 : 0);
  L->W = fmax(L->left + plot_w + (c->n_series > 0 ? 16 + 30 + name_w + 12 : 20), text_width(c->title, 16) + 20);
  L->H = L->top + plot_h + bottom;
  return XLAT_OK;
}

/* Draws chart c laid out as L, its title centred in width W. */
static void chart_draw(FILE *f, const xlat_svg_chart *c, const chart_layout *L, double W) {
  const axis *xa = &L->xa, *ya = &L->ya;
  const double left = L->left, top = L->top, pw = plot_w, ph = plot_h;
  char buf[64];
  put_title(f, c->title, W);
#define PX(v) (left + ((v) - xa->lo) / (xa->hi - xa->lo) * pw)
#define PY(v) (top + ph - ((v) - ya->lo) / (ya->hi - ya->lo) * ph)
  fputs("<g class=\"axes\" font-size=\"11\" fill=\"#333\">\n", f);
  for (int k = 0; k < xa->ticks; k++) {
    double x = PX(xa->lo + k * xa->step);
    tick_label(xa, k, buf, sizeof buf);
    fprintf(f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#e4e4e4\"/>"
               "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">%s</text>\n",
            x, top, x, top + ph, x, top + ph + 16, buf);
  }
  for (int k = 0; k < ya->ticks; k++) {
    double y = PY(ya->lo + k * ya->step);
    tick_label(ya, k, buf, sizeof buf);
    fprintf(f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#e4e4e4\"/>"
               "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"end\">%s</text>\n",
            left, y, left + pw, y, left - 6, y + 4, buf);
  }
  fprintf(f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"#333\"/>\n</g>\n",
          left, top, pw, ph);
  if (c->x_label && *c->x_label) {
    fprintf(f, "<text class=\"xlabel\" x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">", left + pw / 2, top + ph + 40);
    put_text(f, c->x_label);
    fputs("</text>\n", f);
  }
  if (c->y_label && *c->y_label) {
    fprintf(f, "<text class=\"ylabel\" transform=\"translate(18 %.2f) rotate(-90)\" text-anchor=\"middle\">",
            top + ph / 2);
    put_text(f, c->y_label);
    fputs("</text>\n", f);
  }
  for (int32_t i = 0; i < c->n_series; i++) {
    const xlat_svg_series *s = &c->series[i];
    const char *colour = palette[i % 10], *dash = dashes[(i / 10) % 3];
    int32_t shown = 0;
    for (int32_t j = 0; j < s->n; j++) shown += isfinite(s->x[j]) && isfinite(s->y[j]);
    fputs("<g class=\"series\"><title>", f);
    put_text(f, s->name);
    fprintf(f, "</title>\n<path fill=\"none\" stroke=\"%s\" stroke-width=\"1.8\"%s d=\"", colour, dash);
    for (int32_t j = 0, pen = 0; j < s->n; j++) {
      if (!(isfinite(s->x[j]) && isfinite(s->y[j]))) {
        pen = 0;
        continue;
      }
      fprintf(f, "%s%.2f %.2f", pen ? " L" : (j ? " M" : "M"), PX(s->x[j]), PY(s->y[j]));
      pen = 1;
    }
    fputs("\"/>\n", f);
    for (int32_t j = 0; shown <= 100 && j < s->n; j++)
      if (isfinite(s->x[j]) && isfinite(s->y[j]))
        fprintf(f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"2.5\" fill=\"%s\"/>\n", PX(s->x[j]), PY(s->y[j]), colour);
    fputs("</g>\n", f);
  }
  fputs("<g class=\"legend\">\n", f);
  for (int32_t i = 0; i < c->n_series; i++) {
    double lx = left + pw + 16, ly = top + 10 + 20 * i;
    fprintf(f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"%s\" stroke-width=\"2\"%s/>"
               "<text x=\"%.2f\" y=\"%.2f\">", lx, ly, lx + 24, ly, palette[i % 10], dashes[(i / 10) % 3], lx + 30,
            ly + 4);
    put_text(f, c->series[i].name);
    fputs("</text>\n", f);
  }
  fputs("</g>\n", f);
#undef PX
#undef PY
}

xlat_status xlat_svg_charts(const char *path, const xlat_svg_chart *charts, int32_t n) {
  if (!path) return xlat_fail(XLAT_ERR_ARG, "line chart: no output path");
  if (n < 1 || !charts) return xlat_fail(XLAT_ERR_ARG, "%s: %d charts, expected at least one", path, n);
  chart_layout *L = malloc(sizeof *L * (size_t)n);
  if (!L) return xlat_fail(XLAT_ERR_NOMEM, "%s: out of memory", path);
  double W = 0, H = 0;
  xlat_status st = XLAT_OK;
  for (int32_t i = 0; i < n && st == XLAT_OK; i++)
    if ((st = chart_measure(path, &charts[i], &L[i])) == XLAT_OK) W = fmax(W, L[i].W), H += L[i].H;
  xlat_atomic_file af;
  if (st == XLAT_OK) st = begin(&af, path, W, H);
  if (st == XLAT_OK) {
    double y = 0;
    for (int32_t i = 0; i < n; i++) {
      if (n > 1) fprintf(af.f, "<g class=\"chart\" transform=\"translate(0 %.0f)\">\n", y);
      chart_draw(af.f, &charts[i], &L[i], W);
      if (n > 1) fputs("</g>\n", af.f);
      y += L[i].H;
    }
    st = end(&af);
  }
  free(L);
  return st;
}

xlat_status xlat_svg_line_chart(const char *path, const char *title, const char *x_label, const char *y_label,
                                const xlat_svg_series *series, int32_t n_series) {
  xlat_svg_chart c = {title, x_label, y_label, series, n_series};
  return xlat_svg_charts(path, &c, 1);
}

/* ---- heatmap -------------------------------------------------------------------------------------------------- */

/* Checks a heatmap's arguments; name says which picture in the message. */
static xlat_status heatmap_check(const char *name, const char *const *row_labels, int32_t rows,
                                 const char *const *col_labels, int32_t cols, const float *values) {
  if (rows < 1 || cols < 1 || rows > 4096 || cols > 4096)
    return xlat_fail(XLAT_ERR_ARG, "%s: heatmap of %d x %d cells, expected 1..4096 rows and columns", name, rows,
                     cols);
  if (!row_labels || !col_labels || !values)
    return xlat_fail(XLAT_ERR_ARG, "%s: heatmap without %s", name, !values ? "values" : "labels");
  return XLAT_OK;
}

/* The whole heatmap (xlat_svg_heatmap's picture) written to f. */
static void heatmap_to(FILE *f, const char *title, const char *const *row_labels, int32_t rows,
                       const char *const *col_labels, int32_t cols, const float *values) {
  const double cell = 26;
  double row_w = 0, col_w = 0;
  for (int32_t r = 0; r < rows; r++) row_w = fmax(row_w, text_width(row_labels[r], 12));
  for (int32_t c = 0; c < cols; c++) col_w = fmax(col_w, text_width(col_labels[c], 12));
  const int upright = col_w + 4 > cell; /* column labels turned to read upwards */
  const double left = 12 + row_w + 8, top = (title && *title ? 40 : 10) + (upright ? col_w + 10 : 20);
  double W = left + cols * cell + 70, H = top + rows * cell + 12;
  W = fmax(W, text_width(title, 16) + 20);
  put_header(f, W, H);
  put_title(f, title, W);
  fputs("<g class=\"columns\">\n", f);
  for (int32_t c = 0; c < cols; c++) {
    double x = left + (c + 0.5) * cell;
    if (upright)
      fprintf(f, "<text transform=\"translate(%.2f %.2f) rotate(-90)\" dy=\"4\">", x, top - 6);
    else
      fprintf(f, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">", x, top - 6);
    put_text(f, col_labels[c]);
    fputs("</text>\n", f);
  }
  fputs("</g>\n<g class=\"rows\" text-anchor=\"end\">\n", f);
  for (int32_t r = 0; r < rows; r++) {
    fprintf(f, "<text x=\"%.2f\" y=\"%.2f\">", left - 6, top + (r + 0.5) * cell + 4);
    put_text(f, row_labels[r]);
    fputs("</text>\n", f);
  }
  fputs("</g>\n<g class=\"cells\">\n", f);
  for (int32_t r = 0; r < rows; r++)
    for (int32_t c = 0; c < cols; c++) {
      float v = values[(size_t)r * cols + c];
      char fill[32] = "#bbbbbb";
      if (isfinite(v)) { /* white to rgb(8,48,107) */
        double t = v < 0 ? 0 : v > 1 ? 1 : v;
        snprintf(fill, sizeof fill, "rgb(%d,%d,%d)", (int)lround(255 - 247 * t), (int)lround(255 - 207 * t),
                 (int)lround(255 - 148 * t));
      }
      fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.0f\" height=\"%.0f\" fill=\"%s\"><title>", left + c * cell,
              top + r * cell, cell, cell, fill);
      put_text(f, row_labels[r]);
      fputs(" / ", f);
      put_text(f, col_labels[c]);
      fprintf(f, ": %.3f</title></rect>\n", (double)v);
    }
  double bx = left + cols * cell + 16, bh = fmin(rows * cell, 160);
  fprintf(f, "</g>\n<defs><linearGradient id=\"shade\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">"
             "<stop offset=\"0\" stop-color=\"rgb(255,255,255)\"/><stop offset=\"1\" stop-color=\"rgb(8,48,107)\"/>"
             "</linearGradient></defs>\n<g class=\"colourbar\" font-size=\"11\">"
             "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"%.1f\" fill=\"url(#shade)\" stroke=\"#333\"/>"
             "<text x=\"%.1f\" y=\"%.1f\">1</text><text x=\"%.1f\" y=\"%.1f\">0</text></g>\n",
          bx, top, bh, bx + 16, top + 9, bx + 16, top + bh);
  fputs("</svg>\n", f);
}

xlat_status xlat_svg_heatmap(const char *path, const char *title, const char *const *row_labels, int32_t rows,
                             const char *const *col_labels, int32_t cols, const float *values) {
  if (!path) return xlat_fail(XLAT_ERR_ARG, "heatmap: no output path");
  xlat_status st = heatmap_check(path, row_labels, rows, col_labels, cols, values);
  xlat_atomic_file af;
  if (st == XLAT_OK) st = xlat_atomic_open(&af, path);
  if (st != XLAT_OK) return st;
  heatmap_to(af.f, title, row_labels, rows, col_labels, cols, values);
  return xlat_atomic_commit(&af);
}

xlat_status xlat_svg_heatmap_text(const char *title, const char *const *row_labels, int32_t rows,
                                  const char *const *col_labels, int32_t cols, const float *values, char **out,
                                  size_t *len) {
  *out = NULL;
  *len = 0;
  xlat_status st = heatmap_check("heatmap", row_labels, rows, col_labels, cols, values);
  if (st != XLAT_OK) return st;
  FILE *f = open_memstream(out, len);
  if (!f) return xlat_fail(XLAT_ERR_NOMEM, "heatmap: out of memory");
  heatmap_to(f, title, row_labels, rows, col_labels, cols, values);
  int bad = ferror(f);
  if (fclose(f) != 0 || bad) {
    free(*out);
    *out = NULL;
    return xlat_fail(XLAT_ERR_NOMEM, "heatmap: out of memory");
  }
  return XLAT_OK;
}

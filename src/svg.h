/* svg.h - pictures without dependencies: line charts (training curves) and heatmaps (attention) written as SVG, a
 * text format every browser shows. Part of libxlat's public interface: xlat.h includes it (include xlat.h).
 *
 * Every picture is written with io.h's atomic writer (PATH.tmp, fsync, rename), so a crash never leaves half a
 * file; a failure returns XLAT_ERR_IO (or XLAT_ERR_ARG for bad arguments) with a message naming PATH. Text (titles,
 * labels, series names) is escaped for XML; valid UTF-8 passes through, and what XML cannot hold (invalid UTF-8,
 * control characters) becomes U+FFFD, so the file is always well-formed. The library keeps no caller pointer.
 */
#ifndef XLAT_SVG_H
#define XLAT_SVG_H

#include <stddef.h>
#include <stdint.h>

#include "io.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One named line of a chart: n points (x[i], y[i]); a point with a non-finite coordinate is left out and breaks the
 * line there. */
typedef struct {
  const char *name; /* legend text */
  const double *x;  /* (n) */
  const double *y;  /* (n) */
  int32_t n;
} xlat_svg_series;

/* A line chart of n_series series (0 gives empty axes), each in its own colour (ten distinct colours, then the same
 * colours dashed), with a legend of the names, axes whose ticks are "nice" numbers (1, 2 or 5 times a power of ten;
 * Heckbert, Graphics Gems 1990) spanning every finite point, and markers on series of at most 100 points. title,
 * x_label and y_label may be NULL. */
xlat_status xlat_svg_line_chart(const char *path, const char *title, const char *x_label, const char *y_label,
                                const xlat_svg_series *series, int32_t n_series);

/* One chart of a picture of several (xlat_svg_charts). */
typedef struct {
  const char *title, *x_label, *y_label; /* each may be NULL */
  const xlat_svg_series *series;
  int32_t n_series;
} xlat_svg_chart;

/* n >= 1 charts, each drawn as xlat_svg_line_chart draws one, stacked top to bottom in one picture. */
xlat_status xlat_svg_charts(const char *path, const xlat_svg_chart *charts, int32_t n);

/* A heatmap of values (rows,cols), row-major, each cell shaded from white (0) to dark blue (1) (values are clamped
 * to [0,1]; a non-finite value is grey), with row labels on the left, column labels on top (turned upright when
 * wider than a cell), a colour bar, and each cell's row, column and value as its tooltip. title may be NULL; labels
 * must not. XLAT_ERR_ARG when rows or cols is below 1 or above 4096. */
xlat_status xlat_svg_heatmap(const char *path, const char *title, const char *const *row_labels, int32_t rows,
                             const char *const *col_labels, int32_t cols, const float *values /* (rows,cols) */);

/* The same heatmap as text in memory: *out (malloc'ed, NUL-terminated; the caller frees it), *len bytes. */
xlat_status xlat_svg_heatmap_text(const char *title, const char *const *row_labels, int32_t rows,
                                  const char *const *col_labels, int32_t cols, const float *values, char **out,
                                  size_t *len);

/* s escaped for XML text and attributes (& < > " ' as entities; invalid UTF-8 and characters XML 1.0 cannot hold as
 * U+FFFD; NULL as "") into out, snprintf-style: at most cap - 1 bytes and a NUL when cap > 0; returns the length of
 * the whole escaped text, so a return value >= cap means out was too small (out may be NULL when cap is 0). */
size_t xlat_svg_escape(const char *s, char *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif

/* input.h - reading reference and hypothesis files the way sacreBLEU's command line does (part of the metrics
 * library so that tests can reach it; the metric functions themselves never touch files). */
#ifndef XLAT_EVAL_INPUT_H
#define XLAT_EVAL_INPUT_H

#include <stdint.h>

typedef struct {
  char **line; /* NUL-terminated (no NUL inside), rstripped (Python str.rstrip()), valid UTF-8 */
  int64_t n;
  char *buf; /* owns the text of every line */
} xm_lines;

/* Reads path ("-" = stdin; .gz read through zlib). universal = 0: lines end at "\n" only (sacreBLEU opens files
 * with newline="\n"); universal = 1: "\n", "\r\n" and a lone "\r" end a line (its stdin), and an empty input is
 * one empty line. Each line is checked for UTF-8 and for NUL bytes (errors name the file and line) and rstripped.
 * Returns 0, or -1 with xlat_metrics_error() set. */
int xm_read_lines(const char *path, int universal, xm_lines *out);
void xm_lines_free(xm_lines *l);

/* Splits every line of in at TAB into nfields (0: the field count of the first line) new line sets;
 * a line with another field count is an error naming it. out[k] borrow in's text (free in last). */
int xm_split_fields(const xm_lines *in, int *nfields, xm_lines **out);

#endif

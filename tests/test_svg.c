/* test_svg.c - the SVG writer (src/svg.c): XML escaping (entities, UTF-8 kept, what XML cannot hold replaced,
 * snprintf-style truncation), a line chart and a heatmap written and read back (the elements, series names, colours,
 * nice tick labels, escaped labels, upright column labels, shades), well-formed XML by python3's parser, atomic
 * writing (no PATH.tmp left), and failures that name the file. */
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "xlat.h"

/* The whole file, NUL-terminated (malloc'ed), or NULL. */
static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  if (s && fread(s, 1, (size_t)n, f) != (size_t)n) s[0] = '\0';
  if (s) s[n] = '\0';
  fclose(f);
  return s;
}

static int count(const char *s, const char *what) {
  int n = 0;
  for (const char *p = s; (p = strstr(p, what)) != NULL; p += strlen(what)) n++;
  return n;
}

/* 1 when python3's XML parser reads path and its root is an SVG element. */
static int well_formed(const char *path) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd,
           "python3 -c \"import sys, xml.etree.ElementTree as E; r = E.parse(sys.argv[1]).getroot(); "
           "sys.exit(r.tag != '{http://www.w3.org/2000/svg}svg')\" '%s'", path);
  return system(cmd) == 0;
}

static int tmp_left(const char *path) {
  char tmp[600];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  return access(tmp, F_OK) == 0;
}

static void test_escape(void) {
  char buf[128];
  CHECK(xlat_svg_escape("a&b<c>\"d'e", buf, sizeof buf) == strlen("a&amp;b&lt;c&gt;&quot;d&apos;e"));
  CHECK(strcmp(buf, "a&amp;b&lt;c&gt;&quot;d&apos;e") == 0);
  CHECK(xlat_svg_escape("\xE2\x96\x81" "Ein Haus \xC3\xBC", buf, sizeof buf) == 14);
  CHECK(strcmp(buf, "\xE2\x96\x81" "Ein Haus \xC3\xBC") == 0); /* "▁Ein Haus ü" unchanged */
  xlat_svg_escape("x\xFFy\x01z\tw\x7F", buf, sizeof buf);   /* invalid byte, C0 control, TAB, DEL */
  CHECK(strcmp(buf, "x\xEF\xBF\xBDy\xEF\xBF\xBDz\tw\xEF\xBF\xBD") == 0);
  xlat_svg_escape("\xE2\x96", buf, sizeof buf); /* truncated sequence */
  CHECK(strcmp(buf, "\xEF\xBF\xBD\xEF\xBF\xBD") == 0);
  xlat_svg_escape("\xEF\xBF\xBF", buf, sizeof buf); /* U+FFFF is no XML character */
  CHECK(strcmp(buf, "\xEF\xBF\xBD") == 0);
  CHECK(xlat_svg_escape("<<<<", buf, 6) == 16 && strcmp(buf, "&lt;&") == 0); /* snprintf-style */
  CHECK(xlat_svg_escape("a&b", NULL, 0) == 7);
  CHECK(xlat_svg_escape("", buf, sizeof buf) == 0 && buf[0] == '\0');
}

static void test_chart(void) {
  const char *path = test_tmp("chart.svg");
  double x1[] = {0.5, 2.0, 3.5, 5.0}, y1[] = {3.1, 17.0, 28.4, 37.9};
  double x2[] = {0.5, 2.0, 3.5, 5.0, 6.5}, y2[] = {2.0, NAN, 20.0, 30.5, 33.0};
  xlat_svg_series s[2] = {{"base <dropout 0.1>", x1, y1, 4}, {"\xE2\x96\x81" "run & co's", x2, y2, 5}};
  CHECK(xlat_svg_line_chart(path, "dev BLEU \"Multi30k\"", "training minutes", "dev BLEU", s, 2) == XLAT_OK);
  char *t = slurp(path);
  CHECK(t != NULL);
  if (!t) return;
  CHECK(strncmp(t, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg ", 44) == 0);
  CHECK(strcmp(t + strlen(t) - 7, "</svg>\n") == 0);
  CHECK(strstr(t, ">dev BLEU &quot;Multi30k&quot;</text>") != NULL);
  CHECK(strstr(t, ">training minutes</text>") != NULL);
  CHECK(strstr(t, "rotate(-90)\" text-anchor=\"middle\">dev BLEU</text>") != NULL);
  CHECK(count(t, "base &lt;dropout 0.1&gt;") == 2); /* tooltip and legend */
  CHECK(count(t, "\xE2\x96\x81" "run &amp; co&apos;s") == 2);
  CHECK(count(t, "<g class=\"series\">") == 2 && count(t, "<path ") == 2);
  CHECK(strstr(t, "stroke=\"#1f77b4\"") != NULL && strstr(t, "stroke=\"#ff7f0e\"") != NULL);
  CHECK(count(t, "<circle ") == 8); /* markers on the finite points */
  CHECK(count(t, " M") == 1);       /* the NaN breaks the second line once */
  /* y spans 2..37.9: nice ticks 0, 10, 20, 30, 40; x spans 0.5..6.5: 0, 2, 4, 6, 8 */
  const char *yt[] = {">0</text>", ">10</text>", ">20</text>", ">30</text>", ">40</text>", ">8</text>"};
  for (int i = 0; i < 6; i++) CHECK(strstr(t, yt[i]) != NULL);
  CHECK(strstr(t, ">50</text>") == NULL && strstr(t, ">-10</text>") == NULL);
  free(t);
  CHECK(!tmp_left(path));
  CHECK(well_formed(path));

  /* fractional ticks, one point, no series, no labels */
  double xs[] = {100}, ys[] = {0.25};
  xlat_svg_series one = {"only", xs, ys, 1};
  CHECK(xlat_svg_line_chart(path, NULL, NULL, NULL, &one, 1) == XLAT_OK);
  t = slurp(path);
  CHECK(t && strstr(t, ">0.24</text>") && strstr(t, ">0.26</text>") && strstr(t, ">100</text>")); /* 0.25 padded */
  CHECK(t && count(t, "<circle ") == 1 && !strstr(t, "class=\"title\"") && !strstr(t, "class=\"xlabel\""));
  free(t);
  CHECK(xlat_svg_line_chart(path, "empty", "x", "y", NULL, 0) == XLAT_OK && well_formed(path));
  /* twelve series: colours repeat dashed */
  double xx[] = {0, 1}, yy[] = {0, 1};
  xlat_svg_series many[12];
  char names[12][16];
  for (int i = 0; i < 12; i++) {
    snprintf(names[i], sizeof names[i], "run %d", i);
    many[i] = (xlat_svg_series){names[i], xx, yy, 2};
  }
  CHECK(xlat_svg_line_chart(path, "many", "x", "y", many, 12) == XLAT_OK);
  t = slurp(path);
  CHECK(t && count(t, "stroke-dasharray") == 4 && strstr(t, ">run 11</text>") != NULL);
  free(t);
}

static void test_heatmap(void) {
  const char *path = test_tmp("attention.svg");
  const char *rows[] = {"\xE2\x96\x81" "Ein", "\xE2\x96\x81" "Hund", "</s>"};
  const char *cols[] = {"\xE2\x96\x81" "A", "b", "'s"};
  float v[] = {1.0f, 0.0f, 0.0f, 0.1f, 0.8f, 0.1f, 0.2f, 0.3f, 0.5f};
  CHECK(xlat_svg_heatmap(path, "attention <first line>", rows, 3, cols, 3, v) == XLAT_OK);
  char *t = slurp(path);
  CHECK(t != NULL);
  if (!t) return;
  CHECK(strstr(t, ">attention &lt;first line&gt;</text>") != NULL);
  CHECK(count(t, "<rect ") == 9 + 2); /* cells, background, colour bar */
  CHECK(strstr(t, ">&lt;/s&gt;</text>") != NULL && strstr(t, ">\xE2\x96\x81" "Hund</text>") != NULL);
  CHECK(strstr(t, ">&apos;s</text>") != NULL && strstr(t, ">\xE2\x96\x81" "A</text>") != NULL);
  CHECK(count(t, "fill=\"rgb(8,48,107)\"") == 1 && count(t, "fill=\"rgb(255,255,255)\"") == 2);
  CHECK(strstr(t, "<title>\xE2\x96\x81" "Hund / b: 0.800</title>") != NULL);
  CHECK(strstr(t, "rotate(-90)") == NULL); /* short labels fit a cell */
  char *mem = NULL; /* the in-memory picture (the service's) is the file's, byte for byte */
  size_t mem_len = 0;
  CHECK(xlat_svg_heatmap_text("attention <first line>", rows, 3, cols, 3, v, &mem, &mem_len) == XLAT_OK);
  CHECK(mem && mem_len == strlen(t) && strcmp(mem, t) == 0);
  free(mem);
  CHECK(xlat_svg_heatmap_text(NULL, rows, 0, cols, 3, v, &mem, &mem_len) == XLAT_ERR_ARG && mem == NULL);
  free(t);
  CHECK(!tmp_left(path));
  CHECK(well_formed(path));

  const char *long_cols[] = {"\xE2\x96\x81" "dog", "x\x01y"}; /* 4 characters are wider than a cell */
  float w[] = {0.5f, NAN};
  CHECK(xlat_svg_heatmap(path, NULL, rows, 1, long_cols, 2, w) == XLAT_OK);
  t = slurp(path);
  CHECK(t && count(t, "rotate(-90)") == 2 && strstr(t, "fill=\"#bbbbbb\"") != NULL);
  free(t);
  CHECK(well_formed(path));
}

static void test_failures_name_the_file(void) {
  const char *path = test_tmp("no/such/dir/plot.svg");
  double x[] = {1}, y[] = {1};
  xlat_svg_series s = {"a", x, y, 1};
  CHECK(xlat_svg_line_chart(path, "t", "x", "y", &s, 1) == XLAT_ERR_IO);
  CHECK(strstr(xlat_last_error(), "no/such/dir/plot.svg") != NULL);
  const char *lab[] = {"a"};
  float v[] = {0.5f};
  CHECK(xlat_svg_heatmap(path, "t", lab, 1, lab, 1, v) == XLAT_ERR_IO);
  CHECK(strstr(xlat_last_error(), "no/such/dir/plot.svg") != NULL);
  CHECK(access(path, F_OK) != 0);
  const char *ok = test_tmp("bad.svg");
  CHECK(xlat_svg_heatmap(ok, "t", lab, 0, lab, 1, v) == XLAT_ERR_ARG && strstr(xlat_last_error(), "bad.svg"));
  xlat_svg_series neg = {"a", x, y, -1};
  CHECK(xlat_svg_line_chart(ok, "t", "x", "y", &neg, 1) == XLAT_ERR_ARG && strstr(xlat_last_error(), "bad.svg"));
  CHECK(access(ok, F_OK) != 0);
}

int main(void) {
  test_escape();
  test_chart();
  test_heatmap();
  test_failures_name_the_file();
  TEST_END();
}

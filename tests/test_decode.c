/* test_decode.c - text clean-up and sentence splitter (src/text.c), and xlat-decode's output formats (decode/output.c
 * is compiled in directly: it belongs to the program, not the library). */
#include <string.h>

#include "../decode/output.c"
#include "test.h"

static int sanitized_is(const char *in, size_t len, const char *want, size_t want_bad) {
  char out[256];
  size_t bad = 99, n = xlat_text_sanitize(in, len, out, &bad);
  int ok = n == strlen(want) && memcmp(out, want, n) == 0 && out[n] == '\0' && bad == want_bad;
  if (!ok) fprintf(stderr, "sanitize gave \"%s\" (%zu invalid), expected \"%s\" (%zu)\n", out, bad, want, want_bad);
  return ok;
}

/* The sentences of s joined with " | ". */
static const char *split(const char *s) {
  static char buf[1024];
  xlat_text_span spans[16];
  size_t n = xlat_text_split_sentences(s, strlen(s), spans, 16), at = 0;
  CHECK(n == xlat_text_split_sentences(s, strlen(s), NULL, 0));
  buf[0] = '\0';
  for (size_t i = 0; i < n && i < 16; i++)
    at += (size_t)snprintf(buf + at, sizeof buf - at, "%s%.*s", i ? " | " : "", (int)spans[i].len, s + spans[i].start);
  return buf;
}

#define CHECK_SPLIT(in, want)                                                                                      \
  do {                                                                                                             \
    const char *got_ = split(in);                                                                                  \
    CHECK(strcmp(got_, want) == 0);                                                                                \
    if (strcmp(got_, want)) fprintf(stderr, "  split gave: %s\n", got_);                                           \
  } while (0)

/* What out_line writes for n segments, as a string. */
static const char *formatted(out_format fmt, int64_t number, const xlat_seg_result *segs, int32_t n, int32_t n_best) {
  static char buf[2048];
  FILE *f = tmpfile();
  CHECK(f != NULL);
  CHECK(out_line(f, fmt, number, segs, n, n_best) == 0);
  long len = ftell(f);
  rewind(f);
  size_t got = fread(buf, 1, sizeof buf - 1, f);
  buf[got] = '\0';
  CHECK((long)got == len);
  fclose(f);
  return buf;
}

#define CHECK_FORMAT(fmt, number, segs, n, n_best, want)                                                           \
  do {                                                                                                             \
    const char *got_ = formatted(fmt, number, segs, n, n_best);                                                    \
    CHECK(strcmp(got_, want) == 0);                                                                                \
    if (strcmp(got_, want)) fprintf(stderr, "  got:  %s  want: %s", got_, want);                                   \
  } while (0)

static void test_output(void) {
  int32_t ids_a[2] = {10, 11}, al_a[2] = {1, 0}, ids_b[1] = {12}, al_b[1] = {0}, ids_c[3] = {20, 21, 22};
  xlat_seg_hyp a[2] = {{"Ein \"Hund\"", -1.5f, -3.0f, ids_a, 2, al_a}, {"Hund", -2.0f, -4.0f, ids_a, 1, al_a}};
  xlat_seg_hyp b[1] = {{"läuft\\.", -0.25f, -0.5f, ids_b, 1, al_b}};
  xlat_seg_hyp c[1] = {{"", 0.0f, 0.0f, ids_c, 0, NULL}};
  xlat_seg_result two[2] = {{3, 2, a}, {2, 1, b}};
  CHECK_FORMAT(FORMAT_TEXT, 0, two, 2, 1, "Ein \"Hund\" läuft\\.\n");
  CHECK_FORMAT(FORMAT_TEXT, 0, two, 0, 1, "\n"); /* an empty line stays one empty line */
  xlat_seg_result empty_output[1] = {{1, 1, c}};
  CHECK_FORMAT(FORMAT_TEXT, 0, empty_output, 1, 1, "\n");
  CHECK_FORMAT(FORMAT_SCORES, 0, two, 2, 1, "-1.750000\tEin \"Hund\" läuft\\.\n");
  CHECK_FORMAT(FORMAT_IDS, 0, two, 2, 1, "10 11 12\n");
  /* the second segment's positions are offset by the first's source (3) and output (2) lengths */
  CHECK_FORMAT(FORMAT_ALIGN, 0, two, 2, 1, "Ein \"Hund\" läuft\\. ||| 1-0 0-1 3-2\n");
  /* n-best: the k-th entries joined, a segment with fewer hypotheses repeats its last */
  CHECK_FORMAT(FORMAT_NBEST, 7, two, 2, 2,
               "7 ||| Ein \"Hund\" läuft\\. ||| -1.750000\n7 ||| Hund läuft\\. ||| -2.250000\n");
  CHECK_FORMAT(FORMAT_NBEST, 8, two, 0, 2, "8 |||  ||| 0.000000\n");
  CHECK_FORMAT(FORMAT_JSON, 4, two, 2, 2,
               "{\"line\": 5, \"translation\": \"Ein \\\"Hund\\\" läuft\\\\.\", \"score\": -1.750000, "
               "\"ids\": [10, 11, 12], \"alignment\": [[1, 0], [0, 1], [3, 2]], \"nbest\": [{\"translation\": "
               "\"Ein \\\"Hund\\\" läuft\\\\.\", \"score\": -1.750000}, {\"translation\": \"Hund läuft\\\\.\", "
               "\"score\": -2.250000}]}\n");
  CHECK_FORMAT(FORMAT_JSON, 0, two, 0, 1, "{\"line\": 1, \"translation\": \"\", \"score\": 0.000000, \"ids\": [], "
                                          "\"alignment\": []}\n");
  FILE *f = tmpfile();
  CHECK(out_score(f, FORMAT_TEXT, 0, -1.25f, -2.5f, 3) == 0 && ftell(f) == 10);
  CHECK(out_score(f, FORMAT_JSON, 0, -INFINITY, -INFINITY, 3) == 0);
  fclose(f);
}

int main(void) {
  test_output();
  /* valid UTF-8 passes unchanged */
  CHECK(sanitized_is("Grüße, 世界 😀", strlen("Grüße, 世界 😀"), "Grüße, 世界 😀", 0));
  /* each invalid byte becomes U+FFFD: a lone continuation byte, a cut sequence, an overlong form, a surrogate */
  CHECK(sanitized_is("a\x80z", 3, "a\xEF\xBF\xBDz", 1));
  CHECK(sanitized_is("a\xC3", 2, "a\xEF\xBF\xBD", 1));
  CHECK(sanitized_is("\xC0\xAF", 2, "\xEF\xBF\xBD\xEF\xBF\xBD", 2));
  CHECK(sanitized_is("\xED\xA0\x80", 3, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD", 3));
  CHECK(sanitized_is("\xF4\x90\x80\x80", 4, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD", 4));
  /* control characters (NUL, TAB, CR, ESC, DEL, C1 NEL, U+2028) become spaces: one output line, always */
  CHECK(sanitized_is("a\0b\tc\rd\x1b" "e\x7f" "f\xC2\x85g\xE2\x80\xA8h", 18, "a b c d e f g h", 0));
  CHECK(sanitized_is("", 0, "", 0));

  CHECK(xlat_text_blank("", 0));
  CHECK(xlat_text_blank(" \t ", 3));
  CHECK(!xlat_text_blank(" x ", 3));

  CHECK_SPLIT("One sentence.", "One sentence.");
  CHECK_SPLIT("A dog runs. A cat sleeps!  Why? Because.", "A dog runs. | A cat sleeps! | Why? | Because.");
  CHECK_SPLIT("  leading and trailing spaces.  Next one.  ", "leading and trailing spaces. | Next one.");
  /* closing quotes and brackets stay with their sentence */
  CHECK_SPLIT("He said \"stop.\" Then he left.", "He said \"stop.\" | Then he left.");
  CHECK_SPLIT("(It rains.) The end.", "(It rains.) | The end.");
  /* no split before a lowercase word, after abbreviations or initials, inside numbers */
  CHECK_SPLIT("It costs 3.50 dollars. ok then.", "It costs 3.50 dollars. ok then.");
  CHECK_SPLIT("Mr. Smith met Dr. Jones. They talked.", "Mr. Smith met Dr. Jones. | They talked.");
  CHECK_SPLIT("J. R. R. Tolkien wrote it. Yes.", "J. R. R. Tolkien wrote it. | Yes.");
  CHECK_SPLIT("Zum Beispiel z.B. Äpfel. Über alles.", "Zum Beispiel z.B. Äpfel. | Über alles.");
  CHECK_SPLIT("Wait... What?! Fine…  Go.", "Wait... | What?! | Fine… | Go.");
  /* CJK full stops need no space */
  CHECK_SPLIT("今日は晴れ。明日は雨！本当？", "今日は晴れ。 | 明日は雨！ | 本当？");
  /* no text, no sentence; a paragraph without a terminator is one sentence */
  CHECK(xlat_text_split_sentences("   ", 3, NULL, 0) == 0);
  CHECK_SPLIT("no final period", "no final period");
  /* invalid bytes do not stop the scan */
  CHECK_SPLIT("Bad \x80 byte. Next.", "Bad \x80 byte. | Next.");
  /* more sentences than room: the count is still right */
  xlat_text_span one[1];
  CHECK(xlat_text_split_sentences("Go. Run. Stop.", 14, one, 1) == 3 && one[0].start == 0 && one[0].len == 3);
  TEST_END();
}

/* test_chrf.c - chrF / chrF++ against values worked out by hand from sacreBLEU's metrics/chrf.py: character n-grams
 * without whitespace, effective-order averaging of precision and recall, the hypothesis count reported as 0 when
 * the reference has no n-gram of an order, chrF++'s punctuation split, best reference, eps smoothing, beta. */
#include <math.h>
#include <string.h>

#include "metrics.h"
#include "test.h"

static double chrf(const char *h, const char *r, const xlat_chrf_options *o) {
  double s = -1;
  CHECK(xlat_chrf_sentence(h, &r, 1, o, &s) == 0);
  return s;
}

static double fbeta(double p, double r, double beta) { return 100 * (1 + beta * beta) * p * r / (beta * beta * p + r); }

int main(void) {
  const double tol = 1e-12;
  xlat_chrf_options o;
  xlat_chrf_options_default(&o);
  CHECK_CLOSE(chrf("ab", "ab", &o), 100.0, tol);
  /* a,b,c vs a,b,d: 2/3; ab,bc vs ab,bd: 1/2; abc vs abd: 0/1; orders 4..6 have no n-grams */
  CHECK_CLOSE(chrf("abc", "abd", &o), fbeta(7.0 / 18, 7.0 / 18, 2), tol);
  CHECK_CLOSE(chrf("a bc", "ab  d", &o), fbeta(7.0 / 18, 7.0 / 18, 2), tol); /* whitespace removed */
  /* reference has no 3-grams: order 3 is [0, 0, 0]; P = (2/4 + 1/3) / 2, R = 1 */
  const char *h[] = {"abcd"}, *r[] = {"ab"};
  const char *const *rs[] = {r};
  int64_t st[18];
  CHECK(xlat_chrf_stats(h, rs, 1, 1, &o, st) == 0);
  CHECK(st[0] == 4 && st[1] == 2 && st[2] == 2 && st[3] == 3 && st[4] == 1 && st[5] == 1);
  CHECK(st[6] == 0 && st[7] == 0 && st[8] == 0);
  CHECK_CLOSE(chrf("abcd", "ab", &o), fbeta(5.0 / 12, 1.0, 2), tol);
  CHECK_CLOSE(xlat_chrf_from_stats(st, &o), fbeta(5.0 / 12, 1.0, 2), tol);
  /* beta 1 */
  o.beta = 1;
  CHECK_CLOSE(chrf("abcd", "ab", &o), fbeta(5.0 / 12, 1.0, 1), tol);
  o.beta = 2;
  /* case: uppercase differs unless --chrf-lowercase (Python lower: U+0130 -> i + U+0307) */
  CHECK_CLOSE(chrf("AB", "ab", &o), 0.0, 0);
  o.lowercase = 1;
  CHECK_CLOSE(chrf("AB", "ab", &o), 100.0, tol);
  CHECK_CLOSE(chrf("\xc4\xb0", "i\xcc\x87", &o), 100.0, tol);
  o.lowercase = 0;
  /* --chrf-whitespace keeps spaces: "a b" vs "ab": 1-grams a,' ',b vs a,b: 2/3, 2/2; 2-grams 0/2 of 1 */
  o.whitespace = 1;
  CHECK_CLOSE(chrf("a b", "ab", &o), fbeta((2.0 / 3 + 0) / 2, (1.0 + 0) / 2, 2), tol);
  o.whitespace = 0;
  /* eps smoothing: every order counts, empty ones with F = eps (1e-16) */
  o.eps_smoothing = 1;
  {
    double f1 = fbeta(2.0 / 3, 2.0 / 3, 2) / 100, f2 = fbeta(0.5, 0.5, 2) / 100;
    double f3 = 1e-16; /* 0/1 both: P = R = 0, denominator 0 -> eps */
    double f456 = fbeta(1e-16, 1e-16, 2) / 100;
    CHECK_CLOSE(chrf("abc", "abd", &o), 100 * (f1 + f2 + f3 + 3 * f456) / 6, tol);
  }
  o.eps_smoothing = 0;
  /* chrF++: "(hi)" -> "(hi" ")" (only one character split off), reference "( hi )" has 3 words;
   * characters identical (orders 1..4 P = R = 1, 5 and 6 empty), words: 1/2 vs 1/3, bigrams 0/1 vs 0/2 */
  o.word_order = 2;
  const char *h2[] = {"(hi)"}, *r2[] = {"( hi )"};
  const char *const *rs2[] = {r2};
  int64_t st2[24];
  CHECK(xlat_chrf_stats(h2, rs2, 1, 1, &o, st2) == 0);
  CHECK(st2[18] == 2 && st2[19] == 3 && st2[20] == 1 && st2[21] == 1 && st2[22] == 2 && st2[23] == 0);
  CHECK_CLOSE(chrf("(hi)", "( hi )", &o), fbeta((4 + 0.5 + 0) / 6, (4 + 1.0 / 3 + 0) / 6, 2), tol);
  /* "word," splits the comma: "the cat," vs "the cat ," are equal */
  CHECK_CLOSE(chrf("the cat,", "the cat ,", &o), 100.0, tol);
  o.word_order = 0;
  /* several references: the best sentence F wins, its statistics are used */
  const char *h3[] = {"abc"}, *ra[] = {"xyz"}, *rb[] = {"abc"};
  const char *const *rs3[] = {ra, rb};
  double s = 0;
  CHECK(xlat_chrf_corpus(h3, rs3, 1, 2, &o, &s) == 0);
  CHECK_CLOSE(s, 100.0, tol);
  /* corpus statistics are summed before scoring (not an average of sentence scores) */
  const char *h4[] = {"abc", "abcd"}, *r4[] = {"abd", "ab"};
  const char *const *rs4[] = {r4};
  CHECK(xlat_chrf_corpus(h4, rs4, 2, 1, &o, &s) == 0);
  /* orders: 1: hyp 3+4, ref 3+2, match 2+2; 2: 2+3, 2+1, 1+1; 3: 1+0, 1+0, 0 */
  CHECK_CLOSE(s, fbeta((4.0 / 7 + 2.0 / 5 + 0) / 3, (4.0 / 5 + 2.0 / 3 + 0) / 3, 2), tol);
  /* empty hypothesis and reference: 0 */
  CHECK_CLOSE(chrf("", "", &o), 0.0, 0);
  TEST_END();
}

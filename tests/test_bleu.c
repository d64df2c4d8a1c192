/* test_bleu.c - BLEU against values worked out by hand from sacreBLEU's definitions (metrics/bleu.py and the
 * tokenizers' documented rules): each tokenizer, Python lowercasing and whitespace, n-gram clipping with several
 * references, closest reference length, brevity penalty, every smoothing method, effective order, empty lines. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "test.h"

/* Checks that tokenizing s gives want (tokens joined by one space). */
static void tok_case(const char *s, xlat_bleu_tokenizer t, int lc, const char *want, int line) {
  xlat_bleu_options o;
  xlat_bleu_options_default(&o);
  o.tokenizer = t;
  o.lowercase = lc;
  char *got = NULL;
  int rc = xlat_bleu_tokenize(s, &o, &got);
  CHECK(rc == 0);
  if (rc == 0 && strcmp(got, want) != 0) {
    test_failures++;
    fprintf(stderr, "test_bleu.c:%d: tokenize(\"%s\") = \"%s\", want \"%s\"\n", line, s, got, want);
  }
  test_checks++;
  free(got);
}
#define TOK(s, t, lc, want) tok_case(s, t, lc, want, __LINE__)

static void tokenizers(void) {
  const xlat_bleu_tokenizer A = XLAT_BLEU_TOK_13A, I = XLAT_BLEU_TOK_INTL, Z = XLAT_BLEU_TOK_ZH;
  /* 13a: ASCII punctuation split except ' - . , ; period/comma split unless between digits */
  TOK("Hello, world! It's 1990.", A, 0, "Hello , world ! It's 1990 .");
  TOK("1.000,50 costs .5 or 5, not 3-4 a-b x--y", A, 0, "1.000,50 costs . 5 or 5 , not 3 - 4 a-b x--y");
  TOK("$5 x/y (a) [b] {c} a@b #1 50% a+b a=b a<b a|b a~b a^b a_b a`b", A, 0,
      "$ 5 x / y ( a ) [ b ] { c } a @ b # 1 50 % a + b a = b a < b a | b a ~ b a ^ b a _ b a ` b");
  /* entities: &quot; &amp; &lt; &gt; in that order (so &amp;lt; ends as <), &apos; is not unescaped */
  TOK("&quot;hi&quot; &amp;lt; &apos;", A, 0, "\" hi \" < & apos ;");
  TOK("<skipped> x", A, 0, "x");
  /* non-ASCII is never split by 13a */
  TOK("\xe2\x80\x9eJa\xe2\x80\x9c \xe2\x80\x94 sagte er\xe2\x80\xa6 5\xe2\x82\xac", A, 0,
      "\xe2\x80\x9eJa\xe2\x80\x9c \xe2\x80\x94 sagte er\xe2\x80\xa6 5\xe2\x82\xac");
  /* Python whitespace: NBSP, thin space, ideographic space, U+0085 split; zero-width space U+200B does not */
  TOK("a\xc2\xa0"
      "b\xe2\x80\x89"
      "c\xe3\x80\x80"
      "d\xc2\x85"
      "e\xe2\x80\x8b"
      "f",
      A, 0,
      "a b c d e\xe2\x80\x8b"
      "f");
  TOK("  lead and trail \xc2\xa0 ", A, 0, "lead and trail");
  /* intl: punctuation next to a non-number, all symbols; numbers keep their periods and dashes */
  TOK("Jahr 1990.", I, 0, "Jahr 1990.");
  TOK("It's a-b 3-4", I, 0, "It ' s a - b 3-4");
  TOK("\xe2\x82\xac"
      "5 $",
      I, 0, "\xe2\x82\xac 5 $");
  TOK("\xc2\xabHallo\xc2\xbb", I, 0, "\xc2\xab Hallo \xc2\xbb");
  TOK("1990.Next", I, 0, "1990 . Next");
  TOK("e\xcc\x81.", I, 0, "e\xcc\x81 ."); /* combining acute stays with its letter */
  /* zh: Chinese characters (and U+2001..U+2A6D) spaced out, then 13a's rules without padding */
  TOK("\xe6\x88\x91\xe7\x88\xb1\xe5\x8c\x97\xe4\xba\xac\xe3\x80\x82", Z, 0,
      "\xe6\x88\x91 \xe7\x88\xb1 \xe5\x8c\x97 \xe4\xba\xac \xe3\x80\x82");
  TOK("Jahr 1990.", Z, 0, "Jahr 1990.");
  TOK("a\xe2\x80\x94"
      "b",
      Z, 0, "a \xe2\x80\x94 b");
  TOK("\xf0\xa0\x80\x80x", Z, 0, "\xf0\xa0\x80\x80x"); /* U+20000 is not in the (mistyped) ranges */
  TOK("\xef\xbc\xa1"
      "b",
      Z, 0, "\xef\xbc\xa1 b"); /* fullwidth A */
  /* char: every non-whitespace code point, combining marks included */
  TOK("ab c e\xcc\x81", XLAT_BLEU_TOK_CHAR, 0, "a b c e \xcc\x81");
  TOK("It's, a-b.", XLAT_BLEU_TOK_NONE, 0, "It's, a-b.");
  /* Python str.lower(): U+0130 -> i + U+0307, final sigma, capital sharp s, titlecase digraph */
  TOK("\xc4\xb0stanbul", XLAT_BLEU_TOK_NONE, 1, "i\xcc\x87stanbul");
  TOK("\xce\x9f\xce\x94\xce\xa5\xce\xa3\xce\xa3\xce\x95\xce\xa5\xce\xa3 \xce\xa3\xce\x91", XLAT_BLEU_TOK_NONE, 1,
      "\xce\xbf\xce\xb4\xcf\x85\xcf\x83\xcf\x83\xce\xb5\xcf\x85\xcf\x82 \xcf\x83\xce\xb1");
  TOK("A\xce\xa3'", XLAT_BLEU_TOK_NONE, 1, "a\xcf\x82'"); /* apostrophe is case-ignorable: still final */
  TOK("\xce\xa3", XLAT_BLEU_TOK_NONE, 1, "\xcf\x83");     /* alone: not final */
  TOK("\xe1\xba\x9e \xc7\x85", XLAT_BLEU_TOK_NONE, 1, "\xc3\x9f \xc7\x86");
  TOK("THE \xc3\x84RA", A, 1, "the \xc3\xa4ra");
}

static xlat_bleu_result corpus(const char *const *h, const char *const *r0, const char *const *r1, int64_t n,
                               xlat_bleu_smooth sm, double sv, int lc) {
  xlat_bleu_options o;
  xlat_bleu_options_default(&o);
  o.smooth = sm;
  o.smooth_value = sv;
  o.lowercase = lc;
  const char *const *refs[2] = {r0, r1};
  xlat_bleu_result r;
  memset(&r, 0, sizeof r);
  CHECK(xlat_bleu_corpus(h, refs, n, r1 ? 2 : 1, &o, &r) == 0);
  return r;
}

static void scores(void) {
  const double tol = 1e-12;
  /* hyp 8 tokens, ref 7: matches 6/8, 3/7 (The cat, on the, the mat), 1/6 (on the mat), 0/5 */
  const char *h[] = {"The cat sat on the mat today ."}, *r[] = {"The cat is on the mat ."};
  xlat_bleu_result b = corpus(h, r, NULL, 1, XLAT_BLEU_SMOOTH_EXP, -1, 0);
  CHECK(b.hyp_len == 8 && b.ref_len == 7);
  CHECK(b.counts[0] == 6 && b.counts[1] == 3 && b.counts[2] == 1 && b.counts[3] == 0);
  CHECK(b.totals[0] == 8 && b.totals[1] == 7 && b.totals[2] == 6 && b.totals[3] == 5);
  CHECK_CLOSE(b.precisions[3], 100.0 / (2 * 5), tol); /* exp: first zero order gets 1/(2 total) */
  CHECK_CLOSE(b.score, pow(75.0 * (300.0 / 7) * (50.0 / 3) * 10.0, 0.25), tol);
  CHECK_CLOSE(b.bp, 1.0, 0);
  CHECK_CLOSE(b.ratio, 8.0 / 7, tol);
  /* floor 0.1: p4 = 100 * 0.1 / 5; custom floor 0.5 */
  b = corpus(h, r, NULL, 1, XLAT_BLEU_SMOOTH_FLOOR, -1, 0);
  CHECK_CLOSE(b.score, pow(75.0 * (300.0 / 7) * (50.0 / 3) * 2.0, 0.25), tol);
  b = corpus(h, r, NULL, 1, XLAT_BLEU_SMOOTH_FLOOR, 0.5, 0);
  CHECK_CLOSE(b.score, pow(75.0 * (300.0 / 7) * (50.0 / 3) * 10.0, 0.25), tol);
  /* add-k 1: orders >= 2 get +1 on both counts: 4/8, 2/7, 1/6 (reported counts include it) */
  b = corpus(h, r, NULL, 1, XLAT_BLEU_SMOOTH_ADD_K, -1, 0);
  CHECK(b.counts[1] == 4 && b.totals[1] == 8 && b.counts[3] == 1 && b.totals[3] == 6);
  CHECK_CLOSE(b.score, pow(75.0 * 50.0 * (200.0 / 7) * (100.0 / 6), 0.25), tol);
  /* none: log(0) is -9999999999, so the score underflows to 0 */
  b = corpus(h, r, NULL, 1, XLAT_BLEU_SMOOTH_NONE, -1, 0);
  CHECK(b.score == 0.0 && b.precisions[3] == 0.0);
  CHECK_CLOSE(b.precisions[2], 100.0 / 6, tol);

  /* exp smoothing doubles for each zero order: 2/3, 0/2, 0/1 -> p3 = 100/(2*2), p4 = 100/(4*1) */
  const char *h2[] = {"a b x y"}, *r2[] = {"a b c d e"};
  b = corpus(h2, r2, NULL, 1, XLAT_BLEU_SMOOTH_EXP, -1, 0);
  CHECK(b.counts[0] == 2 && b.counts[1] == 1 && b.counts[2] == 0 && b.counts[3] == 0);
  CHECK_CLOSE(b.precisions[2], 25.0, tol);
  CHECK_CLOSE(b.precisions[3], 25.0, tol);
  CHECK_CLOSE(b.bp, exp(1 - 5.0 / 4), tol);
  CHECK_CLOSE(b.score, exp(1 - 5.0 / 4) * pow(50.0 * (100.0 / 3) * 25.0 * 25.0, 0.25), tol);

  /* two references: clipping by the per-n-gram maximum, closest length with ties to the shorter */
  const char *h3[] = {"the the the cat"}, *r3a[] = {"the cat on the mat"}, *r3b[] = {"the the dog"};
  b = corpus(h3, r3a, r3b, 1, XLAT_BLEU_SMOOTH_EXP, -1, 0);
  CHECK(b.counts[0] == 3 && b.counts[1] == 2 && b.counts[2] == 0 && b.counts[3] == 0);
  CHECK(b.ref_len == 3 && b.hyp_len == 4); /* 5 and 3 are both 1 away from 4 */
  CHECK_CLOSE(b.score, pow(75.0 * (200.0 / 3) * 25.0 * 25.0, 0.25), tol);

  /* short corpus: no 3-grams at all -> 0 at corpus level, but effective order gives bp * 100 */
  const char *h4[] = {"the cat"}, *r4[] = {"the cat sat on the mat"};
  b = corpus(h4, r4, NULL, 1, XLAT_BLEU_SMOOTH_EXP, -1, 0);
  CHECK(b.score == 0.0);
  CHECK_CLOSE(b.bp, exp(1 - 6.0 / 2), tol);
  xlat_bleu_result s;
  CHECK(xlat_bleu_sentence(h4[0], r4, 1, NULL, &s) == 0);
  CHECK_CLOSE(s.score, exp(1 - 6.0 / 2) * 100.0, tol);
  const char *one[] = {"Hello"};
  CHECK(xlat_bleu_sentence("Hello", one, 1, NULL, &s) == 0);
  CHECK_CLOSE(s.score, 100.0, tol);
  b = corpus(one, one, NULL, 1, XLAT_BLEU_SMOOTH_EXP, -1, 0);
  CHECK(b.score == 0.0);

  /* identical corpora: exp(4 log 100 / 4) = 100.00000000000004 as in Python; empty lines add nothing */
  const char *h5[] = {"a b c d", "", "x y z w v"}, *r5[] = {"a b c d", "", "x y z w v"};
  b = corpus(h5, r5, NULL, 3, XLAT_BLEU_SMOOTH_EXP, -1, 0);
  CHECK(b.score == 100.00000000000004);
  CHECK(b.hyp_len == 9 && b.ref_len == 9);
  /* nothing matches: 0 even with add-k (checked before smoothing), precisions 0, bp still reported */
  const char *h6[] = {"p q"}, *r6[] = {"a b c d"};
  b = corpus(h6, r6, NULL, 1, XLAT_BLEU_SMOOTH_ADD_K, -1, 0);
  CHECK(b.score == 0.0 && b.precisions[0] == 0.0 && b.precisions[1] == 0.0);
  CHECK_CLOSE(b.bp, exp(1 - 4.0 / 2), tol);
  /* empty hypothesis against a reference: bp 0, score 0; empty everything: bp 1, ratio 0 */
  const char *e[] = {""};
  b = corpus(e, r6, NULL, 1, XLAT_BLEU_SMOOTH_EXP, -1, 0);
  CHECK(b.score == 0.0 && b.bp == 0.0 && b.hyp_len == 0 && b.ref_len == 4);
  b = corpus(e, e, NULL, 1, XLAT_BLEU_SMOOTH_EXP, -1, 0);
  CHECK(b.score == 0.0 && b.bp == 1.0 && b.ratio == 0.0);
  /* an empty reference is a real reference of length 0 (closest to an empty hypothesis) */
  const char *h7[] = {"a b c d"};
  b = corpus(h7, h7, e, 1, XLAT_BLEU_SMOOTH_EXP, -1, 0);
  CHECK(b.ref_len == 4 && b.score == 100.00000000000004);

  /* lowercasing */
  const char *h8[] = {"THE CAT SAT DOWN"}, *r8[] = {"the cat sat down"};
  CHECK(corpus(h8, r8, NULL, 1, XLAT_BLEU_SMOOTH_EXP, -1, 0).score == 0.0);
  CHECK(corpus(h8, r8, NULL, 1, XLAT_BLEU_SMOOTH_EXP, -1, 1).score == 100.00000000000004);

  /* statistics sum to the corpus score */
  int64_t st[2 * XLAT_BLEU_NSTATS], sum[XLAT_BLEU_NSTATS];
  const char *hh[] = {h[0], h2[0]}, *rr[] = {r[0], r2[0]};
  const char *const *streams[] = {rr};
  CHECK(xlat_bleu_stats(hh, streams, 2, 1, NULL, st) == 0);
  for (int k = 0; k < XLAT_BLEU_NSTATS; k++) sum[k] = st[k] + st[XLAT_BLEU_NSTATS + k];
  CHECK(sum[0] == 12 && sum[1] == 12 && sum[2] == 8 && sum[5] == 0 && sum[9] == 6);
  xlat_bleu_result fs;
  xlat_bleu_from_stats(sum, NULL, &fs);
  /* 8/12, 4/10, 1/8, 0/6 -> p4 = 100/(2*6) */
  CHECK_CLOSE(fs.score, pow((800.0 / 12) * 40.0 * 12.5 * (100.0 / 12), 0.25), tol);

  /* invalid UTF-8 is an error naming the segment */
  const char *bad[] = {"ok", "bad \xff byte"};
  const char *const *bs[] = {bad};
  xlat_bleu_result br;
  CHECK(xlat_bleu_corpus(bad, bs, 2, 1, NULL, &br) == -1);
  CHECK(strstr(xlat_metrics_error(), "segment 2") != NULL);
}

/* 13a on long runs of '.' and ',': each expression can double the text around them, and a run of 5000 periods
 * once overflowed the buffer sized for the first expression alone. */
static void long_runs(void) {
  enum { N = 5000 };
  char *in = malloc(N + 1), *want = malloc(2 * N);
  CHECK(in && want);
  if (!in || !want) return;
  for (int i = 0; i < N; i++) in[i] = i % 2 ? ',' : '.', want[2 * i] = in[i], want[2 * i + 1] = ' ';
  in[N] = 0, want[2 * N - 1] = 0;
  TOK(in, XLAT_BLEU_TOK_13A, 0, want); /* ". , . , ..." */
  memset(in, '.', N);
  for (int i = 0; i < N; i++) want[2 * i] = '.';
  TOK(in, XLAT_BLEU_TOK_13A, 0, want); /* ". . . ..." */
  for (int i = 0; i < N; i++) in[i] = i % 2 ? '.' : '1';
  memcpy(want, in, N - 1);
  memcpy(want + N - 1, " .", 3);
  TOK(in, XLAT_BLEU_TOK_13A, 0, want); /* "1.1.1...1 ." */
  free(in);
  free(want);
}

int main(void) {
  tokenizers();
  long_runs();
  scores();
  TEST_END();
}

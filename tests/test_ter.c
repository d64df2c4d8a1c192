/* test_ter.c - TER against values worked out by hand from Tercom's definition as sacreBLEU implements it
 * (metrics/ter.py, lib_ter.py): shifts counted as one edit, best reference by edits with the average reference
 * length, case-insensitive by default, the tokenizer options, empty segments. */
#include <string.h>

#include "metrics.h"
#include "test.h"

static xlat_ter_result ter(const char *h, const char *r, const xlat_ter_options *o) {
  xlat_ter_result res;
  memset(&res, 0, sizeof res);
  CHECK(xlat_ter_sentence(h, &r, 1, o, &res) == 0);
  return res;
}

int main(void) {
  const double tol = 1e-12;
  xlat_ter_options o;
  xlat_ter_options_default(&o);
  CHECK_CLOSE(ter("a b c", "a b c", &o).score, 0.0, 0);
  /* one substitution out of four */
  CHECK_CLOSE(ter("a b x d", "a b c d", &o).score, 25.0, tol);
  /* "c a b" -> "a b c": moving "c" to the end is one shift, after which nothing differs (plain edit distance: 2) */
  xlat_ter_result r = ter("c a b", "a b c", &o);
  CHECK(r.num_edits == 1 && r.ref_length == 3);
  CHECK_CLOSE(r.score, 100.0 / 3, tol);
  /* a block of two words moves as one shift: "d e a b c" -> "a b c d e" */
  r = ter("d e a b c", "a b c d e", &o);
  CHECK(r.num_edits == 1);
  /* empty hypothesis: every reference word inserted; empty reference: 100 when the hypothesis is not empty */
  CHECK_CLOSE(ter("", "a b", &o).score, 100.0, tol);
  r = ter("a b", "", &o);
  CHECK(r.num_edits == 2 && r.ref_length == 0 && r.score == 100.0);
  CHECK(ter("", "", &o).score == 0.0);
  /* case: lowercase by default */
  CHECK(ter("A B", "a b", &o).score == 0.0);
  o.case_sensitive = 1;
  CHECK_CLOSE(ter("A B", "a b", &o).score, 100.0, tol);
  o.case_sensitive = 0;
  /* punctuation removal and normalisation ("it's" -> "it 's", "x." -> "x .") */
  o.no_punct = 1;
  CHECK(ter("a , b .", "a b", &o).score == 0.0);
  o.no_punct = 0;
  CHECK_CLOSE(ter("it's", "it 's", &o).score, 100.0, tol); /* 1 substitution + 1 insertion over 2 */
  o.normalized = 1;
  CHECK(ter("it's x.", "it 's x .", &o).score == 0.0);
  o.asian_support = 1;
  CHECK(ter("\xe6\x88\x91\xe7\x88\xb1", "\xe6\x88\x91 \xe7\x88\xb1", &o).score == 0.0);
  o.normalized = 0, o.asian_support = 0;
  /* two references: fewest edits (1, against "a b c d") over the average length (4 + 1) / 2 */
  const char *h[] = {"a b c"}, *ra[] = {"a b c d"}, *rb[] = {"x"};
  const char *const *refs[] = {ra, rb};
  CHECK(xlat_ter_corpus(h, refs, 1, 2, &o, &r) == 0);
  CHECK(r.num_edits == 1 && r.ref_length == 2.5);
  CHECK_CLOSE(r.score, 40.0, tol);
  /* corpus: edits and lengths are summed before dividing */
  const char *h2[] = {"a b x d", "c a b"}, *r2[] = {"a b c d", "a b c"};
  const char *const *refs2[] = {r2};
  CHECK(xlat_ter_corpus(h2, refs2, 2, 1, &o, &r) == 0);
  CHECK_CLOSE(r.score, 100.0 * 2 / 7, tol);
  TEST_END();
}

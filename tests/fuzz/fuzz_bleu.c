/* fuzz_bleu.c - xlat-bleu's input and metrics on any bytes: the file read as sacreBLEU reads a file (first byte odd:
 * as stdin, universal newlines) and split into hypothesis and reference lines, then BLEU with every tokenizer
 * (cased and lowercased), chrF++ and TER. Invalid input is an error message, never a crash or a wrong read. */
#include <string.h>

#include "../../eval/input.h"
#include "fuzz.h"
#include "metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  xm_lines l;
  if (xm_read_lines(fuzz_file("bleu", data, size), size > 0 && (data[0] & 1), &l) != 0) return 0;
  int64_t half = l.n / 2;
  const char *const *hyps = (const char *const *)l.line, *const *refs[1] = {(const char *const *)l.line + half};
  static const xlat_bleu_tokenizer toks[] = {XLAT_BLEU_TOK_13A, XLAT_BLEU_TOK_INTL, XLAT_BLEU_TOK_CHAR,
                                             XLAT_BLEU_TOK_NONE, XLAT_BLEU_TOK_ZH};
  for (size_t t = 0; half > 0 && t < sizeof toks / sizeof toks[0]; t++) {
    xlat_bleu_options o;
    xlat_bleu_options_default(&o);
    o.tokenizer = toks[t];
    o.lowercase = (int)(t & 1);
    xlat_bleu_result r;
    /* sacreBLEU's exp(log(100)) is 100.00000000000004 for a perfect match: the bound allows rounding */
    if (xlat_bleu_corpus(hyps, refs, half, 1, &o, &r) == 0 && !(r.score >= 0.0 && r.score <= 100.0 + 1e-9)) abort();
  }
  if (half > 0) {
    xlat_chrf_options co;
    xlat_chrf_options_default(&co);
    co.word_order = 2;
    double chrf;
    if (xlat_chrf_corpus(hyps, refs, half, 1, &co, &chrf) == 0 && !(chrf >= 0.0 && chrf <= 100.0 + 1e-9)) abort();
    xlat_ter_options to;
    xlat_ter_options_default(&to);
    to.normalized = 1;
    xlat_ter_result tr;
    if (xlat_ter_corpus(hyps, refs, half, 1, &to, &tr) == 0 && !(tr.score >= 0.0)) abort();
  }
  xm_lines_free(&l);
  return 0;
}

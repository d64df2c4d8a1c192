/* tokenize.h - internal: the BLEU tokenizers (tokenize.c) with their reusable scratch buffers. */
#ifndef XLAT_EVAL_TOKENIZE_H
#define XLAT_EVAL_TOKENIZE_H

#include "metrics.h"
#include "unicode.h"

typedef struct {
  xm_cps raw, low, s1, s2;
  xm_buf b1, b2; /* 13a's lowercased line and its replacements; zh's spaced line */
  xm_buf r1, r2; /* the passes of the regular expressions */
} xm_tokenizer;

/* sacreBLEU's BLEU preprocessing of one segment s[0..n): UTF-8 decode, optional str.lower(), str.rstrip(), then
 * the tokenizer and str.split(); the tokens replace out. ref and seg name the segment in an error (see xm_what). */
int xm_tokenize(xm_tokenizer *z, const char *s, size_t n, xlat_bleu_tokenizer kind, int lowercase, xm_toks *out,
                int ref, int64_t seg);
void xm_tokenizer_free(xm_tokenizer *z);

#endif

/* markup_translate.c - a document with markup through the translator: its blocks (markup.h) cut into sentences,
 * translated as one set, and each block's word alignment rebuilt in bytes from the pieces' spans (spm.h) and the
 * beam's token alignments, so markup.c can carry inline tags over.
 *
 * Alignments are given only where the bytes match exactly: a block whose text the clean-up changed (control
 * characters), or a segment whose tokens differ from the sentence's own encoding, is rendered without them (its
 * tags stay, before its translation) rather than with misplaced tags.
 */
#include <stdlib.h>
#include <string.h>

#include "xlat.h"

/* What one sentence of the document is: its block and where it starts in the block's text. */
typedef struct {
  int32_t block;
  size_t start, len;
} sentence;

typedef struct {
  char *text;
  size_t len, cap;
  xlat_markup_link *links;
  int32_t n_links, cap_links;
} block_out;

static int append(block_out *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = 2 * (b->len + n + 1);
    char *p = realloc(b->text, cap);
    if (!p) return -1;
    b->text = p, b->cap = cap;
  }
  memcpy(b->text + b->len, s, n);
  b->len += n;
  b->text[b->len] = '\0';
  return 0;
}

static int add_link(block_out *b, xlat_markup_link l) {
  if (b->n_links == b->cap_links) {
    int32_t cap = b->cap_links ? 2 * b->cap_links : 64;
    xlat_markup_link *p = realloc(b->links, sizeof *p * (size_t)cap);
    if (!p) return -1;
    b->links = p, b->cap_links = cap;
  }
  b->links[b->n_links++] = l;
  return 0;
}

/* Narrows [*b, *e) of s past spaces at either end: a piece's span includes the space its "▁" stands for. */
static void trim(const char *s, int32_t *b, int32_t *e) {
  while (*b < *e && s[*b] == ' ') ++*b;
  while (*e > *b && s[*e - 1] == ' ') --*e;
}

/* Appends the translation of segment hyp (whose source is tokens [base, base + src_len) of the sentence at
 * block offset start, with spans sspans) to b, with its links when alignable. */
static xlat_status add_segment(const xlat_spm *tgt_spm, block_out *b, const char *block, size_t start,
                               const int32_t *sids, const int32_t *sspans, size_t n_src, size_t base,
                               const xlat_segment *seg, const xlat_seg_hyp *hyp) {
  size_t off = b->len;
  if (append(b, hyp->text, strlen(hyp->text))) return xlat_fail(XLAT_ERR_NOMEM, "out of memory");
  if (!hyp->align || !sids || base + (size_t)seg->src_len > n_src ||
      memcmp(sids + base, seg->src, sizeof *sids * (size_t)seg->src_len) != 0)
    return XLAT_OK;
  char *text;
  int32_t *tspans;
  if (xlat_spm_decode_spans(tgt_spm, hyp->ids, (size_t)hyp->len, &text, &tspans) != 0)
    return xlat_fail(XLAT_ERR_FORMAT, "%s", xlat_spm_last_error());
  xlat_status st = XLAT_OK;
  if (strcmp(text, hyp->text) == 0) /* else the clean-up changed it: no byte-exact links */
    for (int32_t p = 0; p < hyp->len && st == XLAT_OK; p++) {
      int32_t tb = tspans[2 * p], te = tspans[2 * p + 1];
      trim(text, &tb, &te);
      if (tb == te) continue;
      size_t a = base + (size_t)hyp->align[p];
      int32_t sb = sspans[2 * a], se = sspans[2 * a + 1];
      trim(block + start, &sb, &se);
      xlat_markup_link l = {(int32_t)off + tb, (int32_t)off + te, -1, -1};
      if (sb < se) l.src_begin = (int32_t)start + sb, l.src_end = (int32_t)start + se;
      if (add_link(b, l)) st = xlat_fail(XLAT_ERR_NOMEM, "out of memory");
    }
  free(text);
  free(tspans);
  return st;
}

/* Gives block i (sentences sents[0..n), texts first.. of t in order) its translation and links. */
static xlat_status set_block(xlat_translator *tr, xlat_markup *m, int32_t i, const sentence *sents, int32_t n,
                             int32_t first, const xlat_texts *t, int alignable) {
  const xlat_translator_options *o = xlat_translator_options_of(tr);
  const char *block = xlat_markup_block(m, i, NULL);
  block_out b = {0};
  xlat_status st = XLAT_OK;
  for (int32_t k = 0; k < n && st == XLAT_OK; k++) {
    const xlat_text_info *info = &t->texts[first + k];
    int32_t *sids = NULL, *sspans = NULL;
    size_t n_src = 0, base = 0;
    if (alignable &&
        xlat_spm_encode_spans(o->src_spm, block + sents[k].start, sents[k].len, &sids, &sspans, &n_src) != 0)
      st = xlat_fail(XLAT_ERR_FORMAT, "%s", xlat_spm_last_error());
    for (int32_t j = 0; j < info->count && st == XLAT_OK; j++) {
      const xlat_segment *seg = &t->segs[info->first + j];
      if (b.len && append(&b, " ", 1)) st = xlat_fail(XLAT_ERR_NOMEM, "out of memory"); /* as xlat-decode joins */
      if (st == XLAT_OK && t->res[info->first + j].n > 0)
        st = add_segment(o->tgt_spm, &b, block, sents[k].start, sids, sspans, n_src, base, seg,
                         &t->res[info->first + j].hyps[0]);
      base += (size_t)seg->src_len;
    }
    free(sids);
    free(sspans);
  }
  if (st == XLAT_OK) st = xlat_markup_set(m, i, b.text ? b.text : "", b.len, b.links, b.n_links);
  free(b.text);
  free(b.links);
  return st;
}

xlat_status xlat_translate_document(xlat_translator *tr, xlat_markup_format fmt, const char *doc, size_t len,
                                    double timeout_s, char **out, size_t *out_len) {
  *out = NULL;
  *out_len = 0;
  xlat_markup *m = NULL;
  xlat_texts *t = NULL;
  sentence *sents = NULL;
  int32_t n_sents = 0, cap = 0;
  int *alignable = NULL;
  xlat_status st = xlat_markup_parse(fmt, doc, len, &m);
  if (st == XLAT_OK) st = xlat_texts_new(0, &t);
  int32_t blocks = m ? xlat_markup_blocks(m) : 0;
  if (st == XLAT_OK && !(alignable = calloc((size_t)blocks + 1, sizeof *alignable)))
    st = xlat_fail(XLAT_ERR_NOMEM, "out of memory");
  for (int32_t i = 0; i < blocks && st == XLAT_OK; i++) {
    size_t bl;
    const char *block = xlat_markup_block(m, i, &bl);
    char *clean = malloc(3 * bl + 1);
    if (!clean) {
      st = xlat_fail(XLAT_ERR_NOMEM, "out of memory");
      break;
    }
    alignable[i] = xlat_text_sanitize(block, bl, clean, NULL) == bl && memcmp(clean, block, bl) == 0 &&
                   xlat_translator_options_of(tr)->beam.alignments;
    free(clean);
    size_t count = xlat_text_split_sentences(block, bl, NULL, 0);
    xlat_text_span *spans = malloc(sizeof *spans * (count ? count : 1));
    if (!spans) {
      st = xlat_fail(XLAT_ERR_NOMEM, "out of memory");
      break;
    }
    xlat_text_split_sentences(block, bl, spans, count);
    for (size_t k = 0; k < count && st == XLAT_OK; k++) {
      if (n_sents == cap) {
        cap = cap ? 2 * cap : 64;
        sentence *p = realloc(sents, sizeof *p * (size_t)cap);
        if (!p) {
          st = xlat_fail(XLAT_ERR_NOMEM, "out of memory");
          break;
        }
        sents = p;
      }
      sents[n_sents++] = (sentence){i, spans[k].start, spans[k].len};
      st = xlat_texts_add(tr, t, n_sents - 1, block + spans[k].start, spans[k].len, NULL);
    }
    free(spans);
  }
  if (st == XLAT_OK && n_sents > 0) st = xlat_translator_submit(tr, t);
  if (st == XLAT_OK && n_sents > 0) st = xlat_texts_wait(tr, t, timeout_s);
  for (int32_t k = 0; k < n_sents && st == XLAT_OK;) { /* each block's sentences are consecutive */
    int32_t n = 1;
    while (k + n < n_sents && sents[k + n].block == sents[k].block) n++;
    st = set_block(tr, m, sents[k].block, sents + k, n, k, t, alignable[sents[k].block]);
    k += n;
  }
  if (st == XLAT_OK) st = xlat_markup_render(m, out, out_len);
  xlat_texts_free(t); /* after a timeout: abandoned to the translator */
  xlat_markup_free(m);
  free(sents);
  free(alignable);
  return st;
}

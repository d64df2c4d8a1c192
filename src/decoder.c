/* decoder.c - the cached incremental decoder of any architecture (xlat_decoder_*, xlat.h): checks every argument,
 * keeps track of which positions and hypothesis rows are cached, shares the model's packed step weights among its
 * decoders, and reorders hypothesis rows; the layers themselves are the architecture's (arch.h). */
#include <string.h>

#include "arch.h"

struct xlat_decoder {
  const xlat_model *m;
  void *state; /* the architecture's */
  int32_t cap_sent, cap_src, cap_hyps, cap_tgt;
  int32_t B, S;                /* the encoded batch */
  int32_t cached;              /* positions 0..cached-1 are cached */
  int32_t rows;                /* hypothesis rows holding those positions */
  int32_t *par, *refs, *queue; /* reorder scratch, (cap_hyps+1) each */
  int holds_panels;
};

/* The model's panels, repacked from its weights as they are now when no decoder holds them; NULL when out of
 * memory. The block stays with the model (freed by xlat_model_free), so decoders remade as batches grow reuse it. */
static void *panels_acquire(xlat_model *m) {
  pthread_mutex_lock(&m->panels_lock);
  if (!m->panels) m->panels = m->arch->panels_new(m);
  void *p = m->panels;
  if (p && m->panels_users++ == 0) m->arch->panels_pack(p, m);
  pthread_mutex_unlock(&m->panels_lock);
  return p;
}

static void panels_release(xlat_model *m) {
  pthread_mutex_lock(&m->panels_lock);
  m->panels_users--;
  pthread_mutex_unlock(&m->panels_lock);
}

xlat_status xlat_decoder_new(const xlat_model *m, int32_t max_sentences, int32_t max_src, int32_t max_hyps,
                             int32_t max_tgt, xlat_decoder **out) {
  *out = NULL;
  const xlat_config *c = &m->cfg;
  if (max_sentences < 1 || max_src < 1 || max_hyps < 1 || max_tgt < 1)
    return xlat_fail(XLAT_ERR_ARG, "decoder: sizes %d sentences, %d source tokens, %d hypotheses, %d target tokens; "
                                   "each must be at least 1",
                     max_sentences, max_src, max_hyps, max_tgt);
  if (max_src > c->max_len || max_tgt > c->max_len)
    return xlat_fail(XLAT_ERR_ARG, "decoder: %d source / %d target tokens, but the model's max_len is %d", max_src,
                     max_tgt, c->max_len);
  xlat_decoder *d = calloc(1, sizeof *d);
  size_t hyps = (size_t)max_hyps + 1;
  if (d) d->par = malloc(3 * hyps * sizeof *d->par);
  if (!d || !d->par) {
    free(d);
    return xlat_fail(XLAT_ERR_NOMEM, "decoder: out of memory");
  }
  d->refs = d->par + hyps;
  d->queue = d->refs + hyps;
  d->m = m;
  d->cap_sent = max_sentences, d->cap_src = max_src, d->cap_hyps = max_hyps, d->cap_tgt = max_tgt;
  const void *panels = panels_acquire((xlat_model *)m);
  if (!panels) {
    xlat_decoder_free(d);
    return xlat_fail(XLAT_ERR_NOMEM, "decoder: out of memory for the packed weights");
  }
  d->holds_panels = 1;
  xlat_status st = m->arch->dec_new(m, panels, (xlat_dec_shape){max_sentences, max_src, max_hyps, max_tgt}, &d->state);
  if (st != XLAT_OK) {
    xlat_decoder_free(d);
    return st;
  }
  *out = d;
  return XLAT_OK;
}

void xlat_decoder_free(xlat_decoder *d) {
  if (!d) return;
  if (d->state) d->m->arch->dec_free(d->state);
  if (d->holds_panels) panels_release((xlat_model *)d->m);
  free(d->par);
  free(d);
}

xlat_status xlat_decoder_encode(xlat_decoder *d, const int32_t *src, int32_t B, int32_t S) {
  int V = xlat_config_src_vocab(&d->m->cfg);
  if (B < 1 || B > d->cap_sent || S < 1 || S > d->cap_src)
    return xlat_fail(XLAT_ERR_ARG, "decoder: source batch %dx%d, but the decoder was made for at most %dx%d", B, S,
                     d->cap_sent, d->cap_src);
  for (int32_t i = 0; i < B * S; i++)
    if (src[i] < 0 || src[i] >= V)
      return xlat_fail(XLAT_ERR_ARG, "decoder: source sentence %d, position %d: id %d, expected 0..%d", i / S, i % S,
                       src[i], V - 1);
  d->B = B, d->S = S, d->cached = 0, d->rows = 0;
  d->m->arch->encode(d->state, src, B, S);
  return XLAT_OK;
}

xlat_status xlat_decoder_step(xlat_decoder *d, int32_t N, const int32_t *hyp_sent, const int32_t *tokens,
                              int32_t pos, float *logprobs, float *attn) {
  int V = d->m->cfg.vocab_size;
  if (d->B == 0) return xlat_fail(XLAT_ERR_ARG, "decoder: step before any encode");
  if (N < 1 || N > d->cap_hyps)
    return xlat_fail(XLAT_ERR_ARG, "decoder: %d hypotheses, expected 1..%d", N, d->cap_hyps);
  if (pos < 0 || pos >= d->cap_tgt || pos > d->cached)
    return xlat_fail(XLAT_ERR_ARG, "decoder: step at target position %d, expected 0..%d (cached %d, capacity %d)",
                     pos, d->cached < d->cap_tgt - 1 ? d->cached : d->cap_tgt - 1, d->cached, d->cap_tgt);
  if (pos > 0 && N > d->rows)
    return xlat_fail(XLAT_ERR_ARG, "decoder: %d hypotheses at position %d, but only %d rows hold the earlier positions",
                     N, pos, d->rows);
  for (int32_t i = 0; i < N; i++) {
    if (hyp_sent[i] < 0 || hyp_sent[i] >= d->B)
      return xlat_fail(XLAT_ERR_ARG, "decoder: hypothesis %d belongs to sentence %d, expected 0..%d", i, hyp_sent[i],
                       d->B - 1);
    if (tokens[i] < 0 || tokens[i] >= V)
      return xlat_fail(XLAT_ERR_ARG, "decoder: hypothesis %d: token id %d, expected 0..%d", i, tokens[i], V - 1);
  }
  if (attn) memset(attn, 0, sizeof(float) * (size_t)N * d->S);
  d->m->arch->step(d->state, N, hyp_sent, tokens, pos, logprobs, attn);
  d->cached = pos + 1;
  d->rows = N;
  return XLAT_OK;
}

/* In place: new row i = old row parent[i]. A row is overwritten only once no pending copy reads it; what is left
 * then are cycles, each broken through the spare row cap_hyps. */
xlat_status xlat_decoder_reorder(xlat_decoder *d, int32_t N, const int32_t *parent) {
  if (N < 1 || N > d->cap_hyps)
    return xlat_fail(XLAT_ERR_ARG, "decoder: reorder to %d hypotheses, expected 1..%d", N, d->cap_hyps);
  for (int32_t i = 0; i < N; i++)
    if (parent[i] < 0 || parent[i] >= d->rows)
      return xlat_fail(XLAT_ERR_ARG, "decoder: reorder: parent[%d] = %d, expected 0..%d (the rows of the last step)",
                       i, parent[i], d->rows - 1);
  int32_t *refs = d->refs, *queue = d->queue, spare = d->cap_hyps;
  memset(refs, 0, sizeof(int32_t) * (size_t)(d->cap_hyps + 1));
  /* refs[r]: pending copies reading row r; par: parent with done destinations set to themselves */
  int32_t *par = d->par;
  memcpy(par, parent, sizeof(int32_t) * (size_t)N);
  for (int32_t i = 0; i < N; i++)
    if (par[i] != i) refs[par[i]]++;
  int32_t head = 0, tail = 0;
  for (int32_t i = 0; i < N; i++)
    if (par[i] != i && refs[i] == 0) queue[tail++] = i;
  for (;;) {
    while (head < tail) {
      int32_t i = queue[head++], from = par[i];
      d->m->arch->copy_row(d->state, i, from, d->cached);
      par[i] = i;
      if (--refs[from] == 0 && from < N && par[from] != from) queue[tail++] = from;
    }
    /* a cycle left: move one of its rows to the spare row and let its readers read the spare */
    int32_t start = -1;
    for (int32_t i = 0; i < N && start < 0; i++)
      if (par[i] != i) start = i;
    if (start < 0) break;
    d->m->arch->copy_row(d->state, spare, start, d->cached);
    for (int32_t i = 0; i < N; i++)
      if (par[i] == start && i != start) par[i] = spare;
    refs[spare] = refs[start];
    refs[start] = 0;
    head = tail = 0;
    queue[tail++] = start;
  }
  d->rows = N;
  return XLAT_OK;
}

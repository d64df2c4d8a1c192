/* beam.c - batch beam search, forced decoding and ensembles over the decoder API (xlat_decoder_*); see beam.h.
 *
 * A call's sentences are sorted by length and cut into sub-batches that fit max_state_mb. Per sub-batch the encoder
 * runs once; then each step feeds every live hypothesis (rows grouped by sentence, in a fixed order) through the
 * decoder, picks each sentence's best extensions from its own rows only, and reorders the decoder cache to the
 * survivors. Backpointers (token, parent row, alignment) per step let a finished hypothesis be read back without
 * copying prefixes. All search bookkeeping is here; the model arithmetic is the architecture's (arch.h).
 */
#include <math.h>
#include <string.h>

#include "arch.h"

/* A candidate extension: row's hypothesis followed by token tok, with summed log-probability score. */
typedef struct {
  float score;
  int32_t row, tok;
} candidate;

/* A finished hypothesis of the current sub-batch; ids and align are offsets into the call's pool. */
typedef struct {
  float logprob, score;
  int32_t len, order; /* order: when it finished, to keep sorting stable */
  size_t ids, align;
} finished;

/* What one decoder is sized for. */
typedef struct {
  int32_t sent, src, hyps, tgt;
} shape;

struct xlat_beam {
  xlat_beam_options opt;
  int32_t n_models, V, Vs, max_len; /* target and source vocabularies */
  const xlat_model **models;
  xlat_decoder **dec; /* (n_models), all sized as cap */
  shape cap;
  double bytes_per_hyp_pos, bytes_per_src_pos, bytes_per_hyp; /* state estimate, summed over models */

  /* search state for the decoders' shape cap: one block (work), carved into the arrays below */
  void *work;
  float **lp;       /* (n_models) (H,V) log-probabilities per model */
  float *lp_avg;    /* (H,V) ensemble average */
  float *attn;      /* (H,S) first model's cross-attention */
  float *row_acc, *next_acc;                                   /* (H) summed log-probabilities */
  int32_t *srcbuf;                                             /* (sent,S) padded sources */
  int32_t *row_sent, *row_tok, *parent, *next_sent, *next_tok; /* (H) */
  int32_t *hist_tok, *hist_par, *hist_al;                      /* (T,H) backpointers */
  int32_t *live, *off, *nfin, *maxout;                         /* (sent) */
  finished *fin;                                               /* (sent, beam) */
  candidate *top;                                              /* (beam) */

  /* per-call results, grown as needed and kept between calls */
  int32_t *order; /* (B) sentences sorted by length */
  int32_t *pool;  /* ids and alignments of finished hypotheses */
  size_t pool_len;
  xlat_translation *trans;      /* (B) */
  xlat_hypothesis *hyps;        /* (B, n_best) */
  size_t *hyp_ids, *hyp_align;  /* (B, n_best) pool offsets until the call ends (the pool may move) */
  size_t cap_order, cap_pool, cap_trans, cap_hyps, cap_hyp_ids, cap_hyp_align;
};

void xlat_beam_options_default(xlat_beam_options *o) {
  memset(o, 0, sizeof *o);
  o->beam_size = 5;
  o->n_best = 1;
  o->length_penalty = 0.6f;
  o->max_len_a = 2.0f;
  o->max_len_b = 10.0f;
  o->alignments = 0;
  o->max_state_mb = 96;
}

double xlat_length_penalty(float alpha, int32_t len) {
  return alpha == 0.0f ? 1.0 : pow((5.0 + len) / 6.0, alpha);
}

static float normalized(float alpha, float logprob, int32_t len_with_eos) {
  return (float)(logprob / xlat_length_penalty(alpha, len_with_eos));
}

/* Grows *p to hold n elements of size elem; keeps the contents. */
static xlat_status grow(void *pp, size_t *cap, size_t n, size_t elem) {
  void **p = (void **)pp;
  if (n <= *cap && *p) return XLAT_OK;
  size_t c = *cap ? *cap : 16;
  while (c < n) c *= 2;
  void *q = realloc(*p, c * elem);
  if (!q) return xlat_fail(XLAT_ERR_NOMEM, "beam search: out of memory for %zu bytes", c * elem);
  *p = q;
  *cap = c;
  return XLAT_OK;
}

xlat_status xlat_beam_new(const xlat_model *const *models, int32_t n_models, const xlat_beam_options *o,
                          xlat_beam **out) {
  *out = NULL;
  if (n_models < 1) return xlat_fail(XLAT_ERR_ARG, "beam search: %d models given, expected at least 1", n_models);
  if (o->beam_size < 1 || o->beam_size > 1024)
    return xlat_fail(XLAT_ERR_ARG, "beam search: beam size %d, expected 1..1024", o->beam_size);
  if (o->n_best < 1 || o->n_best > o->beam_size)
    return xlat_fail(XLAT_ERR_ARG, "beam search: n-best %d, expected 1..beam size (%d)", o->n_best, o->beam_size);
  if (!(o->length_penalty >= 0.0f && o->length_penalty <= 10.0f))
    return xlat_fail(XLAT_ERR_ARG, "beam search: length penalty %g, expected 0..10", (double)o->length_penalty);
  if (!isfinite(o->max_len_a) || !isfinite(o->max_len_b) || o->max_len_a < 0.0f)
    return xlat_fail(XLAT_ERR_ARG, "beam search: maximum length %g * |x| + %g, expected a >= 0 and finite values",
                     (double)o->max_len_a, (double)o->max_len_b);
  if (o->max_state_mb < 1)
    return xlat_fail(XLAT_ERR_ARG, "beam search: max_state_mb %d, expected >= 1", o->max_state_mb);
  xlat_beam *b = calloc(1, sizeof *b);
  if (!b) return xlat_fail(XLAT_ERR_NOMEM, "beam search: out of memory");
  b->opt = *o;
  b->n_models = n_models;
  b->models = calloc((size_t)n_models, sizeof *b->models);
  b->dec = calloc((size_t)n_models, sizeof *b->dec);
  b->lp = calloc((size_t)n_models, sizeof *b->lp);
  if (!b->models || !b->dec || !b->lp) {
    xlat_beam_free(b);
    return xlat_fail(XLAT_ERR_NOMEM, "beam search: out of memory");
  }
  for (int32_t m = 0; m < n_models; m++) {
    const xlat_config *c = xlat_model_config(models[m]);
    b->models[m] = models[m];
    if (m == 0) {
      b->V = c->vocab_size;
      b->Vs = xlat_config_src_vocab(c);
      b->max_len = c->max_len;
    } else if (c->vocab_size != b->V || xlat_config_src_vocab(c) != b->Vs) {
      int32_t v0 = b->V, vs0 = b->Vs;
      xlat_beam_free(b);
      return xlat_fail(XLAT_ERR_MISMATCH, "ensemble: model %d has vocabulary sizes %d (source) and %d (target), "
                       "model 0 has %d and %d", m, xlat_config_src_vocab(c), c->vocab_size, vs0, v0);
    }
    if (c->max_len < b->max_len) b->max_len = c->max_len;
    double hyp_pos, src_pos, hyp; /* what the model's decoder keeps, roughly */
    xlat_arch_of(c)->state_bytes(c, &hyp_pos, &src_pos, &hyp);
    b->bytes_per_hyp_pos += hyp_pos;
    b->bytes_per_src_pos += src_pos;
    b->bytes_per_hyp += hyp;
  }
  *out = b;
  return XLAT_OK;
}

void xlat_beam_free(xlat_beam *b) {
  if (!b) return;
  for (int32_t m = 0; m < b->n_models; m++)
    if (b->dec) xlat_decoder_free(b->dec[m]);
  free(b->models);
  free(b->dec);
  free(b->lp);
  free(b->work);
  free(b->order);
  free(b->pool);
  free(b->trans);
  free(b->hyps);
  free(b->hyp_ids);
  free(b->hyp_align);
  free(b);
}

const xlat_beam_options *xlat_beam_get_options(const xlat_beam *b) { return &b->opt; }

int32_t xlat_beam_max_source(const xlat_beam *b) { return b->max_len; }

int32_t xlat_beam_max_output(const xlat_beam *b, int32_t src_len) {
  double n = floor((double)b->opt.max_len_a * src_len + b->opt.max_len_b);
  if (n > b->max_len - 1) n = b->max_len - 1;
  return n < 0 ? 0 : (int32_t)n;
}

static double state_bytes(const xlat_beam *b, shape s) {
  return b->bytes_per_hyp_pos * s.hyps * s.tgt + b->bytes_per_src_pos * s.sent * s.src + b->bytes_per_hyp * s.hyps;
}

static double budget(const xlat_beam *b) { return (double)b->opt.max_state_mb * b->n_models * 1048576.0; }

/* (Re)allocates the search arrays for shape c; with base NULL only returns the bytes needed. */
static size_t layout(xlat_beam *b, shape c, char *base) {
  xlat_carver cv = {base, 0};
  size_t H = (size_t)c.hyps, S = (size_t)c.src, T = (size_t)c.tgt, n = (size_t)c.sent, V = (size_t)b->V;
  size_t K = (size_t)b->opt.beam_size;
  for (int32_t m = 0; m < b->n_models; m++) b->lp[m] = xlat_carve(&cv, H * V, sizeof(float));
  b->lp_avg = b->n_models > 1 ? xlat_carve(&cv, H * V, sizeof(float)) : NULL;
  b->attn = xlat_carve(&cv, H * S, sizeof(float));
  b->row_acc = xlat_carve(&cv, H, sizeof(float));
  b->next_acc = xlat_carve(&cv, H, sizeof(float));
  b->srcbuf = xlat_carve(&cv, n * S, sizeof(int32_t));
  int32_t **rows[] = {&b->row_sent, &b->row_tok, &b->parent, &b->next_sent, &b->next_tok};
  for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) *rows[i] = xlat_carve(&cv, H, sizeof(int32_t));
  b->hist_tok = xlat_carve(&cv, H * T, sizeof(int32_t));
  b->hist_par = xlat_carve(&cv, H * T, sizeof(int32_t));
  b->hist_al = xlat_carve(&cv, H * T, sizeof(int32_t));
  int32_t **sents[] = {&b->live, &b->off, &b->nfin, &b->maxout};
  for (size_t i = 0; i < sizeof sents / sizeof *sents; i++) *sents[i] = xlat_carve(&cv, n, sizeof(int32_t));
  b->fin = xlat_carve(&cv, n * K, sizeof(finished));
  b->top = xlat_carve(&cv, K, sizeof(candidate));
  return cv.used;
}

/* Makes the decoders and search arrays hold need: kept when it fits, else regrown to the larger of the two shapes
 * per dimension, or to exactly need when that larger shape is over the memory budget. */
static xlat_status ensure(xlat_beam *b, shape need) {
  shape c = b->cap;
  if (b->work && need.sent <= c.sent && need.src <= c.src && need.hyps <= c.hyps && need.tgt <= c.tgt)
    return XLAT_OK;
  shape g = {need.sent > c.sent ? need.sent : c.sent, need.src > c.src ? need.src : c.src,
             need.hyps > c.hyps ? need.hyps : c.hyps, need.tgt > c.tgt ? need.tgt : c.tgt};
  if (state_bytes(b, g) > budget(b)) g = need;
  for (int32_t m = 0; m < b->n_models; m++) {
    xlat_decoder_free(b->dec[m]);
    b->dec[m] = NULL;
  }
  free(b->work);
  b->work = NULL;
  b->cap = (shape){0, 0, 0, 0};
  for (int32_t m = 0; m < b->n_models; m++) {
    xlat_status s = xlat_decoder_new(b->models[m], g.sent, g.src, g.hyps, g.tgt, &b->dec[m]);
    if (s != XLAT_OK) return s;
  }
  size_t bytes = layout(b, g, NULL);
  b->work = aligned_alloc(64, bytes);
  if (!b->work) return xlat_fail(XLAT_ERR_NOMEM, "beam search: out of memory for %zu bytes of search state", bytes);
  layout(b, g, b->work);
  b->cap = g;
  return XLAT_OK;
}

/* Checks every id of n sequences against a vocabulary of V. */
static xlat_status check_ids(int32_t V, int32_t B, const int32_t *const *seq, const int32_t *len, const char *what) {
  for (int32_t i = 0; i < B; i++) {
    if (len[i] < 0) return xlat_fail(XLAT_ERR_ARG, "%s %d: length %d, expected >= 0", what, i, len[i]);
    for (int32_t j = 0; j < len[i]; j++)
      if (seq[i][j] < 0 || seq[i][j] >= V)
        return xlat_fail(XLAT_ERR_ARG, "%s %d: token %d is id %d, expected 0..%d", what, i, j, seq[i][j], V - 1);
  }
  return XLAT_OK;
}

/* Sorts sentence indices by source length (ties by index) into b->order. */
static xlat_status sort_by_length(xlat_beam *b, int32_t B, const int32_t *src_len) {
  xlat_status s = grow(&b->order, &b->cap_order, (size_t)B, sizeof(int32_t));
  if (s != XLAT_OK) return s;
  /* counting sort: lengths are bounded by max_len */
  int32_t maxl = 0;
  for (int32_t i = 0; i < B; i++)
    if (src_len[i] > maxl) maxl = src_len[i];
  int32_t *count = calloc((size_t)maxl + 2, sizeof *count);
  if (!count) return xlat_fail(XLAT_ERR_NOMEM, "beam search: out of memory");
  for (int32_t i = 0; i < B; i++) count[src_len[i] + 1]++;
  for (int32_t l = 0; l <= maxl; l++) count[l + 1] += count[l];
  for (int32_t i = 0; i < B; i++) b->order[count[src_len[i]]++] = i;
  free(count);
  return XLAT_OK;
}

/* Pads sources order[first..first+n) into b->srcbuf (n,S) and runs every model's encoder. */
static xlat_status encode(xlat_beam *b, const int32_t *idx, int32_t n, int32_t S, const int32_t *const *src,
                          const int32_t *src_len) {
  memset(b->srcbuf, 0, sizeof(int32_t) * (size_t)n * S);
  for (int32_t i = 0; i < n; i++) memcpy(b->srcbuf + (size_t)i * S, src[idx[i]], sizeof(int32_t) * src_len[idx[i]]);
  for (int32_t m = 0; m < b->n_models; m++) {
    xlat_status s = xlat_decoder_encode(b->dec[m], b->srcbuf, n, S);
    if (s != XLAT_OK) return s;
  }
  return XLAT_OK;
}

/* One decoder step of N rows on every model; returns the (averaged) log-probabilities (N,V) in *lp. */
static xlat_status step(xlat_beam *b, int32_t N, int32_t pos, int want_attn, const float **lp) {
  for (int32_t m = 0; m < b->n_models; m++) {
    xlat_status s = xlat_decoder_step(b->dec[m], N, b->row_sent, b->row_tok, pos, b->lp[m],
                                      m == 0 && want_attn ? b->attn : NULL);
    if (s != XLAT_OK) return s;
  }
  if (b->n_models == 1) {
    *lp = b->lp[0];
    return XLAT_OK;
  }
  /* summed in model order, then divided: the same bits whatever the batch */
  size_t n = (size_t)N * b->V;
  float inv = 1.0f / (float)b->n_models;
  for (size_t i = 0; i < n; i++) {
    float sum = b->lp[0][i];
    for (int32_t m = 1; m < b->n_models; m++) sum += b->lp[m][i];
    b->lp_avg[i] = sum * inv;
  }
  *lp = b->lp_avg;
  return XLAT_OK;
}

static xlat_status reorder(xlat_beam *b, int32_t N) {
  for (int32_t m = 0; m < b->n_models; m++) {
    xlat_status s = xlat_decoder_reorder(b->dec[m], N, b->parent);
    if (s != XLAT_OK) return s;
  }
  return XLAT_OK;
}

/* Inserts c into top[0..*n) (best first, at most k kept; when full, c beats the last, which drops out). Equal scores
 * keep the earlier candidate first, so ties go to the lower row, then the lower token. */
static void insert_top(candidate *top, int32_t *n, int32_t k, candidate c) {
  int32_t i = *n < k ? (*n)++ : k - 1;
  while (i > 0 && c.score > top[i - 1].score) {
    top[i] = top[i - 1];
    i--;
  }
  top[i] = c;
}

static int32_t argmax(const float *x, int32_t n) {
  int32_t best = 0;
  for (int32_t i = 1; i < n; i++)
    if (x[i] > x[best]) best = i;
  return best;
}

/* Appends the finished hypothesis of input row r at step t (t tokens before EOS) to the pool, reading the tokens
 * back through the backpointers; records it in f. */
static xlat_status finish(xlat_beam *b, int32_t H, int32_t r, int32_t t, float logprob, int32_t order, finished *f) {
  size_t need = b->pool_len + (size_t)t * (b->opt.alignments ? 2 : 1);
  xlat_status s = grow(&b->pool, &b->cap_pool, need, sizeof(int32_t));
  if (s != XLAT_OK) return s;
  f->logprob = logprob;
  f->len = t;
  f->score = normalized(b->opt.length_penalty, logprob, t + 1);
  f->order = order;
  f->ids = b->pool_len;
  f->align = b->pool_len + (size_t)t;
  for (int32_t lev = t; lev > 0; lev--) {
    size_t h = (size_t)(lev - 1) * H + r;
    b->pool[f->ids + lev - 1] = b->hist_tok[h];
    if (b->opt.alignments) b->pool[f->align + lev - 1] = b->hist_al[h];
    r = b->hist_par[h];
  }
  b->pool_len = need;
  return XLAT_OK;
}

static int finished_cmp(const void *pa, const void *pb) {
  const finished *a = pa, *c = pb;
  if (a->score != c->score) return a->score > c->score ? -1 : 1;
  return (a->order > c->order) - (a->order < c->order);
}

/* Beam search over the n sentences idx[0..n) (sorted by length, S the longest), writing their results. */
static xlat_status search(xlat_beam *b, const int32_t *idx, int32_t n, int32_t S, const int32_t *const *src,
                          const int32_t *src_len) {
  const int32_t K = b->opt.beam_size, V = b->V, want_al = b->opt.alignments;
  int32_t Tmax = 0;
  for (int32_t i = 0; i < n; i++) {
    int32_t m = xlat_beam_max_output(b, src_len[idx[i]]);
    if (m > Tmax) Tmax = m;
  }
  shape need = {n, S, n * K, Tmax + 1};
  xlat_status s = ensure(b, need);
  if (s == XLAT_OK) s = encode(b, idx, n, S, src, src_len);
  if (s != XLAT_OK) return s;
  for (int32_t i = 0; i < n; i++) b->maxout[i] = xlat_beam_max_output(b, src_len[idx[i]]);
  const int32_t H = need.hyps;
  int32_t N = n, order = 0;
  for (int32_t i = 0; i < n; i++) {
    b->row_sent[i] = i;
    b->row_tok[i] = XLAT_BOS;
    b->row_acc[i] = 0.0f;
    b->live[i] = 1;
    b->off[i] = i;
    b->nfin[i] = 0;
  }
  for (int32_t t = 0; N > 0; t++) {
    const float *lp;
    s = step(b, N, t, want_al, &lp);
    if (s != XLAT_OK) return s;
    int32_t next = 0;
    for (int32_t i = 0; i < n; i++) {
      if (b->live[i] == 0) continue;
      int32_t r0 = b->off[i], r1 = r0 + b->live[i], width = K - b->nfin[i], ntop = 0;
      /* a candidate must beat the worst kept one; -inf and NaN never enter */
      float worst = -INFINITY;
      for (int32_t r = r0; r < r1; r++) {
        const float *row = lp + (size_t)r * V;
        float acc = b->row_acc[r];
        /* only EOS is allowed at the length limit */
        int32_t v0 = t == b->maxout[i] ? XLAT_EOS : 0, v1 = t == b->maxout[i] ? XLAT_EOS + 1 : V;
        for (int32_t v = v0; v < v1; v++) {
          float sc = acc + row[v];
          if (!(sc > worst) || v == XLAT_PAD || v == XLAT_BOS) continue;
          insert_top(b->top, &ntop, width, (candidate){sc, r, v});
          if (ntop == width) worst = b->top[width - 1].score;
        }
      }
      int32_t live = 0, noff = next;
      for (int32_t j = 0; j < ntop; j++) {
        candidate c = b->top[j];
        if (c.tok == XLAT_EOS) {
          s = finish(b, H, c.row, t, c.score, order++, &b->fin[(size_t)i * K + b->nfin[i]]);
          if (s != XLAT_OK) return s;
          b->nfin[i]++;
          continue;
        }
        size_t h = (size_t)t * H + next;
        b->hist_tok[h] = c.tok;
        b->hist_par[h] = c.row;
        b->hist_al[h] = want_al ? argmax(b->attn + (size_t)c.row * S, src_len[idx[i]]) : 0;
        b->parent[next] = c.row;
        b->next_sent[next] = i;
        b->next_tok[next] = c.tok;
        b->next_acc[next] = c.score;
        next++;
        live++;
      }
      b->off[i] = noff;
      b->live[i] = live;
    }
    N = next;
    if (N == 0) break;
    s = reorder(b, N);
    if (s != XLAT_OK) return s;
    int32_t *ti = b->row_sent;
    b->row_sent = b->next_sent, b->next_sent = ti;
    ti = b->row_tok;
    b->row_tok = b->next_tok, b->next_tok = ti;
    float *tf = b->row_acc;
    b->row_acc = b->next_acc, b->next_acc = tf;
  }
  /* rank each sentence's finished hypotheses and keep the n-best */
  const int32_t nb = b->opt.n_best;
  for (int32_t i = 0; i < n; i++) {
    finished *f = b->fin + (size_t)i * K;
    int32_t nf = b->nfin[i], out = idx[i];
    qsort(f, (size_t)nf, sizeof *f, finished_cmp);
    if (nf == 0) { /* every extension had log-probability -inf or NaN: an empty output says so */
      f[0] = (finished){-INFINITY, -INFINITY, 0, 0, b->pool_len, b->pool_len};
      nf = 1;
    }
    b->trans[out].n = nf < nb ? nf : nb;
    for (int32_t j = 0; j < b->trans[out].n; j++) {
      size_t o = (size_t)out * nb + j;
      b->hyps[o] = (xlat_hypothesis){NULL, f[j].len, f[j].logprob, f[j].score, NULL};
      b->hyp_ids[o] = f[j].ids;
      b->hyp_align[o] = f[j].align;
    }
  }
  return XLAT_OK;
}

/* The next sub-batch of sorted sentences from order[first]: as many as fit the budget (at least one). seq_tgt gives
 * each sentence's decoder positions and per_sent its hypotheses. */
typedef int32_t (*positions_fn)(const xlat_beam *b, int32_t i, const int32_t *src_len, const int32_t *tgt_len);

static int32_t positions_search(const xlat_beam *b, int32_t i, const int32_t *src_len, const int32_t *tgt_len) {
  (void)tgt_len;
  return xlat_beam_max_output(b, src_len[i]) + 1;
}

static int32_t positions_forced(const xlat_beam *b, int32_t i, const int32_t *src_len, const int32_t *tgt_len) {
  (void)b, (void)src_len;
  return tgt_len[i] + 1;
}

static int32_t next_batch(const xlat_beam *b, int32_t first, int32_t B, int32_t per_sent, positions_fn positions,
                          const int32_t *src_len, const int32_t *tgt_len, int32_t *S_out) {
  int32_t n = 0, S = 0, T = 0;
  while (first + n < B) {
    int32_t i = b->order[first + n], s = src_len[i], t = positions(b, i, src_len, tgt_len);
    shape sh = {n + 1, s > S ? s : S, (n + 1) * per_sent, t > T ? t : T};
    if (n > 0 && state_bytes(b, sh) > budget(b)) break;
    S = sh.src, T = sh.tgt;
    n++;
  }
  *S_out = S;
  return n;
}

static xlat_status prepare_results(xlat_beam *b, int32_t B) {
  size_t nb = (size_t)b->opt.n_best;
  xlat_status s = grow(&b->trans, &b->cap_trans, (size_t)B, sizeof(xlat_translation));
  if (s == XLAT_OK) s = grow(&b->hyps, &b->cap_hyps, (size_t)B * nb, sizeof(xlat_hypothesis));
  if (s == XLAT_OK) s = grow(&b->hyp_ids, &b->cap_hyp_ids, (size_t)B * nb, sizeof(size_t));
  if (s == XLAT_OK) s = grow(&b->hyp_align, &b->cap_hyp_align, (size_t)B * nb, sizeof(size_t));
  b->pool_len = 0;
  return s;
}

xlat_status xlat_beam_translate(xlat_beam *b, int32_t B, const int32_t *const *src, const int32_t *src_len,
                                const xlat_translation **out) {
  *out = NULL;
  if (B < 0) return xlat_fail(XLAT_ERR_ARG, "beam search: %d sentences, expected >= 0", B);
  xlat_status s = check_ids(b->Vs, B, src, src_len, "source sentence");
  if (s != XLAT_OK) return s;
  for (int32_t i = 0; i < B; i++)
    if (src_len[i] > b->max_len)
      return xlat_fail(XLAT_ERR_ARG, "source sentence %d: %d tokens, the model accepts at most %d", i, src_len[i],
                       b->max_len);
  if (B == 0) {
    *out = b->trans;
    return XLAT_OK;
  }
  s = prepare_results(b, B);
  if (s == XLAT_OK) s = sort_by_length(b, B, src_len);
  if (s != XLAT_OK) return s;
  const int32_t nb = b->opt.n_best;
  int32_t first = 0;
  for (; first < B && src_len[b->order[first]] == 0; first++) {
    int32_t i = b->order[first];
    b->trans[i].n = 1;
    b->hyps[(size_t)i * nb] = (xlat_hypothesis){NULL, 0, 0.0f, 0.0f, NULL};
    b->hyp_ids[(size_t)i * nb] = b->hyp_align[(size_t)i * nb] = 0;
  }
  while (first < B) {
    int32_t S, n = next_batch(b, first, B, b->opt.beam_size, positions_search, src_len, NULL, &S);
    s = search(b, b->order + first, n, S, src, src_len);
    if (s != XLAT_OK) return s;
    first += n;
  }
  for (int32_t i = 0; i < B; i++) {
    b->trans[i].hyps = b->hyps + (size_t)i * nb;
    for (int32_t j = 0; j < b->trans[i].n; j++) {
      xlat_hypothesis *h = b->hyps + (size_t)i * nb + j;
      h->ids = b->pool + b->hyp_ids[(size_t)i * nb + j];
      h->align = b->opt.alignments ? b->pool + b->hyp_align[(size_t)i * nb + j] : NULL;
    }
  }
  *out = b->trans;
  return XLAT_OK;
}

/* Forced decoding of sentences idx[0..n): feeds BOS y1..yn, sums log P(y1..yn EOS) per sentence. */
static xlat_status force(xlat_beam *b, const int32_t *idx, int32_t n, int32_t S, const int32_t *const *src,
                         const int32_t *src_len, const int32_t *const *tgt, const int32_t *tgt_len, float *acc) {
  int32_t Tmax = 0;
  for (int32_t i = 0; i < n; i++)
    if (tgt_len[idx[i]] + 1 > Tmax) Tmax = tgt_len[idx[i]] + 1;
  xlat_status s = ensure(b, (shape){n, S, n, Tmax});
  if (s == XLAT_OK) s = encode(b, idx, n, S, src, src_len);
  if (s != XLAT_OK) return s;
  int32_t N = n;
  for (int32_t i = 0; i < n; i++) {
    b->row_sent[i] = i;
    acc[i] = 0.0f;
  }
  for (int32_t t = 0; N > 0; t++) {
    for (int32_t r = 0; r < N; r++) b->row_tok[r] = t == 0 ? XLAT_BOS : tgt[idx[b->row_sent[r]]][t - 1];
    const float *lp;
    s = step(b, N, t, 0, &lp);
    if (s != XLAT_OK) return s;
    int32_t next = 0;
    for (int32_t r = 0; r < N; r++) {
      int32_t i = b->row_sent[r], len = tgt_len[idx[i]];
      int32_t y = t < len ? tgt[idx[i]][t] : XLAT_EOS;
      acc[i] = acc[i] + lp[(size_t)r * b->V + y];
      if (t < len) {
        b->parent[next] = r;
        b->next_sent[next++] = i;
      }
    }
    if (next == 0) break;
    if (next < N) {
      s = reorder(b, next);
      if (s != XLAT_OK) return s;
      memcpy(b->row_sent, b->next_sent, sizeof(int32_t) * (size_t)next);
    }
    N = next;
  }
  return XLAT_OK;
}

xlat_status xlat_beam_score(xlat_beam *b, int32_t B, const int32_t *const *src, const int32_t *src_len,
                            const int32_t *const *tgt, const int32_t *tgt_len, float *logprob, float *score) {
  if (B < 0) return xlat_fail(XLAT_ERR_ARG, "forced decoding: %d sentences, expected >= 0", B);
  xlat_status s = check_ids(b->Vs, B, src, src_len, "source sentence");
  if (s == XLAT_OK) s = check_ids(b->V, B, tgt, tgt_len, "target sentence");
  if (s != XLAT_OK) return s;
  for (int32_t i = 0; i < B; i++) {
    if (src_len[i] > b->max_len)
      return xlat_fail(XLAT_ERR_ARG, "source sentence %d: %d tokens, the model accepts at most %d", i, src_len[i],
                       b->max_len);
    if (tgt_len[i] > b->max_len - 1)
      return xlat_fail(XLAT_ERR_ARG, "target sentence %d: %d tokens, the model accepts at most %d before EOS", i,
                       tgt_len[i], b->max_len - 1);
  }
  if (B == 0) return XLAT_OK;
  s = sort_by_length(b, B, src_len);
  if (s != XLAT_OK) return s;
  float *acc = malloc(sizeof(float) * (size_t)B);
  if (!acc) return xlat_fail(XLAT_ERR_NOMEM, "forced decoding: out of memory");
  int32_t first = 0;
  for (; first < B && src_len[b->order[first]] == 0; first++)
    acc[first] = tgt_len[b->order[first]] == 0 ? 0.0f : -INFINITY;
  while (first < B && s == XLAT_OK) {
    int32_t S, n = next_batch(b, first, B, 1, positions_forced, src_len, tgt_len, &S);
    s = force(b, b->order + first, n, S, src, src_len, tgt, tgt_len, acc + first);
    first += n;
  }
  if (s == XLAT_OK)
    for (int32_t k = 0; k < B; k++) {
      int32_t i = b->order[k];
      if (logprob) logprob[i] = acc[k];
      if (score) score[i] = normalized(b->opt.length_penalty, acc[k], tgt_len[i] + 1);
    }
  free(acc);
  return s;
}

xlat_status xlat_beam_attention(xlat_beam *b, const int32_t *src, int32_t src_len, const int32_t *tgt,
                                int32_t tgt_len, float *out) {
  xlat_status s = check_ids(b->Vs, 1, &src, &src_len, "source sentence");
  if (s == XLAT_OK) s = check_ids(b->V, 1, &tgt, &tgt_len, "target sentence");
  if (s != XLAT_OK) return s;
  if (src_len < 1 || src_len > b->max_len)
    return xlat_fail(XLAT_ERR_ARG, "attention: source of %d tokens, expected 1..%d", src_len, b->max_len);
  if (tgt_len > b->max_len - 1)
    return xlat_fail(XLAT_ERR_ARG, "attention: target of %d tokens, the model accepts at most %d before EOS",
                     tgt_len, b->max_len - 1);
  s = ensure(b, (shape){1, src_len, 1, tgt_len + 1});
  if (s == XLAT_OK) s = xlat_decoder_encode(b->dec[0], src, 1, src_len);
  const int32_t sent = 0;
  for (int32_t t = 0; s == XLAT_OK && t <= tgt_len; t++) {
    int32_t tok = t == 0 ? XLAT_BOS : tgt[t - 1];
    s = xlat_decoder_step(b->dec[0], 1, &sent, &tok, t, b->lp[0], out + (size_t)t * src_len);
  }
  return s;
}

/* test_beam.c - beam search (src/beam.c) on small random models: beam 1 is greedy search, the score of a hypothesis
 * is its forced-decoding score, an exhaustive search agrees with a beam wide enough to hold every output, results do
 * not depend on the batch, ensembles average, options and errors behave, forced attention maps are distributions
 * whose argmax are search's alignments. The check that beam 5 beats beam 1 on a trained model is in
 * tests/cli_decode.sh (it needs a trained model). */
#include <math.h>
#include <string.h>

#include "test.h"
#include "xlat.h"

enum { NSENT = 24 };

static xlat_model *tiny_model(int32_t vocab, uint64_t seed, int pre_norm) {
  xlat_config c;
  CHECK(xlat_config_preset("tiny", &c) == XLAT_OK);
  c.vocab_size = vocab;
  c.d_model = 32;
  c.n_heads = 4;
  c.d_ff = 64;
  c.max_len = 40;
  c.pre_norm = pre_norm;
  xlat_model *m = NULL;
  if (xlat_model_new(&c, seed, &m) != XLAT_OK) {
    fprintf(stderr, "xlat_model_new: %s\n", xlat_last_error());
    exit(1);
  }
  return m;
}

/* NSENT sources of 1..12 tokens drawn from ids 4..vocab-1. */
static void make_sources(int32_t vocab, int32_t src[NSENT][12], int32_t *len, const int32_t **ptr) {
  uint64_t s = 12345;
  for (int i = 0; i < NSENT; i++) {
    len[i] = 1 + i % 12;
    for (int j = 0; j < len[i]; j++) {
      s = s * 6364136223846793005ULL + 1442695040888963407ULL;
      src[i][j] = 4 + (int32_t)((s >> 33) % (uint64_t)(vocab - 4));
    }
    ptr[i] = src[i];
  }
}

/* Greedy search written directly on the decoder API: the reference for beam 1. */
static void greedy(const xlat_model *m, const int32_t *src, int32_t S, int32_t maxout, int32_t *ids, int32_t *len,
                   float *logprob) {
  int32_t V = xlat_model_config(m)->vocab_size;
  xlat_decoder *d = NULL;
  CHECK(xlat_decoder_new(m, 1, S, 1, maxout + 1, &d) == XLAT_OK);
  CHECK(xlat_decoder_encode(d, src, 1, S) == XLAT_OK);
  float *lp = malloc(sizeof(float) * (size_t)V), acc = 0.0f;
  int32_t tok = XLAT_BOS, sent = 0, n = 0;
  for (int32_t t = 0;; t++) {
    CHECK(xlat_decoder_step(d, 1, &sent, &tok, t, lp, NULL) == XLAT_OK);
    int32_t best = XLAT_EOS;
    if (t < maxout)
      for (int32_t v = 0; v < V; v++)
        if (v != XLAT_PAD && v != XLAT_BOS && lp[v] > lp[best]) best = v;
    acc = acc + lp[best];
    if (best == XLAT_EOS) break;
    ids[n++] = best;
    tok = best;
  }
  *len = n;
  *logprob = acc;
  free(lp);
  xlat_decoder_free(d);
}

static int same_hyp(const xlat_hypothesis *a, const xlat_hypothesis *b) {
  return a->len == b->len && memcmp(a->ids, b->ids, sizeof(int32_t) * (size_t)a->len) == 0 &&
         a->logprob == b->logprob && a->score == b->score;
}

/* Copies the first hypotheses of n translations (the searcher's storage is reused by the next call). */
typedef struct {
  int32_t ids[64], len;
  float logprob, score;
} saved;

static void save(const xlat_translation *tr, int n, saved *out) {
  for (int i = 0; i < n; i++) {
    const xlat_hypothesis *h = &tr[i].hyps[0];
    memcpy(out[i].ids, h->ids, sizeof(int32_t) * (size_t)h->len);
    out[i].len = h->len, out[i].logprob = h->logprob, out[i].score = h->score;
  }
}

static int same_saved(const saved *a, const xlat_hypothesis *h) {
  return a->len == h->len && memcmp(a->ids, h->ids, sizeof(int32_t) * (size_t)h->len) == 0 &&
         a->logprob == h->logprob && a->score == h->score;
}

static void test_greedy_and_forced(const xlat_model *m, int32_t vocab) {
  int32_t src[NSENT][12], len[NSENT];
  const int32_t *ptr[NSENT];
  make_sources(vocab, src, len, ptr);
  xlat_beam_options o;
  xlat_beam_options_default(&o);
  o.beam_size = 1;
  o.max_len_a = 1.0f;
  o.max_len_b = 3.0f;
  xlat_beam *b = NULL;
  CHECK(xlat_beam_new(&m, 1, &o, &b) == XLAT_OK);
  const xlat_translation *tr = NULL;
  CHECK(xlat_beam_translate(b, NSENT, ptr, len, &tr) == XLAT_OK);
  int greedy_same = 0;
  for (int i = 0; i < NSENT; i++) {
    int32_t ids[64], n;
    float lp;
    greedy(m, src[i], len[i], xlat_beam_max_output(b, len[i]), ids, &n, &lp);
    const xlat_hypothesis *h = &tr[i].hyps[0];
    greedy_same += tr[i].n == 1 && h->len == n && memcmp(h->ids, ids, sizeof(int32_t) * (size_t)n) == 0 &&
                   h->logprob == lp;
    CHECK(h->len <= xlat_beam_max_output(b, len[i]));
  }
  CHECK(greedy_same == NSENT);

  /* beam 5 with 3-best: every hypothesis's logprob and score equal forced decoding of its ids, bit for bit */
  xlat_beam_free(b);
  o.beam_size = 5;
  o.n_best = 3;
  o.alignments = 1;
  CHECK(xlat_beam_new(&m, 1, &o, &b) == XLAT_OK);
  CHECK(xlat_beam_translate(b, NSENT, ptr, len, &tr) == XLAT_OK);
  const int32_t *hs[3 * NSENT], *hsrc[3 * NSENT];
  int32_t hl[3 * NSENT], hsl[3 * NSENT], n = 0;
  float want_lp[3 * NSENT], want_sc[3 * NSENT], got_lp[3 * NSENT], got_sc[3 * NSENT];
  int ordered = 1, aligned = 1;
  for (int i = 0; i < NSENT; i++) {
    CHECK(tr[i].n == 3);
    for (int k = 0; k < tr[i].n; k++) {
      const xlat_hypothesis *h = &tr[i].hyps[k];
      if (k > 0 && h->score > tr[i].hyps[k - 1].score) ordered = 0;
      for (int t = 0; t < h->len; t++) aligned &= h->align[t] >= 0 && h->align[t] < len[i];
      CHECK_CLOSE(h->score, h->logprob / xlat_length_penalty(o.length_penalty, h->len + 1), 1e-6);
      hs[n] = h->ids, hl[n] = h->len, hsrc[n] = ptr[i], hsl[n] = len[i];
      want_lp[n] = h->logprob, want_sc[n] = h->score;
      n++;
    }
  }
  CHECK(ordered);
  CHECK(aligned);
  /* a second searcher: scoring must not disturb the first one's results */
  xlat_beam *scorer = NULL;
  CHECK(xlat_beam_new(&m, 1, &o, &scorer) == XLAT_OK);
  CHECK(xlat_beam_score(scorer, n, hsrc, hsl, hs, hl, got_lp, got_sc) == XLAT_OK);
  int equal = 0;
  for (int k = 0; k < n; k++) equal += got_lp[k] == want_lp[k] && got_sc[k] == want_sc[k];
  CHECK(equal == n);
  if (equal != n)
    for (int k = 0; k < n; k++)
      if (got_lp[k] != want_lp[k]) fprintf(stderr, "  hyp %d: search %.9g, forced %.9g\n", k, want_lp[k], got_lp[k]);
  xlat_beam_free(scorer);
  xlat_beam_free(b);
}

/* The same sentences translated all at once, one by one, in reverse order and with a tiny memory budget (many
 * sub-batches) give bit-identical results. */
static void test_batch_independence(const xlat_model *m, int32_t vocab) {
  int32_t src[NSENT][12], len[NSENT];
  const int32_t *ptr[NSENT];
  make_sources(vocab, src, len, ptr);
  xlat_beam_options o;
  xlat_beam_options_default(&o);
  o.max_len_a = 1.0f;
  o.max_len_b = 4.0f;
  xlat_beam *b = NULL;
  CHECK(xlat_beam_new(&m, 1, &o, &b) == XLAT_OK);
  const xlat_translation *tr = NULL;
  saved all[NSENT];
  CHECK(xlat_beam_translate(b, NSENT, ptr, len, &tr) == XLAT_OK);
  save(tr, NSENT, all);
  int alone = 0, reversed = 0, budget = 0;
  for (int i = 0; i < NSENT; i++) {
    CHECK(xlat_beam_translate(b, 1, &ptr[i], &len[i], &tr) == XLAT_OK);
    alone += same_saved(&all[i], &tr[0].hyps[0]);
  }
  const int32_t *rp[NSENT];
  int32_t rl[NSENT];
  for (int i = 0; i < NSENT; i++) rp[i] = ptr[NSENT - 1 - i], rl[i] = len[NSENT - 1 - i];
  CHECK(xlat_beam_translate(b, NSENT, rp, rl, &tr) == XLAT_OK);
  for (int i = 0; i < NSENT; i++) reversed += same_saved(&all[NSENT - 1 - i], &tr[i].hyps[0]);
  xlat_beam_free(b);
  o.max_state_mb = 1;
  CHECK(xlat_beam_new(&m, 1, &o, &b) == XLAT_OK);
  CHECK(xlat_beam_translate(b, NSENT, ptr, len, &tr) == XLAT_OK);
  for (int i = 0; i < NSENT; i++) budget += same_saved(&all[i], &tr[i].hyps[0]);
  CHECK(alone == NSENT);
  CHECK(reversed == NSENT);
  CHECK(budget == NSENT);
  if (alone != NSENT || reversed != NSENT || budget != NSENT)
    fprintf(stderr, "  batch independence: alone %d, reversed %d, 1 MB budget %d of %d\n", alone, reversed, budget,
            NSENT);
  xlat_beam_free(b);
}

/* With a vocabulary of 7 (4 ordinary tokens) and at most 3 output tokens there are 1 + 4 + 16 + 64 = 85 outputs:
 * a beam of 100 holds them all, so search is exact; compare with scoring every output by forced decoding. */
static void test_exhaustive(void) {
  xlat_model *m = tiny_model(7, 99, 0);
  const xlat_model *mc = m;
  xlat_beam_options o;
  xlat_beam_options_default(&o);
  o.beam_size = 100;
  o.n_best = 5;
  o.max_len_a = 0.0f;
  o.max_len_b = 3.0f;
  o.length_penalty = 1.0f;
  xlat_beam *b = NULL;
  CHECK(xlat_beam_new(&mc, 1, &o, &b) == XLAT_OK);
  int32_t src[3][4] = {{4, 5, 6, 4}, {6}, {5, 5}};
  int32_t slen[3] = {4, 1, 2};
  const int32_t *sp[3] = {src[0], src[1], src[2]};
  const xlat_translation *tr = NULL;
  CHECK(xlat_beam_translate(b, 3, sp, slen, &tr) == XLAT_OK);
  saved best[3][5];
  int32_t nbest[3];
  for (int i = 0; i < 3; i++) {
    nbest[i] = tr[i].n;
    for (int k = 0; k < tr[i].n; k++) save(&(xlat_translation){1, &tr[i].hyps[k]}, 1, &best[i][k]);
  }
  /* every output: tokens from {1 (unk), 4, 5, 6}, length 0..3 */
  int32_t outs[85][3], olen[85], n = 0;
  const int32_t alphabet[4] = {1, 4, 5, 6};
  for (int l = 0; l <= 3; l++) {
    int count = 1;
    for (int k = 0; k < l; k++) count *= 4;
    for (int c = 0; c < count; c++, n++) {
      olen[n] = l;
      for (int k = 0, x = c; k < l; k++, x /= 4) outs[n][k] = alphabet[x % 4];
    }
  }
  CHECK(n == 85);
  for (int i = 0; i < 3; i++) {
    const int32_t *tp[85], *ss[85];
    int32_t sl[85];
    float sc[85];
    for (int k = 0; k < 85; k++) tp[k] = outs[k], ss[k] = sp[i], sl[k] = slen[i];
    CHECK(xlat_beam_score(b, 85, ss, sl, tp, olen, NULL, sc) == XLAT_OK);
    /* the k-th best of the exhaustive list equals the k-th hypothesis returned */
    for (int k = 0; k < nbest[i]; k++) {
      int arg = -1;
      for (int j = 0; j < 85; j++) {
        int taken = 0;
        for (int q = 0; q < k; q++)
          taken |= best[i][q].len == olen[j] && !memcmp(best[i][q].ids, outs[j], sizeof(int32_t) * (size_t)olen[j]);
        if (!taken && (arg < 0 || sc[j] > sc[arg])) arg = j;
      }
      CHECK(best[i][k].score == sc[arg]);
    }
  }
  CHECK(nbest[0] == 5);
  xlat_beam_free(b);
  xlat_model_free(m);
}

static void test_ensemble(const xlat_model *m1, const xlat_model *m2, int32_t vocab) {
  int32_t src[NSENT][12], len[NSENT];
  const int32_t *ptr[NSENT];
  make_sources(vocab, src, len, ptr);
  xlat_beam_options o;
  xlat_beam_options_default(&o);
  o.max_len_a = 0.0f;
  o.max_len_b = 6.0f;
  xlat_beam *one = NULL, *twice = NULL, *pair = NULL, *second = NULL;
  const xlat_model *same[2] = {m1, m1}, *both[2] = {m1, m2};
  CHECK(xlat_beam_new(&m1, 1, &o, &one) == XLAT_OK);
  CHECK(xlat_beam_new(same, 2, &o, &twice) == XLAT_OK);
  CHECK(xlat_beam_new(both, 2, &o, &pair) == XLAT_OK);
  CHECK(xlat_beam_new(&m2, 1, &o, &second) == XLAT_OK);
  const xlat_translation *a = NULL, *c = NULL;
  CHECK(xlat_beam_translate(one, NSENT, ptr, len, &a) == XLAT_OK);
  CHECK(xlat_beam_translate(twice, NSENT, ptr, len, &c) == XLAT_OK);
  int same_count = 0;
  for (int i = 0; i < NSENT; i++) same_count += same_hyp(&a[i].hyps[0], &c[i].hyps[0]);
  CHECK(same_count == NSENT); /* (x + x) / 2 == x exactly */
  /* a real ensemble: its forced score is the mean of the members' per-token log-probabilities */
  CHECK(xlat_beam_translate(pair, NSENT, ptr, len, &c) == XLAT_OK);
  const int32_t *hs[NSENT];
  int32_t hl[NSENT];
  float lp_pair[NSENT], lp1[NSENT], lp2[NSENT];
  for (int i = 0; i < NSENT; i++) hs[i] = c[i].hyps[0].ids, hl[i] = c[i].hyps[0].len;
  CHECK(xlat_beam_score(pair, NSENT, ptr, len, hs, hl, lp_pair, NULL) == XLAT_OK);
  CHECK(xlat_beam_score(one, NSENT, ptr, len, hs, hl, lp1, NULL) == XLAT_OK);
  CHECK(xlat_beam_score(second, NSENT, ptr, len, hs, hl, lp2, NULL) == XLAT_OK);
  for (int i = 0; i < NSENT; i++) {
    CHECK(lp_pair[i] == c[i].hyps[0].logprob);
    CHECK_CLOSE(lp_pair[i], 0.5 * (lp1[i] + lp2[i]), 1e-5);
  }
  xlat_beam_free(one);
  xlat_beam_free(twice);
  xlat_beam_free(pair);
  xlat_beam_free(second);
}

static void test_options_and_errors(const xlat_model *m, int32_t vocab) {
  CHECK_CLOSE(xlat_length_penalty(0.0f, 7), 1.0, 0);
  CHECK_CLOSE(xlat_length_penalty(1.0f, 7), 2.0, 1e-12);
  CHECK_CLOSE(xlat_length_penalty(0.6f, 1), 1.0, 1e-12);
  CHECK_CLOSE(xlat_length_penalty(0.6f, 13), pow(3.0, (double)0.6f), 1e-12); /* alpha arrives as a float */
  xlat_beam_options o;
  xlat_beam_options_default(&o);
  CHECK(o.beam_size == 5 && o.n_best == 1);
  xlat_beam *b = NULL;
  o.n_best = 6;
  CHECK(xlat_beam_new(&m, 1, &o, &b) == XLAT_ERR_ARG && b == NULL);
  o.n_best = 1;
  o.beam_size = 0;
  CHECK(xlat_beam_new(&m, 1, &o, &b) == XLAT_ERR_ARG);
  o.beam_size = 4;
  o.length_penalty = NAN;
  CHECK(xlat_beam_new(&m, 1, &o, &b) == XLAT_ERR_ARG);
  o.length_penalty = 0.6f;
  CHECK(xlat_beam_new(&m, 0, &o, &b) == XLAT_ERR_ARG);
  xlat_model *other = tiny_model(vocab + 1, 3, 0);
  const xlat_model *mixed[2] = {m, other};
  CHECK(xlat_beam_new(mixed, 2, &o, &b) == XLAT_ERR_MISMATCH);
  CHECK(strstr(xlat_last_error(), "vocabulary") != NULL);
  xlat_model_free(other);

  o.max_len_a = 0.5f;
  o.max_len_b = 2.0f;
  CHECK(xlat_beam_new(&m, 1, &o, &b) == XLAT_OK);
  CHECK(xlat_beam_max_source(b) == 40);
  CHECK(xlat_beam_max_output(b, 5) == 4);
  CHECK(xlat_beam_max_output(b, 1000) == 39); /* never past the model's positions */
  int32_t s0[3] = {5, 6, 7}, bad[2] = {5, vocab}, longsrc[41];
  for (int i = 0; i < 41; i++) longsrc[i] = 5;
  const int32_t *sp[3] = {s0, NULL, s0};
  int32_t sl[3] = {3, 0, 3};
  const xlat_translation *tr = NULL;
  CHECK(xlat_beam_translate(b, 3, sp, sl, &tr) == XLAT_OK);
  CHECK(tr[1].n == 1 && tr[1].hyps[0].len == 0 && tr[1].hyps[0].logprob == 0.0f); /* empty source, empty output */
  CHECK(same_hyp(&tr[0].hyps[0], &tr[2].hyps[0]));
  CHECK(tr[0].hyps[0].len <= 3 && tr[0].hyps[0].align == NULL);
  CHECK(xlat_beam_translate(b, 0, sp, sl, &tr) == XLAT_OK);
  const int32_t *bp = bad, *lp = longsrc;
  int32_t bl = 2, ll = 41;
  CHECK(xlat_beam_translate(b, 1, &bp, &bl, &tr) == XLAT_ERR_ARG);
  CHECK(strstr(xlat_last_error(), "source sentence 0") != NULL);
  CHECK(xlat_beam_translate(b, 1, &lp, &ll, &tr) == XLAT_ERR_ARG);
  float score = 1.0f;
  const int32_t *e = NULL;
  int32_t el = 0;
  CHECK(xlat_beam_score(b, 1, &e, &el, &e, &el, &score, NULL) == XLAT_OK && score == 0.0f);
  CHECK(xlat_beam_score(b, 1, &e, &el, &sp[0], &sl[0], &score, NULL) == XLAT_OK && isinf(score) && score < 0);
  ll = 40;
  CHECK(xlat_beam_score(b, 1, &sp[0], &sl[0], &lp, &ll, &score, NULL) == XLAT_ERR_ARG); /* 40 + EOS > 40 */
  xlat_beam_free(b);
  xlat_beam_free(NULL);
}

/* xlat_beam_attention: rows are distributions over the source (zeros without attention), their argmax are the
 * alignments greedy search records for the same output, and bad arguments are refused. */
static void test_attention(const xlat_model *m, int32_t vocab) {
  int32_t src[NSENT][12], sl[NSENT];
  const int32_t *sp[NSENT];
  make_sources(vocab, src, sl, sp);
  xlat_beam_options o;
  xlat_beam_options_default(&o);
  o.beam_size = 1;
  o.alignments = 1;
  xlat_beam *b = NULL;
  CHECK(xlat_beam_new(&m, 1, &o, &b) == XLAT_OK);
  const int none = xlat_model_config(m)->arch != XLAT_ARCH_TRANSFORMER &&
                   xlat_model_config(m)->attention == XLAT_ATTN_NONE;
  for (int i = 0; i < NSENT; i += 5) {
    const xlat_translation *tr;
    CHECK(xlat_beam_translate(b, 1, &sp[i], &sl[i], &tr) == XLAT_OK);
    const xlat_hypothesis h = tr[0].hyps[0];
    int32_t ids[64], al[64], n = h.len;
    memcpy(ids, h.ids, sizeof(int32_t) * (size_t)n);
    memcpy(al, h.align, sizeof(int32_t) * (size_t)n);
    float *a = malloc(sizeof(float) * (size_t)(n + 1) * sl[i]);
    CHECK(xlat_beam_attention(b, sp[i], sl[i], ids, n, a) == XLAT_OK);
    for (int32_t t = 0; t <= n; t++) {
      const float *row = a + (size_t)t * sl[i];
      double sum = 0.0;
      int32_t best = 0, neg = 0;
      for (int32_t j = 0; j < sl[i]; j++) {
        sum += row[j], neg += row[j] < 0.0f;
        if (row[j] > row[best]) best = j;
      }
      CHECK(neg == 0);
      CHECK_CLOSE(sum, none ? 0.0 : 1.0, 1e-5);
      if (t < n) CHECK(best == al[t]);
    }
    free(a);
  }
  float a[4];
  const int32_t *e = NULL, bad[] = {4, vocab};
  int32_t zero = 0, two = 2;
  CHECK(xlat_beam_attention(b, e, zero, e, zero, a) == XLAT_ERR_ARG);
  CHECK(xlat_beam_attention(b, bad, two, e, zero, a) == XLAT_ERR_ARG && strstr(xlat_last_error(), "source"));
  CHECK(xlat_beam_attention(b, sp[1], sl[1], bad, two, a) == XLAT_ERR_ARG && strstr(xlat_last_error(), "target"));
  xlat_beam_free(b);
}

static xlat_model *recurrent_model(int32_t vocab, int32_t arch, int32_t attention, uint64_t seed) {
  xlat_config c = {.arch = arch, .vocab_size = vocab, .d_model = 16, .n_heads = 1, .enc_layers = 1,
                   .dec_layers = 1, .max_len = 40, .tied_embeddings = 1, .emb_dim = 16, .attention = attention,
                   .bidirectional = 1};
  xlat_model *m = NULL;
  if (xlat_model_new(&c, seed, &m) != XLAT_OK) {
    fprintf(stderr, "xlat_model_new: %s\n", xlat_last_error());
    exit(1);
  }
  return m;
}

int main(void) {
  const int32_t V = 50;
  xlat_model *post = tiny_model(V, 7, 0), *pre = tiny_model(V, 8, 1);
  test_greedy_and_forced(post, V);
  test_greedy_and_forced(pre, V);
  test_batch_independence(post, V);
  test_batch_independence(pre, V);
  test_exhaustive();
  test_ensemble(post, pre, V);
  test_options_and_errors(post, V);
  test_attention(post, V);
  test_attention(pre, V);
  xlat_model *gru = recurrent_model(V, XLAT_ARCH_GRU, XLAT_ATTN_ADDITIVE, 9);
  xlat_model *lstm = recurrent_model(V, XLAT_ARCH_LSTM, XLAT_ATTN_NONE, 10);
  test_attention(gru, V);
  test_attention(lstm, V);
  xlat_model_free(gru);
  xlat_model_free(lstm);
  xlat_model_free(post);
  xlat_model_free(pre);
  TEST_END();
}

/* test_decoder.c - cached incremental decoding (src/decoder.c, src/transformer_decode.c, src/rnn_decode.c): on tiny
 * random models of every variant (Transformers post/pre-norm, ReLU/GELU, tied/untied, sinusoidal/learned/relative
 * positions; recurrent models of each cell and attention, bidirectional or not, input feeding) the step-by-step
 * log-probabilities equal the training path's eval forward (teacher forcing) within 1e-5, with padding in the
 * source batch; a sentence decoded alone gives the same bits as inside a padded batch; reordering the cache (permutations, duplicates,
 * cycles, growing and shrinking beams) gives the same bits as decoding each hypothesis's history from scratch; the
 * cross-attention output is a distribution over the real source tokens; bad arguments are refused. */
#include <string.h>

#include "internal.h"
#include "test.h"

enum { B = 3, S = 6, T = 5, V = 30 };

static double worst_all, worst_rel; /* largest |incremental - full| over every variant and over the relative ones */

static const int32_t SRC[B * S] = {4, 5, 6, 7, 8, 3, /* */ 9, 10, 3, 0, 0, 0, /* */ 3, 0, 0, 0, 0, 0};
static const int32_t SRC_LEN[B] = {6, 3, 1};
static const int32_t TGT_IN[B * T] = {2, 11, 12, 13, 14, /* */ 2, 15, 0, 0, 0, /* */ 2, 16, 17, 18, 0};
static const int32_t TGT_OUT[B * T] = {11, 12, 13, 14, 3, /* */ 15, 3, 0, 0, 0, /* */ 16, 17, 18, 3, 0};
static const int32_t TGT_LEN[B] = {5, 2, 4};

static uint64_t lcg = 88172645463325252ULL;
static float uniform(void) { /* [-1, 1) */
  lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
  return (float)((lcg >> 40) * (1.0 / 8388608.0)) - 1.0f;
}

/* variants 0..31 are Transformers with absolute positions, 32..39 with relative positions, the next 12 recurrent */
enum { N_ABSOLUTE = 32, N_TRANSFORMERS = 40, N_RECURRENT = 12 };

/* Recurrent variant r: each cell with each attention, bidirectional in the second half, input feeding where it
 * applies on odd pairs, tied embeddings for r % 5 == 0. */
static xlat_config recurrent_config(int r) {
  int attention = r % 4, tied = r % 5 == 0;
  return (xlat_config){.arch = XLAT_ARCH_RNN + r % 3, .vocab_size = V, .d_model = 16, .n_heads = 1,
                       .enc_layers = 2, .dec_layers = 2, .max_len = 12, .tied_embeddings = tied,
                       .emb_dim = tied ? 16 : 12, .attention = attention, .bidirectional = r >= 6,
                       .input_feeding = (attention == XLAT_ATTN_DOT || attention == XLAT_ATTN_GENERAL) && (r / 2) % 2};
}

/* A tiny model of the given variant whose every parameter (biases and norms included) is perturbed, so each one
 * takes part in the comparison. */
static xlat_model *tiny_model(int variant) {
  xlat_config c;
  CHECK(xlat_config_preset("tiny", &c) == XLAT_OK);
  if (variant >= N_TRANSFORMERS) c = recurrent_config(variant - N_TRANSFORMERS);
  else {
    c.vocab_size = V;
    c.d_model = variant & 16 ? 12 : 16; /* head size 6: not a multiple of the 8-wide dot products */
    c.n_heads = 2;
    c.d_ff = 24;
    c.enc_layers = 2;
    c.dec_layers = 2;
    c.max_len = 12;
    c.pre_norm = variant & 1;
    c.activation = variant & 2 ? XLAT_ACT_GELU : XLAT_ACT_RELU;
    c.tied_embeddings = !(variant & 4);
    c.positions = variant & 8 ? XLAT_POS_LEARNED : XLAT_POS_SINUSOIDAL;
    if (variant >= N_ABSOLUTE) { /* Shaw et al.: K 2 clips the distances of S 6, T 5; K 8 (variant 37) none */
      c.d_model = variant & 1 ? 12 : 16;
      c.positions = XLAT_POS_RELATIVE;
      c.rel_clip = variant == N_ABSOLUTE + 5 ? 8 : 2;
    }
  }
  xlat_model *m = NULL;
  if (xlat_model_new(&c, 1000 + (uint64_t)variant, &m) != XLAT_OK) {
    fprintf(stderr, "xlat_model_new: %s\n", xlat_last_error());
    exit(1);
  }
  for (size_t i = 0; i < m->n_params; i++) m->params[i] += 0.2f * uniform();
  return m;
}

/* Log-probabilities (B,T,V) of the training path in eval mode. */
static void full_forward(xlat_model *m, float *out) {
  xlat_train_options o;
  xlat_train_options_default(&o);
  o.max_tokens = B * (S > T ? S : T);
  o.max_len = 12;
  xlat_trainer *t = NULL;
  CHECK(xlat_trainer_new(m, &o, 1, &t) == XLAT_OK);
  xlat_batch b = {B, S, T, SRC, TGT_IN, TGT_OUT};
  CHECK(t && xlat_trainer_forward(t, &b, 1, out) == XLAT_OK);
  xlat_trainer_free(t);
}

static void test_matches_full_forward(int variant) {
  xlat_model *m = tiny_model(variant);
  float full[B * T * V], lp[B * V], attn[B * S];
  full_forward(m, full);
  xlat_decoder *d = NULL;
  CHECK(xlat_decoder_new(m, B, S, B, T, &d) == XLAT_OK);
  CHECK(xlat_decoder_encode(d, SRC, B, S) == XLAT_OK);
  int32_t sent[B] = {0, 1, 2}, tok[B];
  double worst = 0.0;
  for (int pos = 0; pos < T; pos++) {
    for (int i = 0; i < B; i++) tok[i] = TGT_IN[i * T + pos];
    CHECK(xlat_decoder_step(d, B, sent, tok, pos, lp, attn) == XLAT_OK);
    for (int i = 0; i < B; i++) {
      if (pos >= TGT_LEN[i]) continue;
      for (int v = 0; v < V; v++) {
        double diff = fabs((double)lp[i * V + v] - full[(i * T + pos) * V + v]);
        if (diff > worst) worst = diff;
        CHECK_CLOSE(lp[i * V + v], full[(i * T + pos) * V + v], 1e-5);
      }
      double sum = 0.0;
      for (int s = 0; s < S; s++) {
        sum += attn[i * S + s];
        if (s >= SRC_LEN[i]) CHECK(attn[i * S + s] == 0.0f);
      }
      /* a distribution over the real source tokens; none for the context-vector model */
      CHECK_CLOSE(sum, xlat_model_config(m)->arch != XLAT_ARCH_TRANSFORMER &&
                               xlat_model_config(m)->attention == XLAT_ATTN_NONE ? 0.0 : 1.0, 1e-5);
    }
  }
  if (worst > 1e-5) fprintf(stderr, "  variant %d: largest difference %.3g\n", variant, worst);
  if (worst > worst_all) worst_all = worst;
  if (xlat_model_config(m)->positions == XLAT_POS_RELATIVE && worst > worst_rel) worst_rel = worst;

  /* sentence 1 alone, without padding, and as the second of two rows: the same bits as in the batch */
  xlat_decoder *alone = NULL;
  CHECK(xlat_decoder_new(m, 2, S, 4, T, &alone) == XLAT_OK);
  CHECK(xlat_decoder_encode(alone, SRC + S, 1, SRC_LEN[1]) == XLAT_OK);
  CHECK(xlat_decoder_encode(d, SRC, B, S) == XLAT_OK);
  float lp1[4 * V];
  int same = 1;
  for (int pos = 0; pos < TGT_LEN[1]; pos++) {
    for (int i = 0; i < B; i++) tok[i] = TGT_IN[i * T + pos];
    int32_t s2[2] = {0, 0}, t2[2] = {tok[0], tok[1]};
    CHECK(xlat_decoder_step(d, B, sent, tok, pos, lp, NULL) == XLAT_OK);
    CHECK(xlat_decoder_step(alone, 2, s2, t2, pos, lp1, NULL) == XLAT_OK);
    same &= memcmp(lp + V, lp1 + V, sizeof(float) * V) == 0;
  }
  CHECK(same);
  xlat_decoder_free(alone);
  xlat_decoder_free(d);
  xlat_model_free(m);
}

/* Log-probabilities after feeding hist[0..n) of one hypothesis of sentence sent from scratch. */
static void decode_alone(const xlat_model *m, int sent, const int32_t *hist, int n, float *lp) {
  xlat_decoder *d = NULL;
  CHECK(xlat_decoder_new(m, 1, S, 1, T + 3, &d) == XLAT_OK);
  CHECK(xlat_decoder_encode(d, SRC + sent * S, 1, S) == XLAT_OK);
  int32_t zero = 0;
  for (int pos = 0; pos < n; pos++) CHECK(xlat_decoder_step(d, 1, &zero, &hist[pos], pos, lp, NULL) == XLAT_OK);
  xlat_decoder_free(d);
}

/* Beams over two sentences that grow, shrink, swap, duplicate and cycle; every row's log-probabilities must be
 * those of its own history decoded alone. */
static void test_reorder(int variant) {
  enum { MAXH = 6, STEPS = T + 3 };
  xlat_model *m = tiny_model(variant);
  xlat_decoder *d = NULL;
  CHECK(xlat_decoder_new(m, B, S, MAXH, STEPS, &d) == XLAT_OK);
  CHECK(xlat_decoder_encode(d, SRC, B, S) == XLAT_OK);
  /* parents per step (-1 ends a list); each list's length is the next step's row count */
  static const int32_t parents[STEPS - 1][MAXH + 1] = {
      {0, 0, 1, 1, -1},    /* 2 -> 4: duplicates */
      {1, 0, 3, 2, -1},    /* swaps */
      {1, 2, 0, 3, -1},    /* a 3-cycle */
      {3, 3, 3, 0, 1, -1}, /* one parent, many children, and growth */
      {4, 0, -1},          /* shrink */
      {0, 1, 1, 0, 0, 1, -1},
      {5, 4, 3, 2, 1, 0, -1}, /* reversal */
  };
  int32_t hist[MAXH][STEPS], sent[MAXH] = {0, 2}, tok[MAXH], next_sent[MAXH], next_hist[MAXH][STEPS];
  int n = 2, ok = 1;
  float lp[MAXH * V], ref[V];
  for (int i = 0; i < n; i++) hist[i][0] = XLAT_BOS;
  for (int pos = 0; pos < STEPS; pos++) {
    for (int i = 0; i < n; i++) tok[i] = hist[i][pos];
    CHECK(xlat_decoder_step(d, n, sent, tok, pos, lp, NULL) == XLAT_OK);
    for (int i = 0; i < n; i++) {
      decode_alone(m, sent[i], hist[i], pos + 1, ref);
      ok &= memcmp(ref, lp + i * V, sizeof ref) == 0;
    }
    if (pos == STEPS - 1) break;
    const int32_t *par = parents[pos];
    int next = 0;
    while (par[next] >= 0) {
      next_sent[next] = sent[par[next]];
      memcpy(next_hist[next], hist[par[next]], sizeof hist[0]);
      next_hist[next][pos + 1] = 4 + (int32_t)((uniform() + 1.0f) * 12.0f);
      next++;
    }
    CHECK(xlat_decoder_reorder(d, next, par) == XLAT_OK);
    n = next;
    memcpy(sent, next_sent, sizeof sent);
    memcpy(hist, next_hist, sizeof hist);
  }
  CHECK(ok);
  xlat_decoder_free(d);
  xlat_model_free(m);
}

static void test_errors(void) {
  xlat_model *m = tiny_model(0);
  xlat_decoder *d = NULL;
  CHECK(xlat_decoder_new(m, 2, 13, 2, 4, &d) == XLAT_ERR_ARG); /* longer than max_len 12 */
  CHECK(d == NULL);
  CHECK(xlat_decoder_new(m, 2, S, 2, 4, &d) == XLAT_OK);
  float lp[2 * V];
  int32_t sent[2] = {0, 1}, tok[2] = {XLAT_BOS, XLAT_BOS};
  CHECK(xlat_decoder_step(d, 1, sent, tok, 0, lp, NULL) == XLAT_ERR_ARG); /* nothing encoded */
  CHECK(xlat_decoder_encode(d, SRC, 3, S) == XLAT_ERR_ARG);                /* 3 sentences > 2 */
  int32_t bad[S] = {4, 5, V, 0, 0, 0};
  CHECK(xlat_decoder_encode(d, bad, 1, S) == XLAT_ERR_ARG);
  CHECK(strstr(xlat_last_error(), "id 30") != NULL);
  CHECK(xlat_decoder_encode(d, SRC, 2, S) == XLAT_OK);
  CHECK(xlat_decoder_step(d, 2, sent, tok, 1, lp, NULL) == XLAT_ERR_ARG); /* position 1 before position 0 */
  CHECK(xlat_decoder_step(d, 3, sent, tok, 0, lp, NULL) == XLAT_ERR_ARG); /* 3 hypotheses > 2 */
  sent[1] = 2;
  CHECK(xlat_decoder_step(d, 2, sent, tok, 0, lp, NULL) == XLAT_ERR_ARG); /* sentence 2 not encoded */
  sent[1] = 1;
  CHECK(xlat_decoder_step(d, 2, sent, tok, 0, lp, NULL) == XLAT_OK);
  int32_t par[2] = {0, 2};
  CHECK(xlat_decoder_reorder(d, 2, par) == XLAT_ERR_ARG);
  xlat_decoder_free(d);
  xlat_decoder_free(NULL);
  xlat_model_free(m);
}

int main(void) {
  for (int variant = 0; variant < N_TRANSFORMERS + N_RECURRENT; variant++) test_matches_full_forward(variant);
  for (int variant = 0; variant < N_TRANSFORMERS; variant += 5) test_reorder(variant);
  for (int variant = N_TRANSFORMERS; variant < N_TRANSFORMERS + N_RECURRENT; variant += 2) test_reorder(variant);
  test_errors();
  fprintf(stderr, "  incremental vs full forward: largest log-probability difference %.3g (relative positions: %.3g)\n",
          worst_all, worst_rel);
  TEST_END();
}

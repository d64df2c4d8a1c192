/* test_rnn_ops.c - the recurrent kernels (rnn_ops.h): every backward against central finite differences of
 * L = sum(out * R) over every input and parameter (tiny shapes, R fixed random projections, sums in double, a
 * mismatch retried at half the step before it counts); forward fast paths against the naive references; padding
 * semantics against a per-sentence loop of reference cells; and outputs and gradients against PyTorch's nn.RNN /
 * nn.GRU / nn.LSTM and a torch attention module (tests/golden/rnn_cells.bin, tests/reference/make_golden_rnn.py). */
#include <string.h>

#include "ops.h"
#include "rnn_ops.h"
#include "test.h"

static xlat_rng data_rng;
static double fd_worst; /* the largest |analytic - numeric| / allowed over all finite-difference checks */

static float *randn(size_t n, float scale) {
  float *p = malloc((n ? n : 1) * sizeof *p);
  for (size_t i = 0; i < n; i++) p[i] = scale * xlat_rng_normal(&data_rng);
  return p;
}

static float *zeros(size_t n) { return calloc(n ? n : 1, sizeof(float)); }

static float *copy(const float *a, size_t n) {
  float *p = malloc((n ? n : 1) * sizeof *p);
  memcpy(p, a, n * sizeof *p);
  return p;
}

static double dot(const float *a, const float *r, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += (double)a[i] * r[i];
  return s;
}

typedef double (*loss_fn)(void *ctx);

static double central(loss_fn f, void *ctx, float *x, float h) {
  float save = *x;
  *x = save + h;
  double lp = f(ctx);
  *x = save - h;
  double lm = f(ctx);
  *x = save;
  return (lp - lm) / (2.0 * h);
}

/* Analytic gradient ga (n) of x against central differences of f; a mismatch at step h is retried at h/2 (float
 * rounding and curvature err in opposite directions), and only a mismatch at both counts. */
static void fd_check(const char *what, loss_fn f, void *ctx, float *x, const float *ga, size_t n, float h, double tol) {
  int bad = 0;
  for (size_t i = 0; i < n; i++) {
    double num = central(f, ctx, x + i, h), sc = fmax(1.0, fmax(fabs(num), fabs(ga[i])));
    double ratio = fabs(num - ga[i]) / (tol * sc);
    if (ratio > 1.0) {
      double num2 = central(f, ctx, x + i, h / 2);
      ratio = fmin(ratio, fabs(num2 - ga[i]) / (tol * fmax(1.0, fmax(fabs(num2), fabs(ga[i])))));
    }
    fd_worst = fmax(fd_worst, ratio);
    if (ratio > 1.0 && bad++ < 5) fprintf(stderr, "%s[%zu]: analytic %.7g, numeric %.7g\n", what, i, ga[i], num);
  }
  CHECK(bad == 0);
}

/* g -= prior: the part a "+=" backward added */
static void sub(float *g, const float *prior, size_t n) {
  for (size_t i = 0; i < n; i++) g[i] -= prior[i];
}

static int close_all(const char *what, const float *a, const float *b, size_t n, double tol) {
  int bad = 0;
  for (size_t i = 0; i < n; i++)
    if (!(fabs(a[i] - b[i]) <= tol * fmax(1.0, fmax(fabs(a[i]), fabs(b[i])))) && bad++ < 5)
      fprintf(stderr, "%s[%zu]: %.8g, reference %.8g\n", what, i, a[i], b[i]);
  return bad == 0;
}

/* ---- sigmoid and tanh ------------------------------------------------------------------------------------------ */

static void test_activations(void) {
  double wt = 0.0, ws = 0.0;
  for (float x = -30.0f; x < 30.0f; x += 0.000731f) {
    double t = tanh((double)x), s = 1.0 / (1.0 + exp(-(double)x));
    if (t != 0.0) wt = fmax(wt, fabs(xlat_tanhf(x) - t) / fabs(t));
    ws = fmax(ws, fabs(xlat_sigmoidf(x) - s) / s);
  }
  CHECK(wt < 2e-7); /* measured: 1.3e-7 and 1.5e-7, as glibc's tanhf and 1/(1+expf(-x)) */
  CHECK(ws < 2e-7);
  CHECK(xlat_tanhf(0.0f) == 0.0f && xlat_tanhf(1e-30f) == 1e-30f && xlat_tanhf(-1e-30f) == -1e-30f);
  CHECK(xlat_tanhf(100.0f) == 1.0f && xlat_tanhf(-1e30f) == -1.0f);
  CHECK(xlat_sigmoidf(100.0f) == 1.0f && xlat_sigmoidf(-1e30f) >= 0.0f && xlat_sigmoidf(-1e30f) < 1e-37f);
  CHECK(xlat_sigmoidf(0.0f) == 0.5f);
}

/* ---- one cell step --------------------------------------------------------------------------------------------- */

typedef struct {
  int cell, B, H;
  float *gx, *hp, *cp, *W, *bh, *h, *c, *acts, *gh, *Rh, *Rc;
} cell_ctx;

static double cell_loss(void *p) {
  cell_ctx *c = p;
  int lstm = c->cell == RNN_CELL_LSTM;
  rnn_cell_forward(c->h, lstm ? c->c : NULL, c->acts, c->gh, c->gx, c->hp, lstm ? c->cp : NULL, c->W, c->bh, c->cell,
                   c->B, c->H);
  size_t n = (size_t)c->B * c->H;
  return dot(c->h, c->Rh, n) + (lstm ? dot(c->c, c->Rc, n) : 0.0);
}

static void cell_case(int cell, int B, int H, int with_dc) {
  int G = rnn_cell_gates(cell), GH = G * H, A = rnn_cell_act_floats(cell, H), lstm = cell == RNN_CELL_LSTM;
  size_t BH = (size_t)B * H, BG = (size_t)B * GH;
  cell_ctx c = {cell, B, H, randn(BG, 1), randn(BH, 1), randn(BH, 1), randn((size_t)GH * H, 0.5f), randn(GH, 0.3f),
                zeros(BH), zeros(BH), zeros((size_t)B * A), zeros(BG), randn(BH, 1), randn(BH, 1)};
  cell_loss(&c);
  /* the sgemm path and the vectorized gates against the reference in double */
  float *h2 = zeros(BH), *c2 = zeros(BH), *a2 = zeros((size_t)B * A);
  rnn_cell_forward_ref(h2, lstm ? c2 : NULL, a2, c.gx, c.hp, lstm ? c.cp : NULL, c.W, c.bh, cell, B, H);
  CHECK(close_all("cell.h", c.h, h2, BH, 2e-6));
  CHECK(close_all("cell.acts", c.acts, a2, (size_t)B * A, 2e-6));
  if (lstm) CHECK(close_all("cell.c", c.c, c2, BH, 2e-6));
  free(h2), free(c2), free(a2);

  /* backward: dgx is overwritten (prefilled with junk), the rest accumulates onto a random prior */
  float *dgx = zeros(BG), *scratch = zeros(BG);
  for (size_t i = 0; i < BG; i++) dgx[i] = 1e3f;
  float *p_dhp = randn(BH, 1), *p_dcp = randn(BH, 1), *p_dW = randn((size_t)GH * H, 1), *p_db = randn(GH, 1);
  float *dhp = copy(p_dhp, BH), *dcp = copy(p_dcp, BH), *dW = copy(p_dW, (size_t)GH * H), *db = copy(p_db, GH);
  rnn_cell_backward(dgx, dhp, lstm ? dcp : NULL, dW, db, scratch, c.Rh, lstm && with_dc ? c.Rc : NULL, c.acts, c.hp,
                    lstm ? c.cp : NULL, c.W, cell, B, H);
  sub(dhp, p_dhp, BH), sub(dcp, p_dcp, BH), sub(dW, p_dW, (size_t)GH * H), sub(db, p_db, GH);
  if (lstm && !with_dc) memset(c.Rc, 0, BH * sizeof *c.Rc); /* dc NULL: the loss has no c term */
  static const char *names[3] = {"rnn", "gru", "lstm"};
  char what[64];
  snprintf(what, sizeof what, "%s_cell.gx", names[cell]);
  fd_check(what, cell_loss, &c, c.gx, dgx, BG, 1e-2f, 1e-3);
  snprintf(what, sizeof what, "%s_cell.h_prev", names[cell]);
  fd_check(what, cell_loss, &c, c.hp, dhp, BH, 1e-2f, 1e-3);
  if (lstm) {
    snprintf(what, sizeof what, "%s_cell.c_prev", names[cell]);
    fd_check(what, cell_loss, &c, c.cp, dcp, BH, 1e-2f, 1e-3);
  }
  snprintf(what, sizeof what, "%s_cell.W_hh", names[cell]);
  fd_check(what, cell_loss, &c, c.W, dW, (size_t)GH * H, 1e-2f, 1e-3);
  snprintf(what, sizeof what, "%s_cell.b_hh", names[cell]);
  fd_check(what, cell_loss, &c, c.bh, db, GH, 1e-2f, 1e-3);
  free(c.gx), free(c.hp), free(c.cp), free(c.W), free(c.bh), free(c.h), free(c.c), free(c.acts), free(c.gh);
  free(c.Rh), free(c.Rc), free(dgx), free(scratch), free(p_dhp), free(p_dcp), free(p_dW), free(p_db);
  free(dhp), free(dcp), free(dW), free(db);
}

static void test_cells(void) {
  for (int cell = 0; cell < 3; cell++) {
    cell_case(cell, 3, 5, 1);
    cell_case(cell, 5, 37, 1); /* vector loop tails */
  }
  cell_case(RNN_CELL_LSTM, 2, 4, 0); /* dc NULL */
}

/* ---- one layer, one direction ---------------------------------------------------------------------------------- */

enum { GUARD = 64 };
static const float SENTINEL = -12345.0f;

typedef struct {
  int cell, B, T, I, H, reverse, use_out, use_last;
  const uint8_t *keep;
  float *x, *h0, *c0, *Wih, *bih, *Whh, *bhh; /* h0, c0 NULL: zeros */
  float *out, *hl, *cl, *cache, *scratch, *Ro, *Rh, *Rc;
} layer_ctx;

static double layer_loss(void *p) {
  layer_ctx *c = p;
  int lstm = c->cell == RNN_CELL_LSTM;
  /* without a loss term on them, the last states go to scratch (NULL), which then is used to its last float */
  rnn_layer_forward(c->out, c->use_last ? c->hl : NULL, c->use_last && lstm ? c->cl : NULL, c->cache, c->scratch,
                    c->x, c->h0, c->c0, c->Wih, c->bih, c->Whh, c->bhh, c->keep, c->reverse, c->cell, c->B, c->T,
                    c->I, c->H);
  size_t BH = (size_t)c->B * c->H;
  double l = c->use_out ? dot(c->out, c->Ro, (size_t)c->T * BH) : 0.0;
  if (c->use_last) l += dot(c->hl, c->Rh, BH) + (lstm ? dot(c->cl, c->Rc, BH) : 0.0);
  return l;
}

static float *guarded(size_t n) {
  float *p = zeros(n + GUARD);
  for (int i = 0; i < GUARD; i++) p[n + i] = SENTINEL;
  return p;
}

static int guard_intact(const float *p, size_t n) {
  for (int i = 0; i < GUARD; i++)
    if (p[n + i] != SENTINEL) return 0;
  return 1;
}

/* PyTorch's packed semantics, independently: each sentence alone, its real steps in order (reversed for the
 * backward direction), through the reference cell from its h0 / c0 row. */
static void layer_semantics(const layer_ctx *c, int *lens) {
  int B = c->B, T = c->T, I = c->I, H = c->H, G = rnn_cell_gates(c->cell), GH = G * H;
  int A = rnn_cell_act_floats(c->cell, H), lstm = c->cell == RNN_CELL_LSTM;
  float *gx = zeros(GH), *h = zeros(H), *cc = zeros(H), *hn = zeros(H), *cn = zeros(H), *act = zeros(A);
  int bad = 0;
  for (int b = 0; b < B; b++) {
    for (int j = 0; j < H; j++) {
      h[j] = c->h0 ? c->h0[(size_t)b * H + j] : 0.0f;
      cc[j] = c->c0 ? c->c0[(size_t)b * H + j] : 0.0f;
    }
    for (int k = 0; k < T; k++) {
      int t = c->reverse ? T - 1 - k : k;
      const float *o = c->out + ((size_t)t * B + b) * H;
      if (t >= lens[b]) { /* padding: zero output */
        for (int j = 0; j < H; j++) bad += o[j] != 0.0f;
        continue;
      }
      linear_forward_ref(gx, c->x + ((size_t)t * B + b) * I, c->Wih, c->bih, 1, I, GH);
      rnn_cell_forward_ref(hn, lstm ? cn : NULL, act, gx, h, lstm ? cc : NULL, c->Whh, c->bhh, c->cell, 1, H);
      memcpy(h, hn, (size_t)H * sizeof *h), memcpy(cc, cn, (size_t)H * sizeof *cc);
      bad += !close_all("layer.out", o, h, (size_t)H, 1e-5);
    }
    if (c->use_last) bad += !close_all("layer.h_last", c->hl + (size_t)b * H, h, (size_t)H, 1e-5);
    if (c->use_last && lstm) bad += !close_all("layer.c_last", c->cl + (size_t)b * H, cc, (size_t)H, 1e-5);
  }
  CHECK(bad == 0);
  free(gx), free(h), free(cc), free(hn), free(cn), free(act);
}

/* use_h0: pass h0 (and c0); masked: right padding with lengths {T, 2, T-1, 0}; use_out / use_last: which outputs the
 * loss reads (the other's gradient is passed as NULL). fd: run the finite differences (else semantics only). */
static void layer_case(int cell, int reverse, int use_h0, int masked, int use_out, int use_last, int B, int T, int I,
                       int H, int fd) {
  int G = rnn_cell_gates(cell), GH = G * H, lstm = cell == RNN_CELL_LSTM;
  size_t BH = (size_t)B * H, nx = (size_t)T * B * I, nih = (size_t)GH * I, nhh = (size_t)GH * H;
  size_t ncache = rnn_layer_cache_floats(cell, B, T, I, H), nscr = rnn_layer_scratch_floats(cell, B, T, I, H);
  int lens[8];
  uint8_t *keep = malloc((size_t)T * B);
  for (int b = 0; b < B; b++) lens[b] = !masked ? T : b % 4 == 0 ? T : b % 4 == 1 ? 2 : b % 4 == 2 ? T - 1 : 0;
  for (int t = 0; t < T; t++)
    for (int b = 0; b < B; b++) keep[(size_t)t * B + b] = t < lens[b];
  layer_ctx c = {cell, B, T, I, H, reverse, use_out, use_last, masked ? keep : NULL, randn(nx, 1),
                 use_h0 ? randn(BH, 0.5f) : NULL, use_h0 ? randn(BH, 0.5f) : NULL, randn(nih, 0.5f), randn(GH, 0.3f),
                 randn(nhh, 0.5f), randn(GH, 0.3f), zeros((size_t)T * BH), zeros(BH), zeros(BH), guarded(ncache),
                 guarded(nscr), randn((size_t)T * BH, 1), randn(BH, 1), randn(BH, 1)};
  layer_loss(&c);
  layer_semantics(&c, lens);
  if (!fd) goto done;
  /* backward onto random priors (everything accumulates) */
  float *p_dx = randn(nx, 1), *p_dh0 = randn(BH, 1), *p_dc0 = randn(BH, 1), *p_dWih = randn(nih, 1),
        *p_dbih = randn(GH, 1), *p_dWhh = randn(nhh, 1), *p_dbhh = randn(GH, 1);
  float *dx = copy(p_dx, nx), *dh0 = copy(p_dh0, BH), *dc0 = copy(p_dc0, BH), *dWih = copy(p_dWih, nih),
        *dbih = copy(p_dbih, GH), *dWhh = copy(p_dWhh, nhh), *dbhh = copy(p_dbhh, GH);
  rnn_layer_backward(dx, use_h0 ? dh0 : NULL, use_h0 && lstm ? dc0 : NULL, dWih, dbih, dWhh, dbhh, c.scratch,
                     use_out ? c.Ro : NULL, use_last ? c.Rh : NULL, use_last && lstm ? c.Rc : NULL, c.cache, c.x,
                     c.Wih, c.Whh, c.keep, reverse, cell, B, T, I, H);
  CHECK(guard_intact(c.cache, ncache) && guard_intact(c.scratch, nscr));
  sub(dx, p_dx, nx), sub(dh0, p_dh0, BH), sub(dc0, p_dc0, BH), sub(dWih, p_dWih, nih), sub(dbih, p_dbih, GH);
  sub(dWhh, p_dWhh, nhh), sub(dbhh, p_dbhh, GH);
  char what[96];
  static const char *names[3] = {"rnn", "gru", "lstm"};
#define LAYER_FD(name, arr, grad, n)                                                                                 \
  do {                                                                                                               \
    snprintf(what, sizeof what, "%s_layer(rev %d, h0 %d, mask %d, out %d, last %d).%s", names[cell], reverse,        \
             use_h0, masked, use_out, use_last, name);                                                               \
    fd_check(what, layer_loss, &c, arr, grad, n, 1e-2f, 2e-3);                                                       \
  } while (0)
  LAYER_FD("x", c.x, dx, nx);
  if (use_h0) LAYER_FD("h0", c.h0, dh0, BH);
  if (use_h0 && lstm) LAYER_FD("c0", c.c0, dc0, BH);
  LAYER_FD("W_ih", c.Wih, dWih, nih);
  LAYER_FD("b_ih", c.bih, dbih, (size_t)GH);
  LAYER_FD("W_hh", c.Whh, dWhh, nhh);
  LAYER_FD("b_hh", c.bhh, dbhh, (size_t)GH);
#undef LAYER_FD
  free(p_dx), free(p_dh0), free(p_dc0), free(p_dWih), free(p_dbih), free(p_dWhh), free(p_dbhh);
  free(dx), free(dh0), free(dc0), free(dWih), free(dbih), free(dWhh), free(dbhh);
done:
  CHECK(guard_intact(c.cache, ncache) && guard_intact(c.scratch, nscr));
  free(keep), free(c.x), free(c.h0), free(c.c0), free(c.Wih), free(c.bih), free(c.Whh), free(c.bhh), free(c.out);
  free(c.hl), free(c.cl), free(c.cache), free(c.scratch), free(c.Ro), free(c.Rh), free(c.Rc);
}

static void test_layers(void) {
  for (int cell = 0; cell < 3; cell++)
    for (int rev = 0; rev < 2; rev++) {
      layer_case(cell, rev, 1, 1, 1, 1, 4, 5, 3, 4, 1); /* padding, h0 / c0, gradients through out and the last state */
      layer_case(cell, rev, 0, 0, 1, 0, 3, 4, 3, 4, 1); /* no padding, zero h0, out only (dh_last NULL) */
      layer_case(cell, rev, 0, 1, 0, 1, 4, 5, 2, 3, 1); /* padding, zero h0, last state only (dout NULL) */
      layer_case(cell, rev, 1, 1, 1, 1, 6, 7, 19, 37, 0); /* vector loop tails: semantics only */
    }
}

/* ---- attention ------------------------------------------------------------------------------------------------- */

typedef struct {
  int kind, N, S, Dk, Dv;
  const int32_t *ids, *sent;
  float *q, *keys, *values, *v, *ctx, *probs, *R;
} attn_ctx;

static double attn_loss(void *p) {
  attn_ctx *c = p;
  rnn_attention_forward(c->ctx, c->probs, c->q, c->keys, c->values, c->v, c->ids, c->sent, c->kind, c->N, c->S,
                        c->Dk, c->Dv);
  return dot(c->ctx, c->R, (size_t)c->N * c->Dv);
}

static void attn_case(int kind, int S, int Dk, int Dv, int fd) {
  enum { B = 3, N = 7 };
  /* sentence 0: all keys real; 1: the last two padding; 2: all padding (its rows get zeros) */
  int32_t ids[B * 16];
  for (int b = 0; b < B; b++)
    for (int j = 0; j < S; j++) ids[b * S + j] = b == 2 ? XLAT_PAD : b == 1 && j >= S - 2 ? XLAT_PAD : 5 + j;
  static const int32_t sent[N] = {0, 1, 2, 1, 0, 2, 1};
  size_t nq = (size_t)N * Dk, nk = (size_t)B * S * Dk, nv = (size_t)B * S * Dv;
  attn_ctx c = {kind, N, S, Dk, Dv, ids, sent, randn(nq, 1), randn(nk, 1), randn(nv, 1),
                kind == RNN_ATTN_ADDITIVE ? randn((size_t)Dk, 1) : NULL, zeros((size_t)N * Dv), zeros((size_t)N * S),
                randn((size_t)N * Dv, 1)};
  for (int i = 0; i < N * Dv; i++) c.ctx[i] = 1e3f; /* forward writes every entry, a fully masked row's too */
  for (int i = 0; i < N * S; i++) c.probs[i] = 1e3f;
  attn_loss(&c);
  float *ctx2 = zeros((size_t)N * Dv), *probs2 = zeros((size_t)N * S);
  rnn_attention_forward_ref(ctx2, probs2, c.q, c.keys, c.values, c.v, ids, sent, kind, N, S, Dk, Dv);
  CHECK(close_all("attention.ctx", c.ctx, ctx2, (size_t)N * Dv, 2e-6));
  CHECK(close_all("attention.probs", c.probs, probs2, (size_t)N * S, 2e-6));
  for (int r = 0; r < N; r++) {
    double sum = 0.0;
    for (int j = 0; j < S; j++) sum += c.probs[r * S + j];
    if (sent[r] == 2) { /* fully masked: exact zeros */
      for (int j = 0; j < S; j++) CHECK(c.probs[r * S + j] == 0.0f);
      for (int d = 0; d < Dv; d++) CHECK(c.ctx[r * Dv + d] == 0.0f);
    } else {
      CHECK_CLOSE(sum, 1.0, 1e-6);
    }
    if (sent[r] == 1) CHECK(c.probs[r * S + S - 1] == 0.0f && c.probs[r * S + S - 2] == 0.0f);
  }
  free(ctx2), free(probs2);
  if (fd) {
    float *p_dq = randn(nq, 1), *p_dk = randn(nk, 1), *p_dvl = randn(nv, 1), *p_dv = randn((size_t)Dk, 1);
    float *dq = copy(p_dq, nq), *dk = copy(p_dk, nk), *dvl = copy(p_dvl, nv), *dv = copy(p_dv, (size_t)Dk),
          *scratch = guarded((size_t)S);
    rnn_attention_backward(dq, dk, dvl, kind == RNN_ATTN_ADDITIVE ? dv : NULL, scratch, c.R, c.probs, c.q, c.keys,
                           c.values, c.v, ids, sent, kind, N, S, Dk, Dv);
    CHECK(guard_intact(scratch, (size_t)S));
    sub(dq, p_dq, nq), sub(dk, p_dk, nk), sub(dvl, p_dvl, nv), sub(dv, p_dv, (size_t)Dk);
    static const char *names[4] = {"", "dot", "general", "additive"};
    char what[64];
    snprintf(what, sizeof what, "%s_attention.q", names[kind]);
    fd_check(what, attn_loss, &c, c.q, dq, nq, 1e-2f, 1e-3);
    snprintf(what, sizeof what, "%s_attention.keys", names[kind]);
    fd_check(what, attn_loss, &c, c.keys, dk, nk, 1e-2f, 1e-3);
    snprintf(what, sizeof what, "%s_attention.values", names[kind]);
    fd_check(what, attn_loss, &c, c.values, dvl, nv, 1e-2f, 1e-3);
    if (kind == RNN_ATTN_ADDITIVE) {
      snprintf(what, sizeof what, "%s_attention.v", names[kind]);
      fd_check(what, attn_loss, &c, c.v, dv, (size_t)Dk, 1e-2f, 1e-3);
    }
    free(p_dq), free(p_dk), free(p_dvl), free(p_dv), free(dq), free(dk), free(dvl), free(dv), free(scratch);
  }
  free(c.q), free(c.keys), free(c.values), free(c.v), free(c.ctx), free(c.probs), free(c.R);
}

static void test_attention(void) {
  for (int kind = RNN_ATTN_DOT; kind <= RNN_ATTN_ADDITIVE; kind++) {
    attn_case(kind, 5, 4, 3, 1);
    attn_case(kind, 9, 37, 20, 0); /* the partial sums' tails against the reference */
  }
}

/* ---- golden file from PyTorch (tests/reference/make_golden_rnn.py) ---------------------------------------------- */

enum { GT = 6, GB = 3, GI = 5, GH_ = 7, GN = 7, GS = 5, GD = 6, GA = 4 };
static const int g_lengths[GB] = {4, 6, 1};
static const int32_t g_sent[GN] = {0, 1, 2, 1, 0, 2, 1};
static const int g_src_lengths[GB] = {5, 3, 0};
static double golden_worst; /* the largest |got - reference| / allowed over the golden records */

/* Mirrors tensor() of make_golden_rnn.py: tensor k, scale * hash rounded to float. */
static float *hashed(size_t n, uint64_t k, double scale) {
  float *p = malloc((n ? n : 1) * sizeof *p);
  for (size_t j = 0; j < n; j++) p[j] = (float)(scale * hash_uniform(j, k, 0));
  return p;
}

/* The next record must be `name` with n floats, each within 1e-5 of the reference relative to the larger of its own
 * size and a tenth of the record's largest entry (as test_golden.c: smaller entries are sums that cancelled, where
 * float32 rounding, PyTorch's own included, reaches 1e-5 of them). */
static void golden_compare(FILE *f, const char *name, const float *got, size_t n) {
  char rname[32];
  int32_t cnt = -1;
  int ok = f && fread(rname, 1, sizeof rname, f) == sizeof rname && fread(&cnt, sizeof cnt, 1, f) == 1;
  ok = ok && strncmp(rname, name, sizeof rname) == 0 && cnt == (int32_t)n;
  CHECK(ok);
  if (!ok) {
    fprintf(stderr, "golden: expected record %s (%zu floats)\n", name, n);
    return;
  }
  float *ref = malloc(n * sizeof *ref);
  CHECK(fread(ref, sizeof *ref, n, f) == n);
  double big = 0.0, worst = 0.0;
  for (size_t i = 0; i < n; i++) big = fmax(big, fabs(ref[i]));
  int bad = 0;
  for (size_t i = 0; i < n; i++) {
    double r = fabs(got[i] - ref[i]) / (1e-5 * fmax(fabs(ref[i]), fmax(0.1 * big, 1e-30)));
    worst = fmax(worst, r);
    if (!(r <= 1.0) && bad++ < 5) fprintf(stderr, "golden %s[%zu]: %.8g, PyTorch %.8g\n", name, i, got[i], ref[i]);
  }
  golden_worst = fmax(golden_worst, worst);
  CHECK(bad == 0);
  free(ref);
}

/* A bidirectional layer as two rnn_layer calls; out (T,B,2H) is [forward, backward] per row as PyTorch's. */
static void golden_layers(FILE *f) {
  static const char *names[3] = {"rnn", "gru", "lstm"};
  static const char *wnames[4] = {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"};
  int T = GT, B = GB, I = GI, H = GH_;
  size_t BH = (size_t)B * H;
  uint8_t keep[GT * GB];
  for (int t = 0; t < T; t++)
    for (int b = 0; b < B; b++) keep[t * B + b] = t < g_lengths[b];
  for (int cell = 0; cell < 3; cell++) {
    int G = rnn_cell_gates(cell), GHs = G * H, lstm = cell == RNN_CELL_LSTM;
    uint64_t k = 100 * ((uint64_t)cell + 1);
    size_t n[4] = {(size_t)GHs * I, (size_t)GHs * H, (size_t)GHs, (size_t)GHs};
    float *x = hashed((size_t)T * B * I, k, 1.0), *h0 = hashed(2 * BH, k + 1, 0.5), *c0 = hashed(2 * BH, k + 2, 0.5);
    float *Ro = hashed((size_t)T * B * 2 * H, k + 20, 1.0), *Rh = hashed(2 * BH, k + 21, 1.0),
          *Rc = hashed(2 * BH, k + 22, 1.0);
    float *out = zeros((size_t)T * B * 2 * H), *hn = zeros(2 * BH), *cn = zeros(2 * BH), *dx = zeros((size_t)T * B * I);
    float *dh0 = zeros(2 * BH), *dc0 = zeros(2 * BH), *dir_out = zeros((size_t)T * BH), *dout = zeros((size_t)T * BH);
    float *cache = zeros(rnn_layer_cache_floats(cell, B, T, I, H)),
          *scratch = zeros(rnn_layer_scratch_floats(cell, B, T, I, H));
    float *W[2][4], *dW[2][4];
    for (int d = 0; d < 2; d++) {
      for (int j = 0; j < 4; j++) {
        W[d][j] = hashed(n[j], k + 10 + 4 * (uint64_t)d + (uint64_t)j, j < 2 ? 0.5 : 0.3);
        dW[d][j] = zeros(n[j]);
      }
      rnn_layer_forward(dir_out, hn + d * BH, lstm ? cn + d * BH : NULL, cache, scratch, x, h0 + d * BH,
                        lstm ? c0 + d * BH : NULL, W[d][0], W[d][2], W[d][1], W[d][3], keep, d, cell, B, T, I, H);
      for (size_t r = 0; r < (size_t)T * B; r++) { /* this direction's half of out, and of out's gradient */
        memcpy(out + r * 2 * H + (size_t)d * H, dir_out + r * H, (size_t)H * sizeof *out);
        memcpy(dout + r * H, Ro + r * 2 * H + (size_t)d * H, (size_t)H * sizeof *dout);
      }
      rnn_layer_backward(dx, dh0 + d * BH, lstm ? dc0 + d * BH : NULL, dW[d][0], dW[d][2], dW[d][1], dW[d][3],
                         scratch, dout, Rh + d * BH, lstm ? Rc + d * BH : NULL, cache, x, W[d][0], W[d][1], keep, d,
                         cell, B, T, I, H);
    }
    char name[64];
#define GOLD(suffix, arr, count)                                                                                     \
  do {                                                                                                               \
    snprintf(name, sizeof name, "%s.%s", names[cell], suffix);                                                       \
    golden_compare(f, name, arr, count);                                                                             \
  } while (0)
    GOLD("out", out, (size_t)T * B * 2 * H);
    GOLD("h_n", hn, 2 * BH);
    if (lstm) GOLD("c_n", cn, 2 * BH);
    GOLD("dx", dx, (size_t)T * B * I);
    GOLD("dh0", dh0, 2 * BH);
    if (lstm) GOLD("dc0", dc0, 2 * BH);
    for (int d = 0; d < 2; d++)
      for (int j = 0; j < 4; j++) {
        char wn[40];
        snprintf(wn, sizeof wn, "%s%s", wnames[j], d ? "_reverse" : "");
        GOLD(wn, dW[d][j], n[j]);
      }
#undef GOLD
    for (int d = 0; d < 2; d++)
      for (int j = 0; j < 4; j++) free(W[d][j]), free(dW[d][j]);
    free(x), free(h0), free(c0), free(Ro), free(Rh), free(Rc), free(out), free(hn), free(cn), free(dx), free(dh0);
    free(dc0), free(dir_out), free(dout), free(cache), free(scratch);
  }
}

/* The reference's attention modules as a recurrent decoder would call the kernels: general's keys and additive's
 * query and keys through linear_forward, their gradients back through linear_backward; the values are the memory. */
static void golden_attention(FILE *f) {
  static const char *names[4] = {"", "dot", "general", "additive"};
  int N = GN, S = GS, D = GD, A = GA, B = GB;
  int32_t ids[GB * GS];
  for (int b = 0; b < B; b++)
    for (int j = 0; j < S; j++) ids[b * S + j] = j < g_src_lengths[b] ? 5 + j : XLAT_PAD;
  for (int kind = RNN_ATTN_DOT; kind <= RNN_ATTN_ADDITIVE; kind++) {
    uint64_t k = 1000 + 100 * (uint64_t)kind;
    int add = kind == RNN_ATTN_ADDITIVE, Dk = add ? A : D;
    size_t nm = (size_t)B * S * D;
    float *q = hashed((size_t)N * D, k, 1.0), *mem = hashed(nm, k + 1, 1.0);
    float *Wa = hashed((size_t)(add ? A : D) * D, k + 2, 0.5), *U = hashed((size_t)A * D, k + 3, 0.5),
          *v = hashed((size_t)A, k + 4, 1.0), *Rc = hashed((size_t)N * D, k + 5, 1.0);
    float *keys = zeros((size_t)B * S * Dk), *qa = zeros((size_t)N * A), *ctx = zeros((size_t)N * D),
          *probs = zeros((size_t)N * S), *scratch = zeros((size_t)S);
    float *dq = zeros((size_t)N * D), *dqa = zeros((size_t)N * A), *dkeys = zeros((size_t)B * S * Dk),
          *dmem = zeros(nm), *dWa = zeros((size_t)(add ? A : D) * D), *dU = zeros((size_t)A * D), *dv = zeros(A);
    const float *kq = q, *kk = mem;
    if (kind == RNN_ATTN_GENERAL) linear_forward(keys, mem, Wa, NULL, B * S, D, D), kk = keys;
    if (add) {
      linear_forward(qa, q, Wa, NULL, N, D, A);
      linear_forward(keys, mem, U, NULL, B * S, D, A);
      kq = qa, kk = keys;
    }
    rnn_attention_forward(ctx, probs, kq, kk, mem, add ? v : NULL, ids, g_sent, kind, N, S, Dk, D);
    /* dvalues go straight to dmem; dot's dkeys too */
    rnn_attention_backward(add ? dqa : dq, kind == RNN_ATTN_DOT ? dmem : dkeys, dmem, add ? dv : NULL, scratch, Rc,
                           probs, kq, kk, mem, add ? v : NULL, ids, g_sent, kind, N, S, Dk, D);
    if (kind == RNN_ATTN_GENERAL) linear_backward(dmem, dWa, NULL, dkeys, mem, Wa, B * S, D, D);
    if (add) {
      linear_backward(dq, dWa, NULL, dqa, q, Wa, N, D, A);
      linear_backward(dmem, dU, NULL, dkeys, mem, U, B * S, D, A);
    }
    char name[64];
#define GOLD(suffix, arr, count)                                                                                     \
  do {                                                                                                               \
    snprintf(name, sizeof name, "%s.%s", names[kind], suffix);                                                       \
    golden_compare(f, name, arr, count);                                                                             \
  } while (0)
    GOLD("ctx", ctx, (size_t)N * D);
    GOLD("probs", probs, (size_t)N * S);
    GOLD("dq", dq, (size_t)N * D);
    GOLD("dmemory", dmem, nm);
    if (kind == RNN_ATTN_GENERAL) GOLD("dW_a", dWa, (size_t)D * D);
    if (add) {
      GOLD("dW_q", dWa, (size_t)A * D);
      GOLD("dU", dU, (size_t)A * D);
      GOLD("dv", dv, (size_t)A);
    }
#undef GOLD
    free(q), free(mem), free(Wa), free(U), free(v), free(Rc), free(keys), free(qa), free(ctx), free(probs);
    free(scratch), free(dq), free(dqa), free(dkeys), free(dmem), free(dWa), free(dU), free(dv);
  }
}

static void test_golden(void) {
  FILE *f = fopen(test_path("tests/golden/rnn_cells.bin"), "rb");
  char magic[8];
  CHECK(f != NULL);
  if (!f) return;
  CHECK(fread(magic, 1, 8, f) == 8 && memcmp(magic, "XLRNNG01", 8) == 0);
  golden_layers(f);
  golden_attention(f);
  char extra;
  CHECK(fread(&extra, 1, 1, f) == 0); /* the whole file was read */
  fclose(f);
}

int main(void) {
  xlat_rng_seed(&data_rng, 4321);
  test_activations();
  test_cells();
  test_layers();
  test_attention();
  test_golden();
  fprintf(stderr, "worst error, as a fraction of the tolerance: finite differences %.3f, PyTorch %.3f\n", fd_worst,
          golden_worst);
  TEST_END();
}

/* test_ops.c - every kernel's backward against central finite differences of L = sum(out * R), R a fixed random
 * projection, summed in double (tiny shapes), among them self-attention with relative positions (encoder, causal,
 * incremental, clipped and unclipped distances, dropout); the sgemm paths and the relative attention's bucketing
 * against the naive references; the dropout masks' rate and determinism. */
#include <string.h>

#include "ops.h"
#include "test.h"

static xlat_rng data_rng;

static float *randn(size_t n, float scale) {
  float *p = malloc(n * sizeof *p);
  for (size_t i = 0; i < n; i++) p[i] = scale * xlat_rng_normal(&data_rng);
  return p;
}

static float *zeros(size_t n) { return calloc(n, sizeof(float)); }

static double dot(const float *a, const float *r, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += (double)a[i] * r[i];
  return s;
}

/* A forward pass under test: runs the kernel from the current inputs and returns sum(out * R). */
typedef double (*loss_fn)(void *ctx);

/* Compares analytic gradient ga (n) of x with central differences of f; returns the number of mismatches. */
static int fd_check(const char *what, loss_fn f, void *ctx, float *x, const float *ga, size_t n, float h, double tol) {
  int bad = 0;
  for (size_t i = 0; i < n; i++) {
    float save = x[i];
    x[i] = save + h;
    double lp = f(ctx);
    x[i] = save - h;
    double lm = f(ctx);
    x[i] = save;
    double num = (lp - lm) / (2.0 * h);
    if (fabs(num - ga[i]) > tol * fmax(1.0, fmax(fabs(num), fabs(ga[i])))) {
      if (bad++ < 5) fprintf(stderr, "%s[%zu]: analytic %.7g, numeric %.7g\n", what, i, ga[i], num);
    }
  }
  CHECK(bad == 0);
  return bad;
}

/* ---- embedding ------------------------------------------------------------------------------------------------- */
typedef struct {
  int B, T, C, V;
  int32_t *ids;
  float *emb, *pos, *out, *R;
} embed_ctx;

static double embed_loss(void *p) {
  embed_ctx *c = p;
  embed_forward(c->out, c->ids, c->emb, c->pos, c->B, c->T, c->C, 1.7f);
  return dot(c->out, c->R, (size_t)c->B * c->T * c->C);
}

static void test_embed(void) {
  embed_ctx c = {2, 3, 4, 5, NULL, NULL, NULL, NULL, NULL};
  int32_t ids[6] = {1, 4, 1, 0, 2, 4};
  c.ids = ids;
  c.emb = randn(20, 1), c.pos = randn(12, 1), c.out = zeros(24), c.R = randn(24, 1);
  float *de = zeros(20), *dp = zeros(12);
  embed_forward(c.out, ids, c.emb, c.pos, 2, 3, 4, 1.7f);
  embed_backward(de, dp, c.R, ids, 2, 3, 4, 1.7f);
  fd_check("embed.emb", embed_loss, &c, c.emb, de, 20, 1e-2f, 1e-3);
  fd_check("embed.pos", embed_loss, &c, c.pos, dp, 12, 1e-2f, 1e-3);
  free(c.emb), free(c.pos), free(c.out), free(c.R), free(de), free(dp);
}

/* ---- layer norm ------------------------------------------------------------------------------------------------ */
typedef struct {
  int N, C;
  float *x, *g, *b, *out, *mean, *rstd, *R;
} ln_ctx;

static double ln_loss(void *p) {
  ln_ctx *c = p;
  layernorm_forward(c->out, c->mean, c->rstd, c->x, c->g, c->b, c->N, c->C);
  return dot(c->out, c->R, (size_t)c->N * c->C);
}

static void test_layernorm(void) {
  int N = 3, C = 7;
  ln_ctx c = {N, C, randn(21, 2), randn(7, 1), randn(7, 1), zeros(21), zeros(3), zeros(3), randn(21, 1)};
  float *dx = zeros(21), *dg = zeros(7), *db = zeros(7);
  ln_loss(&c);
  /* torch.nn.LayerNorm semantics: mean 0, biased variance 1 before the affine map */
  layernorm_forward(c.out, c.mean, c.rstd, c.x, c.g, c.b, N, C);
  double m = 0.0;
  for (int i = 0; i < C; i++) m += c.x[i];
  CHECK_CLOSE(c.mean[0], m / C, 1e-6);
  layernorm_backward(dx, dg, db, c.R, c.x, c.mean, c.rstd, c.g, N, C);
  fd_check("layernorm.x", ln_loss, &c, c.x, dx, 21, 1e-2f, 2e-3);
  fd_check("layernorm.g", ln_loss, &c, c.g, dg, 7, 1e-2f, 2e-3);
  fd_check("layernorm.b", ln_loss, &c, c.b, db, 7, 1e-2f, 2e-3);
  free(c.x), free(c.g), free(c.b), free(c.out), free(c.mean), free(c.rstd), free(c.R), free(dx), free(dg), free(db);
}

/* ---- linear ---------------------------------------------------------------------------------------------------- */
typedef struct {
  int N, I, O;
  float *x, *W, *b, *out, *R;
} lin_ctx;

static double lin_loss(void *p) {
  lin_ctx *c = p;
  linear_forward(c->out, c->x, c->W, c->b, c->N, c->I, c->O);
  return dot(c->out, c->R, (size_t)c->N * c->O);
}

static void test_linear(void) {
  int N = 4, I = 5, O = 3;
  lin_ctx c = {N, I, O, randn(20, 1), randn(15, 1), randn(3, 1), zeros(12), randn(12, 1)};
  float *dx = zeros(20), *dW = zeros(15), *db = zeros(3), *ref = zeros(12);
  lin_loss(&c);
  linear_forward_ref(ref, c.x, c.W, c.b, N, I, O);
  for (int i = 0; i < 12; i++) CHECK_CLOSE(c.out[i], ref[i], 1e-5);
  linear_backward(dx, dW, db, c.R, c.x, c.W, N, I, O);
  fd_check("linear.x", lin_loss, &c, c.x, dx, 20, 1e-2f, 1e-3);
  fd_check("linear.W", lin_loss, &c, c.W, dW, 15, 1e-2f, 1e-3);
  fd_check("linear.b", lin_loss, &c, c.b, db, 3, 1e-2f, 1e-3);
  /* larger shapes (the blocked sgemm paths) against the reference */
  int n2 = 37, i2 = 70, o2 = 45;
  float *x2 = randn((size_t)n2 * i2, 1), *w2 = randn((size_t)o2 * i2, 1), *y = zeros((size_t)n2 * o2),
        *y2 = zeros((size_t)n2 * o2);
  linear_forward(y, x2, w2, NULL, n2, i2, o2);
  linear_forward_ref(y2, x2, w2, NULL, n2, i2, o2);
  int bad = 0;
  for (int i = 0; i < n2 * o2; i++) bad += fabs(y[i] - y2[i]) > 1e-4 * fmax(1.0, fabs(y2[i]));
  CHECK(bad == 0);
  free(c.x), free(c.W), free(c.b), free(c.out), free(c.R), free(dx), free(dW), free(db), free(ref);
  free(x2), free(w2), free(y), free(y2);
}

/* ---- attention ------------------------------------------------------------------------------------------------- */
typedef struct {
  int B, T, S, C, H, causal, cross;
  float p;
  const int32_t *keys;
  float *q, *kv, *out, *probs, *scratch, *R;
  uint8_t *mask;
  int ldq, ldkv;
  size_t qbs, kvbs;
} attn_ctx;

/* Self-attention reads q, k, v from one packed (B*T,3C) buffer; cross-attention q (B*T,C) and packed kv (B*S,2C). */
static double attn_loss(void *p) {
  attn_ctx *c = p;
  xlat_rng rng;
  xlat_rng_seed(&rng, 99); /* the same dropout mask on every call */
  const float *k = c->cross ? c->kv : c->q + c->C, *v = c->cross ? c->kv + c->C : c->q + 2 * c->C;
  attention_forward(c->out, c->probs, c->mask, c->scratch, c->q, c->ldq, c->qbs, k, v, c->ldkv, c->kvbs, c->keys,
                    c->causal, 0, c->B, c->T, c->S, c->C, c->H, c->p, &rng);
  return dot(c->out, c->R, (size_t)c->B * c->T * c->C);
}

static void attn_case(int cross, int causal, float p) {
  int B = 2, T = 4, S = cross ? 5 : 4, C = 6, H = 2;
  static const int32_t keys[10] = {5, 6, 7, 0, 0, 8, 9, 10, 11, 12}; /* cross: row 0 has 3 real keys */
  static const int32_t self_keys[8] = {5, 6, 7, 0, 8, 9, 10, 11};
  attn_ctx c = {B, T, S, C, H, causal, cross, p, cross ? keys : (causal ? NULL : self_keys), NULL, NULL, NULL,
                NULL, NULL, NULL, NULL, 0, 0, 0, 0};
  size_t nq = (size_t)B * T * (cross ? C : 3 * C), nkv = cross ? (size_t)B * S * 2 * C : 0;
  c.q = randn(nq, 1), c.kv = cross ? randn(nkv, 1) : NULL, c.out = zeros((size_t)B * T * C);
  c.probs = zeros((size_t)B * H * T * S), c.scratch = zeros(2 * (size_t)T * S), c.R = randn((size_t)B * T * C, 1);
  c.mask = malloc((size_t)B * H * T * S);
  c.ldq = cross ? C : 3 * C, c.qbs = (size_t)T * c.ldq;
  c.ldkv = cross ? 2 * C : 3 * C, c.kvbs = (size_t)S * c.ldkv;
  attn_loss(&c);
  if (p == 0.0f) { /* the fast path against the naive reference */
    float *out2 = zeros((size_t)B * T * C), *probs2 = zeros((size_t)B * H * T * S);
    const float *k = cross ? c.kv : c.q + C, *v = cross ? c.kv + C : c.q + 2 * C;
    attention_forward_ref(out2, probs2, c.q, c.ldq, c.qbs, k, v, c.ldkv, c.kvbs, c.keys, causal, 0, B, T, S, C, H);
    for (int i = 0; i < B * T * C; i++) CHECK_CLOSE(c.out[i], out2[i], 1e-5);
    for (int i = 0; i < B * H * T * S; i++) CHECK_CLOSE(c.probs[i], probs2[i], 1e-5);
    free(out2), free(probs2);
  }
  /* masked keys get exactly zero probability */
  if (cross)
    for (int t = 0; t < T; t++) CHECK(c.probs[(size_t)t * S + 3] == 0.0f && c.probs[(size_t)t * S + 4] == 0.0f);
  if (causal) CHECK(c.probs[1] == 0.0f && c.probs[(size_t)S + 2] == 0.0f);
  float *dq = zeros(nq), *dkv = cross ? zeros(nkv) : NULL;
  float *dk = cross ? dkv : dq + C, *dv = cross ? dkv + C : dq + 2 * C;
  attention_backward(dq, dk, dv, c.scratch, c.R, c.probs, c.mask, c.q, c.ldq, c.qbs, cross ? c.kv : c.q + C,
                     cross ? c.kv + C : c.q + 2 * C, c.ldkv, c.kvbs, B, T, S, C, H, p);
  fd_check(cross ? "cross_attention.q" : "self_attention.qkv", attn_loss, &c, c.q, dq, nq, 1e-2f, 2e-3);
  if (cross) fd_check("cross_attention.kv", attn_loss, &c, c.kv, dkv, nkv, 1e-2f, 2e-3);
  free(c.q), free(c.kv), free(c.out), free(c.probs), free(c.scratch), free(c.R), free(c.mask), free(dq), free(dkv);
}

static void test_attention(void) {
  attn_case(0, 0, 0.0f); /* encoder self-attention with padding keys */
  attn_case(0, 1, 0.0f); /* decoder self-attention, causal */
  attn_case(1, 0, 0.0f); /* cross-attention with padding keys */
  attn_case(1, 0, 0.3f); /* with attention dropout */
  attn_case(0, 1, 0.3f);
  /* a query whose keys are all padding gets zero probabilities and a zero output, not NaN */
  int32_t pad[2] = {0, 0};
  float q[4] = {1, 2, 3, 4}, kv[8] = {1, 2, 3, 4, 5, 6, 7, 8}, out[4], probs[4];
  attention_forward(out, probs, NULL, NULL, q, 4, 4, kv, kv, 4, 8, pad, 0, 0, 1, 1, 2, 4, 2, 0.0f, NULL);
  CHECK(out[0] == 0.0f && out[3] == 0.0f && probs[0] == 0.0f && probs[1] == 0.0f);
  /* incremental decoding: query at position 2 (q_offset) sees keys 0..2 of 4 */
  float q3[2] = {0.5f, -1.0f}, k4[8] = {1, 0, 0, 1, 1, 1, 2, 2}, o3[2], p3[4];
  attention_forward(o3, p3, NULL, NULL, q3, 2, 2, k4, k4, 2, 8, NULL, 1, 2, 1, 1, 4, 2, 1, 0.0f, NULL);
  CHECK(p3[3] == 0.0f && p3[0] > 0.0f);
  CHECK_CLOSE(p3[0] + p3[1] + p3[2], 1.0, 1e-6);
}

/* ---- self-attention with relative positions (Shaw et al. 2018) ------------------------------------------------ */
typedef struct {
  int B, T, S, C, H, K, causal, q_offset;
  float p;
  const int32_t *keys;
  float *q, *kv, *rk, *rv, *out, *probs, *scratch, *R;
  uint8_t *mask;
} rel_ctx;

/* Queries from a packed (B*T,3C) buffer; keys and values from it too (T == S), or, with q_offset (incremental
 * decoding: T queries at positions q_offset.., S keys), from a packed (B*S,2C) cache. */
static const float *rel_k_of(const rel_ctx *c) { return c->kv ? c->kv : c->q + c->C; }
static const float *rel_v_of(const rel_ctx *c) { return c->kv ? c->kv + c->C : c->q + 2 * c->C; }
static int rel_ldkv(const rel_ctx *c) { return c->kv ? 2 * c->C : 3 * c->C; }

static double rel_loss(void *p) {
  rel_ctx *c = p;
  xlat_rng rng;
  xlat_rng_seed(&rng, 77);
  attention_rel_forward(c->out, c->probs, c->mask, c->scratch, c->q, 3 * c->C, (size_t)c->T * 3 * c->C, rel_k_of(c),
                        rel_v_of(c), rel_ldkv(c), (size_t)c->S * rel_ldkv(c), c->rk, c->rv, c->K, c->keys, c->causal,
                        c->q_offset, c->B, c->T, c->S, c->C, c->H, c->p, &rng);
  return dot(c->out, c->R, (size_t)c->B * c->T * c->C);
}

static void rel_case(int causal, int K, int q_offset, float p) {
  int B = 2, T = q_offset ? 3 : 6, S = q_offset ? q_offset + T : 6, C = 6, H = 2, D = C / H, R = 2 * K + 1;
  static const int32_t keys[12] = {5, 6, 7, 8, 0, 0, 9, 10, 11, 12, 13, 14}; /* row 0: 4 real keys */
  rel_ctx c = {B, T, S, C, H, K, causal, q_offset, p, causal ? NULL : keys, NULL, NULL, NULL, NULL, NULL, NULL,
               NULL, NULL, NULL};
  size_t nq = (size_t)B * T * 3 * C, nkv = q_offset ? (size_t)B * S * 2 * C : 0, nr = (size_t)R * D;
  size_t ns = 2 * (size_t)T * S + 2 * (size_t)T * R;
  c.q = randn(nq, 1), c.kv = q_offset ? randn(nkv, 1) : NULL, c.rk = randn(nr, 1), c.rv = randn(nr, 1);
  c.out = zeros((size_t)B * T * C), c.probs = zeros((size_t)B * H * T * S), c.scratch = zeros(ns);
  c.R = randn((size_t)B * T * C, 1), c.mask = malloc((size_t)B * H * T * S);
  rel_loss(&c);
  if (p == 0.0f) { /* the bucketed fast path against the definition */
    float *out2 = zeros((size_t)B * T * C), *probs2 = zeros((size_t)B * H * T * S);
    attention_rel_forward_ref(out2, probs2, c.q, 3 * C, (size_t)T * 3 * C, rel_k_of(&c), rel_v_of(&c), rel_ldkv(&c),
                              (size_t)S * rel_ldkv(&c), c.rk, c.rv, K, c.keys, causal, q_offset, B, T, S, C, H);
    int bad = 0;
    for (int i = 0; i < B * T * C; i++) bad += fabs(c.out[i] - out2[i]) > 1e-5;
    for (int i = 0; i < B * H * T * S; i++) bad += fabs(c.probs[i] - probs2[i]) > 1e-5;
    CHECK(bad == 0);
    /* the relative terms matter: plain attention gives other probabilities */
    float *out3 = zeros((size_t)B * T * C), *probs3 = zeros((size_t)B * H * T * S);
    attention_forward(out3, probs3, NULL, NULL, c.q, 3 * C, (size_t)T * 3 * C, rel_k_of(&c), rel_v_of(&c),
                      rel_ldkv(&c), (size_t)S * rel_ldkv(&c), c.keys, causal, q_offset, B, T, S, C, H, 0.0f, NULL);
    double diff = 0.0;
    for (int i = 0; i < B * H * T * S; i++) diff = fmax(diff, fabs(c.probs[i] - probs3[i]));
    CHECK(diff > 1e-2);
    free(out2), free(probs2), free(out3), free(probs3);
  }
  if (!causal) /* padding keys get exactly zero probability */
    for (int t = 0; t < T; t++) CHECK(c.probs[(size_t)t * S + 4] == 0.0f && c.probs[(size_t)t * S + 5] == 0.0f);
  if (causal) CHECK(c.probs[q_offset + 1] == 0.0f);
  float *dq = zeros(nq), *dkv = q_offset ? zeros(nkv) : NULL, *drk = zeros(nr), *drv = zeros(nr);
  float *dk = q_offset ? dkv : dq + C, *dv = q_offset ? dkv + C : dq + 2 * C;
  attention_rel_backward(dq, dk, dv, drk, drv, c.scratch, c.R, c.probs, c.mask, c.q, 3 * C, (size_t)T * 3 * C,
                         rel_k_of(&c), rel_v_of(&c), rel_ldkv(&c), (size_t)S * rel_ldkv(&c), c.rk, c.rv, K, q_offset,
                         B, T, S, C, H, p);
  fd_check("rel_attention.q", rel_loss, &c, c.q, dq, nq, 1e-2f, 2e-3);
  if (q_offset) fd_check("rel_attention.kv", rel_loss, &c, c.kv, dkv, nkv, 1e-2f, 2e-3);
  fd_check("rel_attention.rel_k", rel_loss, &c, c.rk, drk, nr, 1e-2f, 2e-3);
  fd_check("rel_attention.rel_v", rel_loss, &c, c.rv, drv, nr, 1e-2f, 2e-3);
  free(c.q), free(c.kv), free(c.rk), free(c.rv), free(c.out), free(c.probs), free(c.scratch), free(c.R), free(c.mask);
  free(dq), free(dkv), free(drk), free(drv);
}

static void test_rel_attention(void) {
  rel_case(0, 2, 0, 0.0f); /* encoder: padding keys, distances clipped on both sides (|s - i| up to 5 > K 2) */
  rel_case(1, 2, 0, 0.0f); /* decoder: causal */
  rel_case(0, 8, 0, 0.0f); /* K beyond every distance: no clipping */
  rel_case(1, 1, 0, 0.3f); /* with attention dropout */
  rel_case(0, 2, 0, 0.3f);
  rel_case(1, 2, 3, 0.0f); /* queries at positions 3..5 against a cache of 6 keys */
  rel_case(1, 2, 3, 0.3f);
}

/* ---- activation, residual, dropout ----------------------------------------------------------------------------- */
typedef struct {
  int act, kind; /* kind 0: act_dropout, 1: residual_dropout, 2: dropout */
  float p;
  size_t n;
  float *x, *res, *out, *R;
  uint8_t *mask;
} ew_ctx;

static double ew_loss(void *q) {
  ew_ctx *c = q;
  xlat_rng rng;
  xlat_rng_seed(&rng, 5);
  if (c->kind == 0) {
    act_dropout_forward(c->out, c->mask, c->x, c->n, c->act, c->p, &rng);
  } else if (c->kind == 1) {
    residual_dropout_forward(c->out, c->mask, c->res, c->x, c->n, c->p, &rng);
  } else {
    memcpy(c->out, c->x, c->n * sizeof *c->out);
    dropout_forward(c->out, c->mask, c->n, c->p, &rng);
  }
  return dot(c->out, c->R, c->n);
}

static void ew_case(int kind, int act, float p) {
  size_t n = 40;
  ew_ctx c = {act, kind, p, n, randn(n, 1), randn(n, 1), zeros(n), randn(n, 1), malloc(n)};
  for (size_t i = 0; i < n; i++) /* keep ReLU inputs away from the kink at 0 */
    if (fabsf(c.x[i]) < 0.05f) c.x[i] = 0.1f;
  ew_loss(&c);
  float *dx = zeros(n);
  if (kind == 0) {
    act_dropout_backward(dx, c.R, c.x, c.out, c.mask, n, act, p);
  } else if (kind == 1) {
    residual_dropout_backward(dx, c.R, c.mask, n, p);
    float *dres = c.R; /* the residual's gradient is dout itself: check it too */
    fd_check("residual.res", ew_loss, &c, c.res, dres, n, 1e-2f, 1e-3);
  } else {
    memcpy(dx, c.R, n * sizeof *dx);
    dropout_backward(dx, c.mask, n, p);
  }
  fd_check(kind == 0 ? (act ? "gelu_dropout" : "relu_dropout") : kind == 1 ? "residual_dropout" : "dropout", ew_loss,
           &c, c.x, dx, n, 1e-2f, 1e-3);
  free(c.x), free(c.res), free(c.out), free(c.R), free(c.mask), free(dx);
}

static void test_elementwise(void) {
  for (int act = 0; act < 2; act++) {
    ew_case(0, act, 0.0f);
    ew_case(0, act, 0.25f);
  }
  ew_case(1, 0, 0.0f);
  ew_case(1, 0, 0.25f);
  ew_case(2, 0, 0.25f);
  /* GELU is the erf form: gelu(1) = 0.5 (1 + erf(1/sqrt 2)) */
  float one = 1.0f, g;
  act_dropout_forward(&g, NULL, &one, 1, XLAT_ACT_GELU, 0.0f, NULL);
  CHECK_CLOSE(g, 0.8413447460685429, 1e-6);
  /* dropout keeps about 1-p of the units, scaled by 1/(1-p), and is a function of the seed */
  size_t n = 100000;
  float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
  uint8_t *m1 = malloc(n), *m2 = malloc(n);
  for (size_t i = 0; i < n; i++) x[i] = y[i] = 1.0f;
  xlat_rng r1, r2;
  xlat_rng_seed(&r1, 11), xlat_rng_seed(&r2, 11);
  dropout_forward(x, m1, n, 0.1f, &r1);
  dropout_forward(y, m2, n, 0.1f, &r2);
  CHECK(memcmp(m1, m2, n) == 0);
  double kept = 0.0, sum = 0.0;
  for (size_t i = 0; i < n; i++) kept += m1[i], sum += x[i];
  CHECK(fabs(kept / n - 0.9) < 0.005);
  CHECK(fabs(sum / n - 1.0) < 0.01);
  /* neighbouring units and the next call's mask are independent: both kept about (1-p)^2 of the time */
  dropout_forward(y, m2, n, 0.1f, &r2);
  double pairs = 0.0, again = 0.0;
  for (size_t i = 0; i + 1 < n; i++) pairs += m1[i] && m1[i + 1], again += m1[i] && m2[i];
  CHECK(fabs(pairs / n - 0.81) < 0.006);
  CHECK(fabs(again / n - 0.81) < 0.006);
  free(x), free(y), free(m1), free(m2);
}

/* ---- log-softmax + label-smoothed cross entropy ---------------------------------------------------------------- */
typedef struct {
  int N, V;
  float eps;
  float *logits, *loss, *nll, *lse;
  const int32_t *tg;
} xent_ctx;

static double xent_loss(void *p) {
  xent_ctx *c = p;
  xent_forward(c->loss, c->nll, c->lse, c->logits, c->tg, c->N, c->V, c->eps);
  double s = 0.0;
  for (int i = 0; i < c->N; i++) s += c->loss[i];
  return s;
}

static void test_xent(void) {
  int N = 4, V = 9;
  static const int32_t tg[4] = {3, 0, 8, 1}; /* row 1 is padding */
  xent_ctx c = {N, V, 0.1f, randn(36, 2), zeros(4), zeros(4), zeros(4), tg};
  CHECK(xent_forward(c.loss, c.nll, c.lse, c.logits, tg, N, V, 0.1f) == 3);
  CHECK(c.loss[1] == 0.0f && c.nll[1] == 0.0f);
  /* row 0 by the definition: (1-eps) * -logp[y] + eps * mean(-logp) */
  double mx = -INFINITY, se = 0.0, sl = 0.0;
  for (int v = 0; v < V; v++) mx = fmax(mx, c.logits[v]);
  for (int v = 0; v < V; v++) se += exp(c.logits[v] - mx);
  double lse = mx + log(se);
  for (int v = 0; v < V; v++) sl += lse - c.logits[v];
  CHECK_CLOSE(c.nll[0], lse - c.logits[3], 1e-5);
  CHECK_CLOSE(c.loss[0], 0.9 * (lse - c.logits[3]) + 0.1 * sl / V, 1e-5);
  float *d = zeros(36), *lp = zeros(36);
  xent_backward(d, c.logits, c.lse, tg, N, V, 0.1f, 1.0f);
  fd_check("xent.logits", xent_loss, &c, c.logits, d, 36, 1e-2f, 1e-3);
  /* the fused training form gives the same loss and gradient */
  float *fused = malloc(36 * sizeof *fused), *floss = zeros(4);
  memcpy(fused, c.logits, 36 * sizeof *fused);
  xent_forward(c.loss, c.nll, c.lse, c.logits, tg, N, V, 0.1f);
  CHECK(xent_forward_backward(fused, floss, tg, N, V, 0.1f, 1.0f) == 3);
  for (int i = 0; i < N; i++) CHECK_CLOSE(floss[i], c.loss[i], 1e-6);
  for (int i = 0; i < 36; i++) CHECK_CLOSE(fused[i], d[i], 1e-6);
  free(fused), free(floss);
  logsoftmax_forward(lp, c.logits, N, V);
  CHECK_CLOSE(lp[3], c.logits[3] - lse, 1e-5);
  free(c.logits), free(c.loss), free(c.nll), free(c.lse), free(d), free(lp);
}

/* xlat_expf (the vectorizable exp of softmax and loss) within 2 ulp of exp over the range that matters. */
static void test_expf(void) {
  double worst = 0.0;
  for (float x = -87.0f; x < 88.0f; x += 0.00731f) {
    double e = exp((double)x);
    worst = fmax(worst, fabs(xlat_expf(x) - e) / e);
  }
  CHECK(worst < 2 * 5.96e-8);
  CHECK(xlat_expf(0.0f) == 1.0f);
  CHECK(xlat_expf(-1000.0f) < 1e-37f && xlat_expf(-1000.0f) >= 0.0f);
}

int main(void) {
  xlat_rng_seed(&data_rng, 1234);
  test_expf();
  test_embed();
  test_layernorm();
  test_linear();
  test_attention();
  test_rel_attention();
  test_elementwise();
  test_xent();
  TEST_END();
}

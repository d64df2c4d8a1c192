/* transformer_decode.c - the Transformer's cached incremental decoder (behind decoder.c's checks): the encoder once
 * per source batch, then one decoder position at a time for a batch of hypotheses, with a self-attention key/value
 * cache and cross-attention keys and values computed once per sentence. The model is only read; all per-run state
 * lives here, so threads can share one model with one decoder each. Nothing is allocated after tf_dec_new.
 *
 * The layer sequence is transformer_train.c's eval-mode forward (post-norm or pre-norm, ReLU or GELU, tied or
 * untied embeddings, sinusoidal, learned or relative positions); layer norm, activation, embedding, residual and
 * log-softmax are ops.c's kernels. Two things are decoder-specific:
 *
 * - Linear layers use kernels.h's matmul_rows() instead of cblas_sgemm. OpenBLAS picks a different summation order
 *   for small and large matrices, so the same row multiplied alone and inside a batch of 64 can differ in the last
 *   bit, and a beam search must not change its output with the batch (xlat-decode promises identical output for any
 *   batch size and thread count). matmul_rows computes every output element as one sequential sum over k, whatever
 *   the number of rows, at close to sgemm speed (register-blocked tiles over packed panels of W^T). The weights a
 *   step uses are packed when the first decoder of a model is made and shared by all its decoders (small numbers of
 *   hypotheses, the end of every beam search, would otherwise spend most of their time packing; one copy per
 *   thread cost a base model 100 MB per thread). So a model's weights must not change while a decoder of it lives.
 * - Attention is one query against the cached keys of its own hypothesis or sentence, skipping padding keys, so the
 *   result depends neither on the batch nor on how much padding the source batch has. With relative positions the
 *   query at position i adds the distance embeddings of keys j = 0..i (decoder) or 0..S-1 (encoder) the same way.
 */
#include <math.h>
#include <string.h>

#include "ops.h"
#include "transformer.h"

/* ---- one query against a run of keys ---------------------------------------------------------------------------- */

/* Relative positions (Shaw et al. 2018): the embedding row of key j for the query at position i. */
static inline int rel_bucket(int j, int i, int K) {
  int d = j - i;
  return d < -K ? 0 : (d > K ? 2 * K : d + K);
}

/* Distance embeddings of a self-attention with relative positions: rel_k, rel_v (2K+1,D), the query's position i;
 * NULL for none (plain attention, cross-attention). */
typedef struct {
  const float *rel_k, *rel_v;
  int K, i;
} rel_pos;

/* Multi-head attention of one query q (C) over n keys: key j at k + j*ld, value j at v + j*ld, skipped where
 * keep != NULL and keep[j] == XLAT_PAD. out (C); scores (n) and rs (2K+1) scratch. When avg != NULL, adds each
 * head's probabilities / H to avg (n). A query with no key gets a zero output, as attention_forward does. With rp
 * (relative positions, key j at position j) the score of key j gains q . rel_k[r] / sqrt(D) and the output
 * p_j rel_v[r], r its bucket, as attention_rel_forward computes them: one product per bucket, probabilities summed
 * per bucket. Every sum runs in one fixed order, whatever the other rows. */
static void attend(const xlat_kernels *kern, float *out, float *avg, float *scores, float *rs, const float *q,
                   const float *k, const float *v, size_t ld, const int32_t *keep, int n, int C, int H,
                   const rel_pos *rp) {
  int D = C / H;
  float scale = 1.0f / sqrtf((float)D);
  /* the buckets keys 0..n-1 fall into */
  int rlo = rp ? rel_bucket(0, rp->i, rp->K) : 0, rhi = rp ? rel_bucket(n - 1, rp->i, rp->K) : -1;
  for (int h = 0; h < H; h++) {
    const float *qh = q + h * D;
    float *oh = out + h * D;
    float mx = -INFINITY;
    for (int r = rlo; r <= rhi; r++) rs[r] = kern->dot(qh, rp->rel_k + (size_t)r * D, D) * scale;
    for (int j = 0; j < n; j++) {
      if (keep && keep[j] == XLAT_PAD) continue;
      scores[j] = kern->dot(qh, k + j * ld + h * D, D) * scale;
      if (rp) scores[j] += rs[rel_bucket(j, rp->i, rp->K)];
      if (scores[j] > mx) mx = scores[j];
    }
    for (int d = 0; d < D; d++) oh[d] = 0.0f;
    if (mx == -INFINITY) continue;
    float sum = 0.0f;
    for (int j = 0; j < n; j++) {
      if (keep && keep[j] == XLAT_PAD) continue;
      scores[j] = expf(scores[j] - mx);
      sum += scores[j];
    }
    float inv = 1.0f / sum;
    for (int r = rlo; r <= rhi; r++) rs[r] = 0.0f;
    for (int j = 0; j < n; j++) {
      if (keep && keep[j] == XLAT_PAD) continue;
      float p = scores[j] * inv;
      const float *vj = v + j * ld + h * D;
      for (int d = 0; d < D; d++) oh[d] += p * vj[d];
      if (rp) rs[rel_bucket(j, rp->i, rp->K)] += p;
      if (avg) avg[j] += p / (float)H;
    }
    for (int r = rlo; r <= rhi; r++) {
      const float *a = rp->rel_v + (size_t)r * D;
      for (int d = 0; d < D; d++) oh[d] += rs[r] * a[d];
    }
  }
}

/* ---- state ----------------------------------------------------------------------------------------------------- */

/* A decoder layer's step weights as panels (xlat_pack_weights). */
typedef struct {
  float *self_in, *self_out, *cross_q, *cross_out, *w1, *w2;
} packed_layer;

/* Every decoder layer's panels and the output projection's, in one block: the model's shared cache. */
typedef struct {
  packed_layer *layer; /* (L) */
  float *out;          /* out_proj as panels */
  void *block;
} panels;

typedef struct {
  const xlat_model *m;
  const tf_weights *w;
  const xlat_kernels *k; /* the instruction set's matmul_rows and dot */
  int32_t cap_sent, cap_src, cap_hyps, cap_tgt, cap_rows;
  int32_t B, S;    /* the encoded batch */
  int32_t *src;    /* (B,S) the encoded ids: padding masks */
  float *cross_kv; /* (L, B*S, 2C) per decoder layer: keys, then values of each source position */
  float *self_kv;  /* (L, cap_hyps + 1, cap_tgt, 2C): row cap_hyps is reorder()'s spare */
  const panels *panels; /* the model's, shared */
  /* scratch of cap_rows rows */
  float *x, *h, *att, *wide; /* (R,C) (R,C) (R,C) (R, max(3C,F)) */
  float *act;                /* (R,F) activation output: its own buffer for GELU, wide for ReLU (in place) */
  float *mean, *rstd;        /* (R) */
  float *scores;             /* (max(cap_src, cap_tgt)) */
  float *rel;                /* (2K+1) relative positions' per-bucket scratch */
  float *panel;              /* (max(C,F),16) */
  void *block;
} decoder;

/* Lays out every buffer from base (NULL: only counts); returns the bytes needed. */
static size_t layout(decoder *d, char *base) {
  const xlat_config *c = &d->m->cfg;
  size_t C = (size_t)c->d_model, F = (size_t)c->d_ff, L = (size_t)c->dec_layers, R = (size_t)d->cap_rows;
  size_t wide = 3 * C > F ? 3 * C : F, big = C > F ? C : F, hyps = (size_t)d->cap_hyps + 1;
  xlat_carver cv = {base, 0};
  d->src = xlat_carve(&cv, (size_t)d->cap_sent * d->cap_src, sizeof(int32_t));
  d->cross_kv = xlat_carve(&cv, L * d->cap_sent * d->cap_src * 2 * C, sizeof(float));
  d->self_kv = xlat_carve(&cv, L * hyps * d->cap_tgt * 2 * C, sizeof(float));
  d->x = xlat_carve(&cv, R * C, sizeof(float));
  d->h = xlat_carve(&cv, R * C, sizeof(float));
  d->att = xlat_carve(&cv, R * C, sizeof(float));
  d->wide = xlat_carve(&cv, R * wide, sizeof(float));
  d->act = c->activation == XLAT_ACT_GELU ? xlat_carve(&cv, R * F, sizeof(float)) : d->wide; /* ReLU runs in place */
  d->mean = xlat_carve(&cv, R, sizeof(float));
  d->rstd = xlat_carve(&cv, R, sizeof(float));
  d->scores = xlat_carve(&cv, (size_t)(d->cap_src > d->cap_tgt ? d->cap_src : d->cap_tgt), sizeof(float));
  d->rel = xlat_carve(&cv, 2 * (size_t)c->rel_clip + 1, sizeof(float));
  d->panel = xlat_carve(&cv, big * XLAT_PANEL, sizeof(float));
  return cv.used;
}

/* Lays out p's buffers from base (NULL: only counts); returns the bytes needed. */
static size_t panels_layout(panels *p, const xlat_config *c, char *base) {
  int C = c->d_model, F = c->d_ff;
  xlat_carver cv = {base, 0};
  p->layer = xlat_carve(&cv, (size_t)c->dec_layers, sizeof(packed_layer));
  for (int l = 0; l < c->dec_layers; l++) {
    packed_layer pl;
    pl.self_in = xlat_carve(&cv, xlat_packed_floats(3 * C, C), sizeof(float));
    pl.self_out = xlat_carve(&cv, xlat_packed_floats(C, C), sizeof(float));
    pl.cross_q = xlat_carve(&cv, xlat_packed_floats(C, C), sizeof(float));
    pl.cross_out = xlat_carve(&cv, xlat_packed_floats(C, C), sizeof(float));
    pl.w1 = xlat_carve(&cv, xlat_packed_floats(F, C), sizeof(float));
    pl.w2 = xlat_carve(&cv, xlat_packed_floats(C, F), sizeof(float));
    if (base) p->layer[l] = pl;
  }
  p->out = xlat_carve(&cv, xlat_packed_floats(c->vocab_size, C), sizeof(float));
  return cv.used;
}

void *tf_panels_new(const xlat_model *m) {
  panels *p = calloc(1, sizeof *p);
  if (p && (p->block = aligned_alloc(64, panels_layout(p, &m->cfg, NULL))) != NULL) {
    panels_layout(p, &m->cfg, p->block);
    return p;
  }
  free(p);
  return NULL;
}

void tf_panels_pack(void *panels_, const xlat_model *m) {
  const xlat_config *c = &m->cfg;
  const tf_weights *tw = m->w;
  panels *p = panels_;
  int C = c->d_model, F = c->d_ff;
  for (int l = 0; l < c->dec_layers; l++) {
    const tf_layer *w = &tw->dec[l];
    const packed_layer *pk = &p->layer[l];
    xlat_pack_weights(pk->self_in, w->self_attn.in_w, 3 * C, C);
    xlat_pack_weights(pk->self_out, w->self_attn.out_w, C, C);
    xlat_pack_weights(pk->cross_q, w->cross_attn.in_w, C, C);
    xlat_pack_weights(pk->cross_out, w->cross_attn.out_w, C, C);
    xlat_pack_weights(pk->w1, w->ffn_w1, F, C);
    xlat_pack_weights(pk->w2, w->ffn_w2, C, F);
  }
  xlat_pack_weights(p->out, tw->out_proj, c->vocab_size, C);
}

void tf_panels_free(void *panels_) {
  panels *p = panels_;
  if (!p) return;
  free(p->block);
  free(p);
}

xlat_status tf_dec_new(const xlat_model *m, const void *panels_, xlat_dec_shape cap, void **out) {
  *out = NULL;
  decoder *d = calloc(1, sizeof *d);
  if (!d) return xlat_fail(XLAT_ERR_NOMEM, "decoder: out of memory");
  d->m = m;
  d->w = m->w;
  d->k = xlat_kernels_get();
  d->panels = panels_;
  d->cap_sent = cap.sent, d->cap_src = cap.src, d->cap_hyps = cap.hyps, d->cap_tgt = cap.tgt;
  size_t enc_rows = (size_t)cap.sent * cap.src;
  d->cap_rows = (int32_t)(enc_rows > (size_t)cap.hyps ? enc_rows : (size_t)cap.hyps);
  size_t bytes = layout(d, NULL);
  d->block = aligned_alloc(64, bytes);
  if (!d->block) {
    free(d);
    return xlat_fail(XLAT_ERR_NOMEM, "decoder: out of memory for %zu bytes of state", bytes);
  }
  layout(d, d->block);
  *out = d;
  return XLAT_OK;
}

void tf_dec_free(void *d_) {
  decoder *d = d_;
  if (!d) return;
  free(d->block);
  free(d);
}

void tf_state_bytes(const xlat_config *c, double *per_hyp_pos, double *per_src_pos, double *per_hyp) {
  /* self-attention K/V per hypothesis and position; encoder memory, cross-attention K/V and encoder activations per
   * source position; log-probabilities and step activations per hypothesis */
  double C = c->d_model, F = c->d_ff;
  *per_hyp_pos = 4.0 * 2 * c->dec_layers * C;
  *per_src_pos = 4.0 * (2 * c->dec_layers * C + 6 * C + F);
  *per_hyp = 4.0 * (2.0 * c->vocab_size + 6 * C + F);
}

/* x = LN(x) through the h buffer (layernorm_forward does not promise to run in place). */
static void norm_in_place(decoder *d, float *x, const float *g, const float *b, int N, int C) {
  layernorm_forward(d->h, d->mean, d->rstd, x, g, b, N, C);
  memcpy(x, d->h, sizeof(float) * (size_t)N * C);
}

/* The input of a sublayer: LN(x) in h for pre-norm, x itself for post-norm. */
static const float *sublayer_input(decoder *d, const float *g, const float *b, int N) {
  const xlat_config *c = &d->m->cfg;
  if (!c->pre_norm) return d->x;
  layernorm_forward(d->h, d->mean, d->rstd, d->x, g, b, N, c->d_model);
  return d->h;
}

/* x += branch (N,C), then LN for post-norm. */
static void sublayer_output(decoder *d, const float *branch, const float *g, const float *b, int N) {
  const xlat_config *c = &d->m->cfg;
  size_t n = (size_t)N * c->d_model;
  residual_dropout_forward(d->x, NULL, d->x, branch, n, 0.0f, NULL);
  if (!c->pre_norm) norm_in_place(d, d->x, g, b, N, c->d_model);
}

/* x = FFN sublayer of layer w on N rows; pk: its packed weights, or NULL to pack on the way. */
static void ffn(decoder *d, const tf_layer *w, const packed_layer *pk, int N) {
  const xlat_config *c = &d->m->cfg;
  int C = c->d_model, F = c->d_ff;
  const float *in = sublayer_input(d, w->norm3_g, w->norm3_b, N);
  d->k->matmul_rows(d->wide, in, w->ffn_w1, pk ? pk->w1 : NULL, w->ffn_b1, d->panel, N, F, C);
  act_dropout_forward(d->act, NULL, d->wide, (size_t)N * F, c->activation, 0.0f, NULL);
  d->k->matmul_rows(d->att, d->act, w->ffn_w2, pk ? pk->w2 : NULL, w->ffn_b2, d->panel, N, C, F);
  sublayer_output(d, d->att, w->norm3_g, w->norm3_b, N);
}

void tf_encode(void *d_, const int32_t *src, int32_t B, int32_t S) {
  decoder *d = d_;
  const xlat_config *c = &d->m->cfg;
  int C = c->d_model, H = c->n_heads;
  d->B = B, d->S = S;
  memcpy(d->src, src, sizeof(int32_t) * (size_t)B * S);
  int N = B * S;
  embed_forward(d->x, src, d->w->src_embed, tf_position(d->w, c, 0, 0), B, S, C, sqrtf((float)C));
  for (int l = 0; l < c->enc_layers; l++) {
    const tf_layer *w = &d->w->enc[l];
    const float *in = sublayer_input(d, w->norm1_g, w->norm1_b, N);
    d->k->matmul_rows(d->wide, in, w->self_attn.in_w, NULL, w->self_attn.in_b, d->panel, N, 3 * C, C);
    /* padding queries are never read (masked as keys, ignored by the decoder): zero rows keep them finite */
    for (int b = 0; b < B; b++)
      for (int t = 0; t < S; t++) {
        size_t row = (size_t)b * S + t;
        if (src[row] == XLAT_PAD) {
          memset(d->att + row * C, 0, sizeof(float) * C);
          continue;
        }
        const float *qkv = d->wide + (size_t)b * S * 3 * C;
        rel_pos rp = {w->self_attn.rel_k, w->self_attn.rel_v, c->rel_clip, t};
        attend(d->k, d->att + row * C, NULL, d->scores, d->rel, d->wide + row * 3 * C, qkv + C, qkv + 2 * C,
               3 * (size_t)C, src + (size_t)b * S, S, C, H, rp.rel_k ? &rp : NULL);
      }
    d->k->matmul_rows(d->h, d->att, w->self_attn.out_w, NULL, w->self_attn.out_b, d->panel, N, C, C);
    sublayer_output(d, d->h, w->norm1_g, w->norm1_b, N);
    ffn(d, w, NULL, N);
  }
  if (c->pre_norm) norm_in_place(d, d->x, d->w->enc_norm_g, d->w->enc_norm_b, N, C);
  /* keys and values of every decoder layer's cross-attention: rows [C,3C) of in_w applied to the memory */
  for (int l = 0; l < c->dec_layers; l++) {
    const tf_attn *a = &d->w->dec[l].cross_attn;
    d->k->matmul_rows(d->cross_kv + (size_t)l * d->cap_sent * d->cap_src * 2 * C, d->x, a->in_w + (size_t)C * C, NULL,
                a->in_b + C, d->panel, N, 2 * C, C);
  }
}

void tf_step(void *d_, int32_t N, const int32_t *hyp_sent, const int32_t *tokens, int32_t pos, float *logprobs,
             float *attn) {
  decoder *d = d_;
  const xlat_config *c = &d->m->cfg;
  int C = c->d_model, H = c->n_heads, V = c->vocab_size, S = d->S;
  size_t hyp_stride = (size_t)d->cap_tgt * 2 * C, layer_stride = (size_t)(d->cap_hyps + 1) * hyp_stride;
  size_t cross_stride = (size_t)d->cap_sent * d->cap_src * 2 * C;
  embed_forward(d->x, tokens, d->w->tgt_embed, tf_position(d->w, c, 1, pos), N, 1, C, sqrtf((float)C));
  for (int l = 0; l < c->dec_layers; l++) {
    const tf_layer *w = &d->w->dec[l];
    const packed_layer *pk = &d->panels->layer[l];
    float *cache = d->self_kv + l * layer_stride;
    /* masked self-attention: this position's key and value join the cache, the query sees positions 0..pos
     * (relative positions: at distances -pos..0) */
    const float *in = sublayer_input(d, w->norm1_g, w->norm1_b, N);
    d->k->matmul_rows(d->wide, in, w->self_attn.in_w, pk->self_in, w->self_attn.in_b, d->panel, N, 3 * C, C);
    rel_pos rp = {w->self_attn.rel_k, w->self_attn.rel_v, c->rel_clip, pos};
    for (int i = 0; i < N; i++) {
      float *row = cache + i * hyp_stride;
      memcpy(row + (size_t)pos * 2 * C, d->wide + (size_t)i * 3 * C + C, sizeof(float) * 2 * C);
      attend(d->k, d->att + (size_t)i * C, NULL, d->scores, d->rel, d->wide + (size_t)i * 3 * C, row, row + C,
             2 * (size_t)C, NULL, pos + 1, C, H, rp.rel_k ? &rp : NULL);
    }
    d->k->matmul_rows(d->h, d->att, w->self_attn.out_w, pk->self_out, w->self_attn.out_b, d->panel, N, C, C);
    sublayer_output(d, d->h, w->norm1_g, w->norm1_b, N);
    /* cross-attention over the hypothesis's own sentence */
    in = sublayer_input(d, w->norm2_g, w->norm2_b, N);
    d->k->matmul_rows(d->wide, in, w->cross_attn.in_w, pk->cross_q, w->cross_attn.in_b, d->panel, N, C, C);
    const float *kv = d->cross_kv + l * cross_stride;
    int last = l == c->dec_layers - 1;
    for (int i = 0; i < N; i++) {
      size_t sent = (size_t)hyp_sent[i];
      const float *ks = kv + sent * S * 2 * C;
      attend(d->k, d->att + (size_t)i * C, last && attn ? attn + (size_t)i * S : NULL, d->scores, d->rel,
             d->wide + (size_t)i * C, ks, ks + C, 2 * (size_t)C, d->src + sent * S, S, C, H, NULL);
    }
    d->k->matmul_rows(d->h, d->att, w->cross_attn.out_w, pk->cross_out, w->cross_attn.out_b, d->panel, N, C, C);
    sublayer_output(d, d->h, w->norm2_g, w->norm2_b, N);
    ffn(d, w, pk, N);
  }
  if (c->pre_norm) norm_in_place(d, d->x, d->w->dec_norm_g, d->w->dec_norm_b, N, C);
  d->k->matmul_rows(logprobs, d->x, d->w->out_proj, d->panels->out, NULL, d->panel, N, V, C);
  logsoftmax_forward(logprobs, logprobs, N, V);
}

void tf_copy_row(void *d_, int32_t to, int32_t from, int32_t cached) {
  decoder *d = d_;
  const xlat_config *c = &d->m->cfg;
  size_t hyp_stride = (size_t)d->cap_tgt * 2 * c->d_model, layer_stride = (size_t)(d->cap_hyps + 1) * hyp_stride;
  size_t n = (size_t)cached * 2 * c->d_model;
  for (int l = 0; l < c->dec_layers; l++) {
    float *base = d->self_kv + l * layer_stride;
    memcpy(base + to * hyp_stride, base + from * hyp_stride, sizeof(float) * n);
  }
}

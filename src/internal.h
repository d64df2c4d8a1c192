/* internal.h - what the library's files and the tests share beyond xlat.h. */
#ifndef XLAT_INTERNAL_H
#define XLAT_INTERNAL_H

#include <pthread.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>

#include "xlat.h"

/* Programmer errors (shape mismatch, broken invariant) abort with file:line; never used for user input. */
#define XLAT_ASSERT(cond)                                                                                          \
  do {                                                                                                             \
    if (!(cond)) {                                                                                                 \
      fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, #cond);                                 \
      abort();                                                                                                     \
    }                                                                                                              \
  } while (0)

/* ==== model library (params.c, rng.c, model.c, trainer.c) ===================================================== */

/* xoshiro256** (Blackman & Vigna), seeded through splitmix64. Drives initialization and dropout; its state is
 * saved in checkpoints so a resumed run draws the same masks. */
typedef struct {
  uint64_t s[4];
} xlat_rng;

void xlat_rng_seed(xlat_rng *r, uint64_t seed);
uint64_t xlat_rng_next(xlat_rng *r);
float xlat_rng_uniform(xlat_rng *r); /* [0, 1) with 24 random bits */
float xlat_rng_normal(xlat_rng *r);  /* N(0, 1), Box-Muller */
/* splitmix64 (Steele, Lea, Flood 2014): advances *state, returns the next value; a whole generator in 64 bits. */
uint64_t xlat_splitmix64(uint64_t *state);

/* One named parameter tensor inside the params block: rows x cols floats at offset (cols == 1 for vectors, ndim
 * says which). Names are stable (they are the checkpoint's and the golden files' keys), e.g. "embed",
 * "enc.0.self_attn.in_w", "dec.1.ffn.w2", "dec.norm.g". */
typedef struct {
  char name[48];
  size_t offset; /* in floats from the block start */
  int32_t ndim;  /* 1 or 2 */
  int32_t rows, cols;
} xlat_tensor_info;

/* Every layer's weights as pointers into one block. Linear weights are (out,in) like PyTorch (y = x W^T + b).
 * Attention in_w is (3C,C) with rows [0,C) the query, [C,2C) the key and [2C,3C) the value projection (PyTorch's
 * nn.MultiheadAttention in_proj_weight); in_b (3C). Cross-attention uses the same packing: queries from the decoder
 * through rows [0,C), keys and values from the encoder output through rows [C,3C). */
typedef struct {
  float *in_w, *in_b, *out_w, *out_b; /* (3C,C) (3C) (C,C) (C) */
} xlat_attn_weights;

typedef struct {
  xlat_attn_weights self_attn;
  xlat_attn_weights cross_attn; /* decoder layers only (NULL pointers in encoder layers) */
  float *ffn_w1, *ffn_b1;       /* (F,C) (F) */
  float *ffn_w2, *ffn_b2;       /* (C,F) (C) */
  /* norm1 after/before self-attention, norm2 after/before cross-attention (decoder only), norm3 after/before the
   * FFN (encoder layers use norm1 and norm3). */
  float *norm1_g, *norm1_b, *norm2_g, *norm2_b, *norm3_g, *norm3_b; /* (C) each */
} xlat_layer_weights;

typedef struct {
  float *src_embed; /* (V,C); with tied embeddings src_embed == tgt_embed == out_proj, one tensor "embed" */
  float *tgt_embed; /* (V,C) */
  float *out_proj;  /* (V,C): logits = h out_proj^T, no bias */
  float *src_pos, *tgt_pos;  /* (max_len,C) learned positions, or NULL with sinusoidal positions */
  xlat_layer_weights *enc;   /* [enc_layers] */
  xlat_layer_weights *dec;   /* [dec_layers] */
  float *enc_norm_g, *enc_norm_b, *dec_norm_g, *dec_norm_b; /* (C) final norms, pre-norm only (else NULL) */
} xlat_weights;

/* Number of parameter tensors of cfg, and their table (name, offset, shape) in block order; cap entries at most
 * are written to out (out may be NULL to count). The order is fixed: checkpoints and golden files rely on it. */
size_t xlat_param_table(const xlat_config *cfg, xlat_tensor_info *out, size_t cap);
/* Total number of floats of the params block of cfg. */
size_t xlat_param_count(const xlat_config *cfg);
/* Points w into block (xlat_param_count(cfg) floats): used for weights, gradients and Adam moments alike.
 * Allocates the layer arrays (free with xlat_weights_release). */
xlat_status xlat_weights_bind(xlat_weights *w, const xlat_config *cfg, float *block);
void xlat_weights_release(xlat_weights *w);

struct xlat_model {
  xlat_config cfg;
  uint64_t tokenizer_checksum;
  size_t n_params;
  float *params;      /* one block of n_params floats, 64-byte aligned */
  xlat_weights w;     /* bound into params */
  float *sinusoid;    /* (max_len,C) fixed positional encoding; NULL with learned positions */
  /* The decoder's step weights as panels (decoder.c), packed when the first of a set of live decoders is made and
   * shared, read-only, by all of them. A cache, so decoders of a const model update it under the lock. */
  pthread_mutex_t panels_lock;
  struct xlat_panels *panels;
  int32_t panels_users; /* live decoders */
};
void xlat_panels_free(struct xlat_panels *p);

/* A model of config cfg (checked) with every parameter zero: the loader fills params. xlat_model_new is this plus
 * the seeded initialization. */
xlat_status xlat_model_alloc(const xlat_config *cfg, xlat_model **out);
/* Positional encoding added at position pos (0 = first token) of the source (side 0) or target (side 1): the
 * learned row or the sinusoid PE(pos,2i) = sin(pos / 10000^(2i/C)), PE(pos,2i+1) = cos(pos / 10000^(2i/C)). */
const float *xlat_model_position(const xlat_model *m, int side, int32_t pos); /* (C) */

/* Activations of one batch for the training path (model.c), sized once for max_tokens rows per side
 * (B*S and B*T) and sequences of at most max_len (<= cfg max_len). */
typedef struct xlat_arena xlat_arena;
xlat_status xlat_arena_new(const xlat_config *cfg, int32_t max_tokens, int32_t max_len, xlat_arena **out);
void xlat_arena_free(xlat_arena *a);

/* One block carved into 64-byte aligned arrays (model.c's arena, decoder.c, beam.c): lay out once with base NULL to
 * measure `used`, allocate that, lay out again from the block. */
typedef struct {
  char *base; /* NULL while measuring */
  size_t used;
} xlat_carver;

static inline void *xlat_carve(xlat_carver *c, size_t n, size_t elem) {
  void *p = c->base ? c->base + c->used : NULL;
  c->used += (n * elem + 63) / 64 * 64;
  return p;
}

/* Zeroed, 64-byte aligned block of n floats (free with free()); NULL when out of memory. */
float *xlat_alloc_floats(size_t n);

struct xlat_trainer {
  xlat_model *model;
  xlat_train_options opt;
  size_t n_params;
  float *grads, *adam_m, *adam_v; /* n_params floats each, 64-byte aligned */
  xlat_weights gw;                /* bound into grads */
  xlat_model *ema;                /* EMA weights, NULL when opt.ema_decay == 0 */
  int64_t step;                   /* updates done */
  xlat_rng rng;                   /* dropout masks */
  xlat_progress progress;
  int64_t accum_tokens;           /* non-pad target tokens accumulated since the last update */
  int32_t accum_calls;            /* batches accumulated since the last update */
  int32_t rank;                   /* xlat_dist_rank() at creation: ranks > 0 reseed dropout per batch */
  uint64_t seed;
  xlat_arena *arena;
  xlat_tensor_info *tensors;      /* the parameter table of the model's config */
  size_t n_tensors;
};

/* Forward in eval mode (no dropout) of the model t trains on batch b, writing log-probabilities (logprobs != 0)
 * or raw logits (B,T,V) into out. Gradients, RNG and step are untouched. */
xlat_status xlat_trainer_forward(xlat_trainer *t, const xlat_batch *b, int logprobs, float *out);

#endif

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

/* Number of parameter tensors of cfg, and their table (name, offset, shape) in block order; cap entries at most
 * are written to out (out may be NULL to count). The order is fixed: checkpoints and golden files rely on it. Each
 * architecture defines its own (arch.h). */
size_t xlat_param_table(const xlat_config *cfg, xlat_tensor_info *out, size_t cap);
/* Total number of floats of the params block of cfg. */
size_t xlat_param_count(const xlat_config *cfg);
/* The entry of the tensor called name in cfg's table (XLAT_ASSERT that it exists): for tests and tools. */
xlat_tensor_info xlat_param_find(const xlat_config *cfg, const char *name);

struct xlat_arch;
struct xlat_model {
  xlat_config cfg;
  const struct xlat_arch *arch;
  uint64_t tokenizer_checksum;
  size_t n_params;
  float *params; /* one block of n_params floats, 64-byte aligned */
  void *w;       /* the architecture's view of params (with its fixed tables) */
  /* The decoder's step weights as panels (arch.h), packed when the first of a set of live decoders is made and
   * shared, read-only, by all of them. A cache, so decoders of a const model update it under the lock. */
  pthread_mutex_t panels_lock;
  void *panels;
  int32_t panels_users; /* live decoders */
};

/* A model of config cfg (checked) with every parameter zero: the loader fills params. xlat_model_new is this plus
 * the seeded initialization. */
xlat_status xlat_model_alloc(const xlat_config *cfg, xlat_model **out);

/* Activations of one batch for the training path (train_step.c and the architecture's own), sized once for
 * max_tokens rows per side (B*S and B*T) and sequences of at most max_len (<= cfg max_len). */
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
  void *gw;                       /* the architecture's view of grads */
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
  /* summing gradients over the ranks in buckets (dist.c): bucket k is [bucket_start[k], bucket_start[k - 1]) with
   * bucket_start[-1] = n_params, highest first, in tensor boundaries; the first `issued` are on their way */
  int reduce_next;       /* xlat_trainer_reduce_next: the next accumulate's backward starts them */
  size_t *bucket_start;
  int n_buckets, issued;
  void *requests;        /* MPI_Request per bucket */
};

/* xlat_pass.grads_final of a trainer's last accumulate before the all-reduce (dist.c): ctx is the trainer. */
void xlat_dist_grads_final(void *ctx, const float *from);

/* Forward in eval mode (no dropout) of the model t trains on batch b, writing log-probabilities (logprobs != 0)
 * or raw logits (B,T,V) into out. Gradients, RNG and step are untouched. */
xlat_status xlat_trainer_forward(xlat_trainer *t, const xlat_batch *b, int logprobs, float *out);

#endif

/* arch.h - the seam between an architecture and the rest of libxlat.
 *
 * An architecture (the Transformer in transformer_*.c; each family in its own files) owns everything about its
 * layers: the parameter table, a typed view of a parameter block, the training forward and backward over its own
 * activation arena, and the cached decoder (encode once, one step for a batch of hypotheses, copying a hypothesis's
 * cached state). Through this table the trainer (train_step.c, trainer.c), checkpoints, beam search and the
 * programs work for every architecture without naming a layer. What is shared sits on this side of the seam: the
 * output projection of the non-pad target rows, the label-smoothed loss, the optimizer, the hypothesis bookkeeping
 * of reorder (decoder.c) and the decoder's argument checks.
 */
#ifndef XLAT_ARCH_H
#define XLAT_ARCH_H

#include "internal.h"

/* One forward (and backward) of a training or validation batch. */
typedef struct {
  const xlat_config *cfg;
  const xlat_batch *b;
  float p, pa;   /* dropout and attention dropout in effect (0 in eval mode) */
  xlat_rng *rng; /* NULL in eval mode */
  /* When not NULL, backward calls it each time the gradients from `from` to the end of the block are final (a
   * falling mark, at layer boundaries), so that dist.c sums them over the ranks while backward goes on. */
  void (*grads_final)(void *ctx, const float *from);
  void *grads_ctx;
} xlat_pass;

/* Sizes a decoder's state is made for (xlat_decoder_new's arguments); row cap_hyps is reorder's spare row. */
typedef struct {
  int32_t sent, src, hyps, tgt;
} xlat_dec_shape;

typedef struct xlat_arch {
  const char *name; /* as in checkpoints and --arch */
  /* Checks the fields this architecture reads beyond xlat_config_check's common ones. */
  xlat_status (*check)(const xlat_config *cfg);
  /* The parameter table in block order (cap entries at most written to out, which may be NULL); returns the count.
   * Offsets are contiguous from 0. */
  size_t (*params)(const xlat_config *cfg, xlat_tensor_info *out, size_t cap);
  /* A typed view of a parameter-shaped block (weights, gradients, moments); with tables != 0 also the fixed tables
   * the model's forward reads (a sinusoid). NULL when out of memory. */
  void *(*bind)(const xlat_config *cfg, float *block, int tables);
  void (*unbind)(void *w);
  /* The output projection (V,D) inside view w, and D. */
  float *(*out_proj)(void *w);
  int32_t (*out_dim)(const xlat_config *cfg);

  /* Training: activations for batches of up to max_tokens rows per side and sequences up to max_len. */
  xlat_status (*acts_new)(const xlat_config *cfg, int32_t max_tokens, int32_t max_len, void **out);
  void (*acts_free)(void *acts);
  /* The top decoder states (B*T, D) of batch ps->b under the weights w. */
  const float *(*forward)(void *acts, const xlat_pass *ps, const void *w);
  /* Accumulates into gw the gradients given dout (B*T, D), the gradient of forward's output (zero on pad rows);
   * dout may be overwritten. Call after forward on the same batch. */
  void (*backward)(void *acts, const xlat_pass *ps, const void *w, void *gw, float *dout);

  /* Decoding (decoder.c checks every argument first). The weights a step reads may be packed once per model and
   * shared by its decoders: panels_new allocates them, panels_pack fills them from the weights as they are. */
  void *(*panels_new)(const xlat_model *m);
  void (*panels_pack)(void *panels, const xlat_model *m);
  void (*panels_free)(void *panels);
  xlat_status (*dec_new)(const xlat_model *m, const void *panels, xlat_dec_shape cap, void **out);
  void (*dec_free)(void *dec);
  /* Runs the encoder on src (B,S) and prepares what every step reads of it. */
  void (*encode)(void *dec, const int32_t *src, int32_t B, int32_t S);
  /* Positions 0..pos-1 are cached in rows 0..N-1; writes log-probabilities (N,V) and, when attn != NULL, the
   * alignment (N,S) (attention averaged as the architecture defines). */
  void (*step)(void *dec, int32_t N, const int32_t *hyp_sent, const int32_t *tokens, int32_t pos, float *logprobs,
               float *attn);
  /* Copies hypothesis row from's state (positions 0..cached-1) to row to; rows 0..cap.hyps. */
  void (*copy_row)(void *dec, int32_t to, int32_t from, int32_t cached);
  /* Rough bytes of decoding state per hypothesis and target position, per source position, per hypothesis. */
  void (*state_bytes)(const xlat_config *cfg, double *per_hyp_pos, double *per_src_pos, double *per_hyp);
} xlat_arch;

extern const xlat_arch xlat_arch_transformer, xlat_arch_rnn, xlat_arch_gru, xlat_arch_lstm;

/* A parameter table being built: xlat_table_add appends tensor prefix+suffix of rows x cols floats at the next
 * offset (written only while n < cap and out != NULL; n and offset always count). */
typedef struct {
  xlat_tensor_info *out;
  size_t cap, n, offset;
} xlat_table;
void xlat_table_add(xlat_table *t, const char *prefix, const char *suffix, int ndim, int rows, int cols);

/* The token tables every architecture starts with: source embedding (Vs,E), target embedding (V,E), output
 * projection (V,D). Tied, with a joint vocabulary: one "embed" for all three (E == D); with separate vocabularies:
 * "src_embed" and "tgt_embed", the latter also the output projection. Untied: "src_embed", "tgt_embed", "out_proj".
 * xlat_embedding_bind points the three at their floats from block on (shared when tied) and returns what follows. */
void xlat_embedding_params(xlat_table *t, const xlat_config *cfg, int Vs, int V, int E, int D);
float *xlat_embedding_bind(const xlat_config *cfg, float *block, int E, int D, float **src_embed, float **tgt_embed,
                           float **out_proj);

/* The architecture of a checked config. */
const xlat_arch *xlat_arch_of(const xlat_config *cfg);

#endif

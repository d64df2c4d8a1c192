/* model.c - configuration presets and checks, model allocation and initialization (any architecture: each one's
 * layers are behind arch.h). */
#include <math.h>
#include <string.h>
#include <zlib.h>

#include "arch.h"

/* ---- configuration --------------------------------------------------------------------------------------------- */

xlat_status xlat_config_preset(const char *name, xlat_config *out) {
  static const struct {
    const char *name;
    int32_t C, layers, H, F;
  } presets[] = {{"tiny", 128, 2, 4, 512}, {"small", 256, 3, 4, 1024}, {"base", 512, 6, 8, 2048},
                 {"big", 1024, 6, 16, 4096}};
  for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
    if (!name || strcmp(name, presets[i].name) != 0) continue;
    *out = (xlat_config){.arch = XLAT_ARCH_TRANSFORMER,
                         .vocab_size = 8000,
                         .d_model = presets[i].C,
                         .n_heads = presets[i].H,
                         .d_ff = presets[i].F,
                         .enc_layers = presets[i].layers,
                         .dec_layers = presets[i].layers,
                         .max_len = 256,
                         .pre_norm = 0,
                         .activation = XLAT_ACT_RELU,
                         .tied_embeddings = 1,
                         .positions = XLAT_POS_SINUSOIDAL,
                         .dropout = 0.1f,
                         .attn_dropout = 0.0f};
    return XLAT_OK;
  }
  int32_t arch = xlat_arch_by_name(name);
  if (arch > XLAT_ARCH_TRANSFORMER) { /* a recurrent model of today's common size: one bidirectional layer */
    *out = (xlat_config){.arch = arch,
                         .vocab_size = 8000,
                         .d_model = 256,
                         .n_heads = 1,
                         .enc_layers = 1,
                         .dec_layers = 1,
                         .max_len = 256,
                         .tied_embeddings = 1,
                         .dropout = 0.3f,
                         .emb_dim = 256,
                         .attention = XLAT_ATTN_ADDITIVE,
                         .bidirectional = 1};
    return XLAT_OK;
  }
  return xlat_fail(XLAT_ERR_ARG, "unknown model preset \"%s\" (expected tiny, small, base, big, rnn, gru or lstm)",
                   name ? name : "(null)");
}

xlat_status xlat_config_check(const xlat_config *c) {
  if (!xlat_arch_name(c->arch))
    return xlat_fail(XLAT_ERR_ARG, "model config: architecture %d unknown (expected 0..%d)", c->arch, XLAT_N_ARCHS - 1);
  if (c->vocab_size < 4 || c->vocab_size > (1 << 24))
    return xlat_fail(XLAT_ERR_ARG, "model config: vocab_size %d out of range (expected 4..16777216)", c->vocab_size);
  if (c->d_model < 1 || c->d_model > 65536)
    return xlat_fail(XLAT_ERR_ARG, "model config: d_model %d out of range (expected 1..65536)", c->d_model);
  if (c->enc_layers < 1 || c->enc_layers > 1000 || c->dec_layers < 1 || c->dec_layers > 1000)
    return xlat_fail(XLAT_ERR_ARG, "model config: enc_layers %d / dec_layers %d out of range (expected 1..1000)",
                     c->enc_layers, c->dec_layers);
  if (c->max_len < 1 || c->max_len > 65536)
    return xlat_fail(XLAT_ERR_ARG, "model config: max_len %d out of range (expected 1..65536)", c->max_len);
  if (c->src_vocab_size != 0 && (c->src_vocab_size < 4 || c->src_vocab_size > (1 << 24)))
    return xlat_fail(XLAT_ERR_ARG, "model config: src_vocab_size %d out of range (expected 0 for a joint vocabulary "
                     "or 4..16777216)", c->src_vocab_size);
  if (c->tied_embeddings != 0 && c->tied_embeddings != 1)
    return xlat_fail(XLAT_ERR_ARG, "model config: tied_embeddings %d (expected 0 or 1)", c->tied_embeddings);
  if (!(c->dropout >= 0.0f && c->dropout < 1.0f))
    return xlat_fail(XLAT_ERR_ARG, "model config: dropout %g out of range (expected 0 <= p < 1)", c->dropout);
  if (!(c->attn_dropout >= 0.0f && c->attn_dropout < 1.0f))
    return xlat_fail(XLAT_ERR_ARG, "model config: attn_dropout %g out of range (expected 0 <= p < 1)",
                     c->attn_dropout);
  return xlat_arch_of(c)->check(c);
}

int32_t xlat_config_src_vocab(const xlat_config *c) { return c->src_vocab_size ? c->src_vocab_size : c->vocab_size; }

const char *xlat_config_describe(const xlat_config *c, char *buf, size_t n) {
  static const char *const attention[] = {"no attention (context vector)", "dot attention", "general attention",
                                          "additive attention"};
  const char *tied = !c->tied_embeddings ? "" : c->src_vocab_size ? ", tied decoder embeddings" : ", tied embeddings";
  if (c->arch == XLAT_ARCH_TRANSFORMER)
  {
    char pos[48] = "";
    if (c->positions == XLAT_POS_LEARNED) snprintf(pos, sizeof pos, ", learned positions");
    if (c->positions == XLAT_POS_RELATIVE) snprintf(pos, sizeof pos, ", relative positions (K %d)", c->rel_clip);
    snprintf(buf, n, "transformer d %d, %d+%d layers, %d heads, FFN %d, %s, %s%s%s, dropout %.2g", c->d_model,
             c->enc_layers, c->dec_layers, c->n_heads, c->d_ff, c->pre_norm ? "pre-norm" : "post-norm",
             c->activation == XLAT_ACT_GELU ? "GELU" : "ReLU", pos, tied, (double)c->dropout);
  } else
    snprintf(buf, n, "%s, hidden %d, embeddings %d, %d+%d layers, %s%s%s%s, dropout %.2g", xlat_arch_name(c->arch),
             c->d_model, c->emb_dim, c->enc_layers, c->dec_layers, c->bidirectional ? "bidirectional, " : "",
             attention[c->attention], c->input_feeding ? ", input feeding" : "", tied, (double)c->dropout);
  return buf;
}

/* ---- model ----------------------------------------------------------------------------------------------------- */

/* 64-byte aligned, zeroed block of n floats (for sgemm and vector loads). */
float *xlat_alloc_floats(size_t n) {
  size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
  float *p = aligned_alloc(64, bytes ? bytes : 64);
  if (p) memset(p, 0, bytes);
  return p;
}

xlat_status xlat_model_alloc(const xlat_config *cfg, xlat_model **out) {
  *out = NULL;
  xlat_status st = xlat_config_check(cfg);
  if (st != XLAT_OK) return st;
  xlat_model *m = calloc(1, sizeof *m);
  if (!m) return xlat_fail(XLAT_ERR_NOMEM, "model: out of memory");
  m->cfg = *cfg;
  pthread_mutex_init(&m->panels_lock, NULL);
  m->n_params = xlat_param_count(cfg);
  m->params = xlat_alloc_floats(m->n_params);
  if (!m->params) {
    size_t n = m->n_params;
    xlat_model_free(m);
    return xlat_fail(XLAT_ERR_NOMEM, "model: out of memory for %zu parameters", n);
  }
  m->arch = xlat_arch_of(cfg);
  if (!(m->w = m->arch->bind(cfg, m->params, 1))) {
    xlat_model_free(m);
    return xlat_fail(XLAT_ERR_NOMEM, "model: out of memory for the layer table");
  }
  *out = m;
  return XLAT_OK;
}

xlat_status xlat_model_new(const xlat_config *cfg, uint64_t seed, xlat_model **out) {
  xlat_status st = xlat_model_alloc(cfg, out);
  if (st != XLAT_OK) return st;
  xlat_model *m = *out;
  size_t n = xlat_param_table(cfg, NULL, 0);
  xlat_tensor_info *tab = malloc(n * sizeof *tab);
  if (!tab) {
    xlat_model_free(m);
    *out = NULL;
    return xlat_fail(XLAT_ERR_NOMEM, "model: out of memory");
  }
  xlat_param_table(cfg, tab, n);
  xlat_rng rng;
  xlat_rng_seed(&rng, seed);
  for (size_t i = 0; i < n; i++) {
    float *p = m->params + tab[i].offset;
    size_t count = (size_t)tab[i].rows * tab[i].cols;
    size_t len = strlen(tab[i].name);
    if (strstr(tab[i].name, "embed") || strcmp(tab[i].name, "out_proj") == 0 || strstr(tab[i].name, "_pos") ||
        strstr(tab[i].name, ".rel_")) {
      /* N(0, width^-1/2): token and position tables (C wide), relative-position embeddings (D = C/H wide) */
      float std = 1.0f / sqrtf((float)tab[i].cols);
      for (size_t j = 0; j < count; j++) p[j] = std * xlat_rng_normal(&rng);
    } else if (tab[i].ndim == 2) {
      /* Xavier uniform; a packed (3C,C) attention input is three (C,C) matrices */
      int fan_out = strstr(tab[i].name, ".in_w") ? tab[i].cols : tab[i].rows;
      float bound = sqrtf(6.0f / (float)(fan_out + tab[i].cols));
      for (size_t j = 0; j < count; j++) p[j] = bound * (2.0f * xlat_rng_uniform(&rng) - 1.0f);
    } else if (len > 2 && strcmp(tab[i].name + len - 2, ".g") == 0) {
      for (size_t j = 0; j < count; j++) p[j] = 1.0f;
    } /* biases and norm offsets stay 0 */
  }
  free(tab);
  return XLAT_OK;
}

void xlat_model_free(xlat_model *m) {
  if (!m) return;
  if (m->arch) {
    m->arch->unbind(m->w);
    if (m->panels) m->arch->panels_free(m->panels);
  }
  free(m->params);
  pthread_mutex_destroy(&m->panels_lock);
  free(m);
}

const xlat_config *xlat_model_config(const xlat_model *m) { return &m->cfg; }
size_t xlat_model_num_params(const xlat_model *m) { return m->n_params; }
uint64_t xlat_model_tokenizer_checksum(const xlat_model *m) { return m->tokenizer_checksum; }
void xlat_model_set_tokenizer_checksum(xlat_model *m, uint64_t checksum) { m->tokenizer_checksum = checksum; }

uint32_t xlat_model_checksum(const xlat_model *m) {
  return (uint32_t)crc32_z(0, (const unsigned char *)m->params, m->n_params * sizeof(float));
}

xlat_status xlat_model_set_dropout(xlat_model *m, float dropout, float attn_dropout) {
  if (!(dropout >= 0.0f && dropout < 1.0f && attn_dropout >= 0.0f && attn_dropout < 1.0f))
    return xlat_fail(XLAT_ERR_ARG, "dropout %g and attention dropout %g, expected both in [0, 1)", (double)dropout,
                     (double)attn_dropout);
  m->cfg.dropout = dropout;
  m->cfg.attn_dropout = attn_dropout;
  return XLAT_OK;
}

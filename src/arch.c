/* arch.c - the table of architectures and what every architecture's parameter table is built with. */
#include <string.h>

#include "arch.h"

static const xlat_arch *const ARCHS[XLAT_N_ARCHS] = {[XLAT_ARCH_TRANSFORMER] = &xlat_arch_transformer,
                                                      [XLAT_ARCH_RNN] = &xlat_arch_rnn,
                                                      [XLAT_ARCH_GRU] = &xlat_arch_gru,
                                                      [XLAT_ARCH_LSTM] = &xlat_arch_lstm};

const char *xlat_arch_name(int32_t kind) { return kind >= 0 && kind < XLAT_N_ARCHS ? ARCHS[kind]->name : NULL; }

int32_t xlat_arch_by_name(const char *name) {
  for (int32_t k = 0; k < XLAT_N_ARCHS; k++)
    if (name && strcmp(name, ARCHS[k]->name) == 0) return k;
  return -1;
}

const xlat_arch *xlat_arch_of(const xlat_config *cfg) {
  XLAT_ASSERT(xlat_arch_name(cfg->arch) != NULL);
  return ARCHS[cfg->arch];
}

size_t xlat_param_table(const xlat_config *cfg, xlat_tensor_info *out, size_t cap) {
  return xlat_arch_of(cfg)->params(cfg, out, cap);
}

size_t xlat_param_count(const xlat_config *cfg) {
  size_t n = xlat_param_table(cfg, NULL, 0), total = 0;
  xlat_tensor_info *t = malloc(n * sizeof *t);
  XLAT_ASSERT(t != NULL);
  xlat_param_table(cfg, t, n);
  for (size_t i = 0; i < n; i++) total += (size_t)t[i].rows * t[i].cols;
  free(t);
  return total;
}

xlat_tensor_info xlat_param_find(const xlat_config *cfg, const char *name) {
  size_t n = xlat_param_table(cfg, NULL, 0);
  xlat_tensor_info *t = malloc(n * sizeof *t), found = {0};
  XLAT_ASSERT(t != NULL);
  xlat_param_table(cfg, t, n);
  size_t i = 0;
  while (i < n && strcmp(t[i].name, name) != 0) i++;
  XLAT_ASSERT(i < n);
  found = t[i];
  free(t);
  return found;
}

void xlat_embedding_params(xlat_table *t, const xlat_config *cfg, int Vs, int V, int E, int D) {
  if (cfg->tied_embeddings && !cfg->src_vocab_size) {
    xlat_table_add(t, "embed", "", 2, V, E);
    return;
  }
  xlat_table_add(t, "src_embed", "", 2, Vs, E);
  xlat_table_add(t, "tgt_embed", "", 2, V, E);
  if (!cfg->tied_embeddings) xlat_table_add(t, "out_proj", "", 2, V, D);
}

float *xlat_embedding_bind(const xlat_config *cfg, float *block, int E, int D, float **src_embed, float **tgt_embed,
                           float **out_proj) {
  size_t V = (size_t)cfg->vocab_size, Vs = (size_t)xlat_config_src_vocab(cfg);
  float *p = block;
  if (cfg->tied_embeddings && !cfg->src_vocab_size) {
    *src_embed = *tgt_embed = *out_proj = p;
    return p + V * E;
  }
  *src_embed = p, p += Vs * E;
  *tgt_embed = p, p += V * E;
  if (cfg->tied_embeddings) {
    *out_proj = *tgt_embed;
    return p;
  }
  *out_proj = p;
  return p + V * D;
}

void xlat_table_add(xlat_table *t, const char *prefix, const char *suffix, int ndim, int rows, int cols) {
  if (t->out && t->n < t->cap) {
    xlat_tensor_info *e = &t->out[t->n];
    size_t lp = strlen(prefix), ls = strlen(suffix);
    XLAT_ASSERT(lp + ls < sizeof e->name);
    memcpy(e->name, prefix, lp);
    memcpy(e->name + lp, suffix, ls + 1);
    e->offset = t->offset;
    e->ndim = ndim;
    e->rows = rows;
    e->cols = cols;
  }
  t->n++;
  t->offset += (size_t)rows * cols;
}

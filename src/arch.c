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

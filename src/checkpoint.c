/* checkpoint.c - the checkpoint file: save, load weights, restore trainer state, average.
 *
 * Format (version 2, little-endian, no timestamps or paths, so one state always gives the same bytes):
 *
 *   file    = "XLATCKPT" | version u32 | section* | end section
 *   section = kind char[4] | name_len u32 | name | payload_len u64 | payload | crc32 u32
 *
 * The CRC32 (zlib) of a section covers everything from its kind to the end of its payload. Sections, in order:
 *   CONF  the tokenizer checksum (u64) and the config as named fields: u32 count | count x (u8 key_len | key |
 *         u8 type | value), type 'i' int32, 'f' float32 or 's' a name (u8 length | bytes) for enumerations such as
 *         the architecture. A field a later version adds is optional with the value older files meant, and is
 *         written only when it differs from that value (so the files of models without it stay readable by older
 *         builds); a field this build does not know is refused. (Version 1, still read: 11 int32, 2 float32, the
 *         checksum; always a Transformer.)
 *   PARM  one per parameter tensor, named by the tensor table (params.c): ndim, rows, cols (u32) and the floats
 *   with trainer state: OPTS optimizer options, STAT step (i64) and RNG state (4 u64), PROG progress counters,
 *         ADMM / ADMV Adam moments per tensor, EMAW the exponential moving average per tensor when enabled
 *   END   the number of sections before it (u64): a file cut at a section boundary is still caught.
 *
 * Loading reads the file twice: the first pass checks magic, version, every CRC, the end marker and every
 * section's name and shape against the config; only then does the second pass copy data, so a refused file never
 * leaves a model or trainer half-overwritten. Gradients are not saved (checkpoints are taken between updates).
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <zlib.h>

#include "internal.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "checkpoint.c writes float arrays as they lie in memory: little-endian hosts only"
#endif

enum { FORMAT_VERSION = 2, MAX_NAME = 47 };
static const char MAGIC[8] = {'X', 'L', 'A', 'T', 'C', 'K', 'P', 'T'};

/* Section kinds; the tensor kinds (PARM..EMAW) come first so they index the per-kind tables below. */
typedef enum { K_PARM, K_ADMM, K_ADMV, K_EMAW, N_TENSOR_KINDS, K_CONF = N_TENSOR_KINDS, K_OPTS, K_STAT, K_PROG,
               K_END, N_KINDS } kind;
static const char KIND_TAG[N_KINDS][4] = {{'P', 'A', 'R', 'M'}, {'A', 'D', 'M', 'M'}, {'A', 'D', 'M', 'V'},
                                          {'E', 'M', 'A', 'W'}, {'C', 'O', 'N', 'F'}, {'O', 'P', 'T', 'S'},
                                          {'S', 'T', 'A', 'T'}, {'P', 'R', 'O', 'G'}, {'E', 'N', 'D', ' '}};

/* Payload sizes of the fixed sections. */
enum { CONF_V1_BYTES = 11 * 4 + 2 * 4 + 8, CONF_MAX_BYTES = 4096, OPTS_BYTES = 10 * 4, STAT_BYTES = 8 + 4 * 8,
       PROG_BYTES = 6 * 8 + 3 * 8, TENSOR_HEADER = 12 };

/* ---- little-endian encoding of the small sections -------------------------------------------------------------- */

static uint8_t *put_u32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
  return p + 4;
}
static uint8_t *put_u64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
  return p + 8;
}
static uint8_t *put_f32(uint8_t *p, float v) {
  uint32_t u;
  memcpy(&u, &v, 4);
  return put_u32(p, u);
}
static uint8_t *put_f64(uint8_t *p, double v) {
  uint64_t u;
  memcpy(&u, &v, 8);
  return put_u64(p, u);
}
static uint32_t get_u32(const uint8_t **p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) v |= (uint32_t)(*p)[i] << (8 * i);
  *p += 4;
  return v;
}
static uint64_t get_u64(const uint8_t **p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v |= (uint64_t)(*p)[i] << (8 * i);
  *p += 8;
  return v;
}
static float get_f32(const uint8_t **p) {
  uint32_t u = get_u32(p);
  float v;
  memcpy(&v, &u, 4);
  return v;
}
static double get_f64(const uint8_t **p) {
  uint64_t u = get_u64(p);
  double v;
  memcpy(&v, &u, 8);
  return v;
}

/* ---- the config ------------------------------------------------------------------------------------------------ */

static const char *const ACTIVATION_NAMES[] = {"relu", "gelu", NULL};
static const char *const POSITION_NAMES[] = {"sinusoidal", "learned", "relative", NULL};
static const char *const ATTENTION_NAMES[] = {"none", "dot", "general", "additive", NULL};

/* The CONF fields of version 2, in file order. An enumeration (type 's') is stored by name: names lists them by
 * value, or NULL for the architecture (xlat_arch_name). An optional field (added after the first version-2 files)
 * is 0 when absent and written only when not 0. */
typedef struct {
  const char *key;
  char type;
  size_t off;
  const char *const *names;
  int optional;
} conf_field;

#define FIELD(key, type, member, names) {key, type, offsetof(xlat_config, member), names, 0}
#define OPTIONAL(key, type, member) {key, type, offsetof(xlat_config, member), NULL, 1}
static const conf_field FIELDS[] = {
    FIELD("arch", 's', arch, NULL),
    FIELD("vocab_size", 'i', vocab_size, NULL),
    FIELD("d_model", 'i', d_model, NULL),
    FIELD("n_heads", 'i', n_heads, NULL),
    FIELD("d_ff", 'i', d_ff, NULL),
    FIELD("enc_layers", 'i', enc_layers, NULL),
    FIELD("dec_layers", 'i', dec_layers, NULL),
    FIELD("max_len", 'i', max_len, NULL),
    FIELD("pre_norm", 'i', pre_norm, NULL),
    FIELD("activation", 's', activation, ACTIVATION_NAMES),
    FIELD("tied_embeddings", 'i', tied_embeddings, NULL),
    FIELD("positions", 's', positions, POSITION_NAMES),
    FIELD("dropout", 'f', dropout, NULL),
    FIELD("attn_dropout", 'f', attn_dropout, NULL),
    FIELD("emb_dim", 'i', emb_dim, NULL),
    FIELD("attention", 's', attention, ATTENTION_NAMES),
    FIELD("bidirectional", 'i', bidirectional, NULL),
    FIELD("input_feeding", 'i', input_feeding, NULL),
    OPTIONAL("relative_clip", 'i', rel_clip),
    OPTIONAL("src_vocab_size", 'i', src_vocab_size),
};
#undef FIELD
#undef OPTIONAL
enum { N_FIELDS = sizeof FIELDS / sizeof FIELDS[0] };

static const char *enum_name(const conf_field *f, int32_t v) {
  if (!f->names) return xlat_arch_name(v);
  for (int32_t i = 0; f->names[i]; i++)
    if (i == v) return f->names[i];
  return NULL;
}

/* "a, b or c": the names field f accepts, for messages. */
static const char *known_names(const conf_field *f, char *buf, size_t cap) {
  size_t n = 0;
  while (f->names ? f->names[n] != NULL : xlat_arch_name((int32_t)n) != NULL) n++;
  buf[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    size_t used = strlen(buf);
    snprintf(buf + used, cap - used, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ", enum_name(f, (int32_t)i));
  }
  return buf;
}

static int32_t enum_value(const conf_field *f, const char *name) {
  if (!f->names) return xlat_arch_by_name(name);
  for (int32_t i = 0; f->names[i]; i++)
    if (strcmp(f->names[i], name) == 0) return i;
  return -1;
}

/* Writes the CONF payload (at most CONF_MAX_BYTES) of a checked config; returns its length. */
static int32_t int_field(const xlat_config *c, const conf_field *f) {
  int32_t v;
  memcpy(&v, (const char *)c + f->off, sizeof v);
  return v;
}

static size_t encode_conf(uint8_t *buf, const xlat_config *c, uint64_t tokenizer_checksum) {
  uint32_t count = 0;
  for (int i = 0; i < N_FIELDS; i++) count += !FIELDS[i].optional || int_field(c, &FIELDS[i]) != 0;
  uint8_t *p = put_u32(put_u64(buf, tokenizer_checksum), count);
  for (int i = 0; i < N_FIELDS; i++) {
    const conf_field *f = &FIELDS[i];
    const char *at = (const char *)c + f->off;
    if (f->optional && int_field(c, f) == 0) continue;
    size_t kl = strlen(f->key);
    *p++ = (uint8_t)kl;
    memcpy(p, f->key, kl);
    p += kl;
    *p++ = (uint8_t)f->type;
    if (f->type == 'f') {
      float v;
      memcpy(&v, at, sizeof v);
      p = put_f32(p, v);
      continue;
    }
    int32_t v;
    memcpy(&v, at, sizeof v);
    if (f->type == 'i') {
      p = put_u32(p, (uint32_t)v);
      continue;
    }
    const char *name = enum_name(f, v);
    XLAT_ASSERT(name); /* the config was checked */
    size_t nl = strlen(name);
    *p++ = (uint8_t)nl;
    memcpy(p, name, nl);
    p += nl;
  }
  XLAT_ASSERT((size_t)(p - buf) <= CONF_MAX_BYTES);
  return (size_t)(p - buf);
}

/* Reads version 1's fixed CONF payload. */
static void decode_conf_v1(const uint8_t *p, xlat_config *c, uint64_t *tokenizer_checksum) {
  int32_t *ints[11] = {&c->vocab_size, &c->d_model,  &c->n_heads,    &c->d_ff,
                       &c->enc_layers, &c->dec_layers, &c->max_len,   &c->pre_norm,
                       &c->activation, &c->tied_embeddings, &c->positions};
  memset(c, 0, sizeof *c);
  c->arch = XLAT_ARCH_TRANSFORMER;
  for (int i = 0; i < 11; i++) *ints[i] = (int32_t)get_u32(&p);
  c->dropout = get_f32(&p);
  c->attn_dropout = get_f32(&p);
  *tokenizer_checksum = get_u64(&p);
}

/* Reads a version-2 CONF payload of len bytes; XLAT_ERR_FORMAT naming what is wrong (path for messages). */
static xlat_status decode_conf_v2(const uint8_t *p, uint64_t len, const char *path, xlat_config *c,
                                  uint64_t *tokenizer_checksum) {
  const uint8_t *end = p + len;
  int seen[N_FIELDS] = {0};
  memset(c, 0, sizeof *c);
  if (len < 12) return xlat_fail(XLAT_ERR_FORMAT, "%s: the CONF section is %llu bytes, too short", path,
                                 (unsigned long long)len);
  *tokenizer_checksum = get_u64(&p);
  uint32_t count = get_u32(&p);
  for (uint32_t n = 0; n < count; n++) {
    char key[256], name[256];
    if (end - p < 1 || end - p < 2 + p[0])
      return xlat_fail(XLAT_ERR_FORMAT, "%s: the CONF section ends inside field %u of %u", path, n + 1, count);
    size_t kl = *p++;
    memcpy(key, p, kl);
    key[kl] = '\0';
    p += kl;
    char type = (char)*p++;
    int i = 0;
    while (i < N_FIELDS && strcmp(FIELDS[i].key, key) != 0) i++;
    if (i == N_FIELDS)
      return xlat_fail(XLAT_ERR_FORMAT, "%s: the config has a field '%s' this build of xlat does not know (written "
                       "by a newer version?)", path, key);
    const conf_field *f = &FIELDS[i];
    if (type != f->type || seen[i])
      return xlat_fail(XLAT_ERR_FORMAT, "%s: config field '%s' %s", path, key,
                       seen[i] ? "appears twice" : "has the wrong type");
    seen[i] = 1;
    char *at = (char *)c + f->off;
    if (type == 'i' || type == 'f') {
      if (end - p < 4) return xlat_fail(XLAT_ERR_FORMAT, "%s: the CONF section ends inside field '%s'", path, key);
      memcpy(at, p, 4); /* little-endian host (checked above) */
      p += 4;
      continue;
    }
    if (end - p < 1 || end - p < 1 + p[0])
      return xlat_fail(XLAT_ERR_FORMAT, "%s: the CONF section ends inside field '%s'", path, key);
    size_t nl = *p++;
    memcpy(name, p, nl);
    name[nl] = '\0';
    p += nl;
    int32_t v = enum_value(f, name);
    char known[256];
    if (v < 0)
      return xlat_fail(XLAT_ERR_FORMAT, "%s: unknown %s \"%s\" (this build of xlat knows %s)", path,
                       f->names ? key : "architecture", name, known_names(f, known, sizeof known));
    memcpy(at, &v, sizeof v);
  }
  if (p != end)
    return xlat_fail(XLAT_ERR_FORMAT, "%s: %lld bytes after the config's last field", path, (long long)(end - p));
  for (int i = 0; i < N_FIELDS; i++)
    if (!seen[i] && !FIELDS[i].optional)
      return xlat_fail(XLAT_ERR_FORMAT, "%s: the config has no field '%s'", path, FIELDS[i].key);
  return XLAT_OK;
}

static void encode_opts(uint8_t *p, const xlat_train_options *o) {
  p = put_f32(p, o->lr);
  p = put_u32(p, (uint32_t)o->warmup_steps);
  p = put_f32(p, o->beta1);
  p = put_f32(p, o->beta2);
  p = put_f32(p, o->eps);
  p = put_f32(p, o->clip_norm);
  p = put_f32(p, o->weight_decay);
  p = put_f32(p, o->label_smoothing);
  p = put_f32(p, o->ema_decay);
  put_u32(p, (uint32_t)o->max_tokens);
}

/* Restores the optimizer and schedule fields; ema_decay, max_tokens and max_len stay as t was built (they size
 * its buffers). */
static void decode_opts(const uint8_t *p, xlat_train_options *o) {
  o->lr = get_f32(&p);
  o->warmup_steps = (int32_t)get_u32(&p);
  o->beta1 = get_f32(&p);
  o->beta2 = get_f32(&p);
  o->eps = get_f32(&p);
  o->clip_norm = get_f32(&p);
  o->weight_decay = get_f32(&p);
  o->label_smoothing = get_f32(&p);
}

static void encode_stat(uint8_t *p, int64_t step, const xlat_rng *r) {
  p = put_u64(p, (uint64_t)step);
  for (int i = 0; i < 4; i++) p = put_u64(p, r->s[i]);
}

static void decode_stat(const uint8_t *p, int64_t *step, xlat_rng *r) {
  *step = (int64_t)get_u64(&p);
  for (int i = 0; i < 4; i++) r->s[i] = get_u64(&p);
}

static void encode_prog(uint8_t *p, const xlat_progress *g) {
  const int64_t ints[6] = {g->epoch, g->batch_in_epoch, g->sentences_seen, g->target_tokens_seen, g->validations,
                           g->bad_validations};
  for (int i = 0; i < 6; i++) p = put_u64(p, (uint64_t)ints[i]);
  p = put_f64(p, g->best_bleu);
  p = put_f64(p, g->best_dev_loss);
  put_f64(p, g->train_seconds);
}

static void decode_prog(const uint8_t *p, xlat_progress *g) {
  int64_t *ints[6] = {&g->epoch, &g->batch_in_epoch, &g->sentences_seen, &g->target_tokens_seen, &g->validations,
                      &g->bad_validations};
  for (int i = 0; i < 6; i++) *ints[i] = (int64_t)get_u64(&p);
  g->best_bleu = get_f64(&p);
  g->best_dev_loss = get_f64(&p);
  g->train_seconds = get_f64(&p);
}

/* The architecture fields two configs must share for their tensors to be interchangeable; the name of the first
 * differing one, or NULL. Dropout rates may differ (fine-tuning may change them). */
static const char *config_diff(const xlat_config *a, const xlat_config *b, int32_t *va, int32_t *vb) {
#define SAME(field)                                                                                                \
  if (a->field != b->field) {                                                                                      \
    *va = a->field, *vb = b->field;                                                                                \
    return #field;                                                                                                 \
  }
  SAME(arch) SAME(vocab_size) SAME(d_model) SAME(n_heads) SAME(d_ff) SAME(enc_layers) SAME(dec_layers) SAME(max_len)
  SAME(pre_norm) SAME(activation) SAME(tied_embeddings) SAME(positions) SAME(rel_clip) SAME(emb_dim)
  SAME(attention) SAME(bidirectional) SAME(input_feeding) SAME(src_vocab_size)
#undef SAME
  return NULL;
}

/* ---- writing ----------------------------------------------------------------------------------------------------- */

typedef struct {
  xlat_atomic_file af;
  uint32_t crc;
  uint64_t sections;
} writer;

static void w_raw(writer *w, const void *data, size_t n) {
  xlat_atomic_write(&w->af, data, n);
  w->crc = (uint32_t)crc32_z(w->crc, data, n);
}

static void w_begin(writer *w, kind k, const char *name, uint64_t payload_len) {
  uint8_t head[4 + 4 + 8];
  size_t nl = strlen(name);
  w->crc = (uint32_t)crc32_z(0, NULL, 0);
  memcpy(head, KIND_TAG[k], 4);
  put_u32(head + 4, (uint32_t)nl);
  w_raw(w, head, 8);
  w_raw(w, name, nl);
  put_u64(head, payload_len);
  w_raw(w, head, 8);
}

static void w_end(writer *w) {
  uint8_t c[4];
  put_u32(c, w->crc);
  xlat_atomic_write(&w->af, c, 4);
  w->sections++;
}

static void w_small(writer *w, kind k, const uint8_t *payload, size_t n) {
  w_begin(w, k, "", n);
  w_raw(w, payload, n);
  w_end(w);
}

/* One section per tensor of the table, data taken from block. */
static void w_tensors(writer *w, kind k, const xlat_tensor_info *table, size_t n, const float *block) {
  for (size_t i = 0; i < n; i++) {
    const xlat_tensor_info *ti = &table[i];
    size_t count = (size_t)ti->rows * (size_t)ti->cols;
    uint8_t head[TENSOR_HEADER];
    put_u32(put_u32(put_u32(head, (uint32_t)ti->ndim), (uint32_t)ti->rows), (uint32_t)ti->cols);
    w_begin(w, k, ti->name, TENSOR_HEADER + 4 * (uint64_t)count);
    w_raw(w, head, TENSOR_HEADER);
    w_raw(w, block + ti->offset, 4 * count);
    w_end(w);
  }
}

static xlat_status tensor_table(const xlat_config *cfg, xlat_tensor_info **table, size_t *n) {
  *n = xlat_param_table(cfg, NULL, 0);
  *table = malloc(*n * sizeof **table);
  if (!*table) return xlat_fail(XLAT_ERR_NOMEM, "checkpoint: out of memory for the tensor table");
  xlat_param_table(cfg, *table, *n);
  return XLAT_OK;
}

xlat_status xlat_checkpoint_save(const char *path, const xlat_model *m, const xlat_trainer *t) {
  if (t && t->model != m)
    return xlat_fail(XLAT_ERR_ARG, "%s: checkpoint of a trainer must be saved with the model it trains (not its EMA "
                                   "copy: the EMA weights are saved with the trainer state)",
                     path);
  xlat_tensor_info *table;
  size_t n;
  xlat_status s = tensor_table(&m->cfg, &table, &n);
  if (s != XLAT_OK) return s;
  writer w = {0};
  s = xlat_atomic_open(&w.af, path);
  if (s != XLAT_OK) {
    free(table);
    return s;
  }
  uint8_t head[12], buf[CONF_MAX_BYTES];
  memcpy(head, MAGIC, 8);
  put_u32(head + 8, FORMAT_VERSION);
  xlat_atomic_write(&w.af, head, 12);
  w_small(&w, K_CONF, buf, encode_conf(buf, &m->cfg, m->tokenizer_checksum));
  w_tensors(&w, K_PARM, table, n, m->params);
  if (t) {
    encode_opts(buf, &t->opt);
    w_small(&w, K_OPTS, buf, OPTS_BYTES);
    encode_stat(buf, t->step, &t->rng);
    w_small(&w, K_STAT, buf, STAT_BYTES);
    encode_prog(buf, &t->progress);
    w_small(&w, K_PROG, buf, PROG_BYTES);
    w_tensors(&w, K_ADMM, table, n, t->adam_m);
    w_tensors(&w, K_ADMV, table, n, t->adam_v);
    if (t->ema) w_tensors(&w, K_EMAW, table, n, t->ema->params);
  }
  put_u64(buf, w.sections);
  w_small(&w, K_END, buf, 8);
  free(table);
  return xlat_atomic_commit(&w.af);
}

/* ---- reading ----------------------------------------------------------------------------------------------------- */

/* Where the data of each section goes in the second pass; NULL skips it. */
typedef struct {
  float *tensors[N_TENSOR_KINDS]; /* params-shaped blocks */
  xlat_train_options *opt;
  int64_t *step;
  xlat_rng *rng;
  xlat_progress *progress;
  int opts_whole; /* with opt: also ema_decay and max_tokens, which a restored trainer keeps as it was built */
} targets;

typedef struct {
  FILE *f;
  const char *path;
  uint32_t version;
  uint64_t size, off;
  int have_conf;
  xlat_config cfg;
  uint64_t tokenizer_checksum;
  xlat_tensor_info *table;
  size_t ntensors;
  uint8_t *seen[N_TENSOR_KINDS]; /* (ntensors) per tensor kind: sections read */
  int count[N_KINDS];            /* sections read per kind */
} reader;

static void reader_close(reader *r) {
  if (r->f) fclose(r->f);
  free(r->table);
  for (int k = 0; k < N_TENSOR_KINDS; k++) free(r->seen[k]);
}

static xlat_status truncated(const reader *r, const char *what, uint64_t need) {
  return xlat_fail(XLAT_ERR_FORMAT,
                   "%s: truncated checkpoint: %s needs %llu bytes at offset %llu, but the file ends at byte %llu",
                   r->path, what, (unsigned long long)need, (unsigned long long)r->off,
                   (unsigned long long)r->size);
}

static xlat_status read_exact(reader *r, void *dst, uint64_t n, const char *what) {
  if (r->size - r->off < n) return truncated(r, what, n);
  if (fread(dst, 1, n, r->f) != n)
    return xlat_fail(XLAT_ERR_IO, "%s: read error at offset %llu: %s", r->path, (unsigned long long)r->off,
                     ferror(r->f) ? strerror(errno) : "unexpected end of file");
  r->off += n;
  return XLAT_OK;
}

static xlat_status reader_open(reader *r, const char *path) {
  memset(r, 0, sizeof *r);
  r->path = path;
  r->f = fopen(path, "rb");
  if (!r->f) return xlat_fail(XLAT_ERR_IO, "%s: cannot open the checkpoint: %s", path, strerror(errno));
  long size;
  if (fseek(r->f, 0, SEEK_END) != 0 || (size = ftell(r->f)) < 0 || fseek(r->f, 0, SEEK_SET) != 0)
    return xlat_fail(XLAT_ERR_IO, "%s: cannot seek in the checkpoint: %s", path, strerror(errno));
  r->size = (uint64_t)size;
  uint8_t head[12];
  if (r->size < 8 || fread(head, 1, 8, r->f) != 8 || memcmp(head, MAGIC, 8) != 0)
    return xlat_fail(XLAT_ERR_FORMAT, "%s: not an xlat checkpoint (the file does not start with the magic XLATCKPT)",
                     path);
  r->off = 8;
  xlat_status s = read_exact(r, head + 8, 4, "the format version");
  if (s != XLAT_OK) return s;
  const uint8_t *p = head + 8;
  r->version = get_u32(&p);
  if (r->version < 1 || r->version > FORMAT_VERSION)
    return xlat_fail(XLAT_ERR_FORMAT, "%s: checkpoint format version %u, but this build of xlat reads versions 1 to %d",
                     path, r->version, FORMAT_VERSION);
  return XLAT_OK;
}

/* The section header at the current offset: kind, name (NUL-terminated), payload length; *crc covers them. */
static xlat_status read_header(reader *r, kind *k, char *name, uint64_t *len, uint32_t *crc) {
  uint8_t head[8];
  if (r->off == r->size)
    return xlat_fail(XLAT_ERR_FORMAT, "%s: truncated checkpoint: the file ends at byte %llu without its END section",
                     r->path, (unsigned long long)r->size);
  xlat_status s = read_exact(r, head, 8, "a section header");
  if (s != XLAT_OK) return s;
  int found = -1;
  for (int i = 0; i < N_KINDS; i++)
    if (memcmp(head, KIND_TAG[i], 4) == 0) found = i;
  const uint8_t *p = head + 4;
  uint32_t nl = get_u32(&p);
  if (found < 0 || nl > MAX_NAME)
    return xlat_fail(XLAT_ERR_FORMAT, "%s: corrupted checkpoint: no valid section header at offset %llu", r->path,
                     (unsigned long long)(r->off - 8));
  *k = (kind)found;
  *crc = (uint32_t)crc32_z(crc32_z(0, NULL, 0), head, 8);
  if ((s = read_exact(r, name, nl, "a section name")) != XLAT_OK) return s;
  name[nl] = '\0';
  *crc = (uint32_t)crc32_z(*crc, (const uint8_t *)name, nl);
  if ((s = read_exact(r, head, 8, "a section length")) != XLAT_OK) return s;
  *crc = (uint32_t)crc32_z(*crc, head, 8);
  p = head;
  *len = get_u64(&p);
  return XLAT_OK;
}

/* "kind 'name'" for messages. */
static const char *section_label(kind k, const char *name, char *buf, size_t cap) {
  snprintf(buf, cap, "section %.4s%s%s%s", KIND_TAG[k], *name ? " '" : "", name, *name ? "'" : "");
  return buf;
}

static xlat_status check_conf(reader *r, const uint8_t *payload, uint64_t len) {
  if (r->version == 1)
    decode_conf_v1(payload, &r->cfg, &r->tokenizer_checksum);
  else if (decode_conf_v2(payload, len, r->path, &r->cfg, &r->tokenizer_checksum) != XLAT_OK)
    return XLAT_ERR_FORMAT;
  if (xlat_config_check(&r->cfg) != XLAT_OK)
    return xlat_fail(XLAT_ERR_FORMAT, "%s: the checkpoint's config is invalid: %s", r->path, xlat_last_error());
  xlat_status s = tensor_table(&r->cfg, &r->table, &r->ntensors);
  for (int k = 0; s == XLAT_OK && k < N_TENSOR_KINDS; k++)
    if (!(r->seen[k] = calloc(r->ntensors, 1))) s = xlat_fail(XLAT_ERR_NOMEM, "checkpoint: out of memory");
  r->have_conf = 1;
  return s;
}

/* Index of the table tensor named name whose shape matches the payload header, after checking both. */
static xlat_status check_tensor(reader *r, kind k, const char *name, const uint8_t *head, uint64_t len, size_t *idx) {
  char label[96];
  section_label(k, name, label, sizeof label);
  if (!r->have_conf) return xlat_fail(XLAT_ERR_FORMAT, "%s: %s comes before the CONF section", r->path, label);
  size_t i = 0;
  while (i < r->ntensors && strcmp(r->table[i].name, name) != 0) i++;
  if (i == r->ntensors)
    return xlat_fail(XLAT_ERR_FORMAT, "%s: %s: no tensor of that name in this model config", r->path, label);
  const xlat_tensor_info *ti = &r->table[i];
  uint32_t ndim = get_u32(&head), rows = get_u32(&head), cols = get_u32(&head);
  if (ndim != (uint32_t)ti->ndim || rows != (uint32_t)ti->rows || cols != (uint32_t)ti->cols ||
      len != TENSOR_HEADER + 4 * (uint64_t)rows * cols)
    return xlat_fail(XLAT_ERR_FORMAT, "%s: %s has shape %ux%u (%u dims, %llu bytes), expected %dx%d (%d dims)",
                     r->path, label, rows, cols, ndim, (unsigned long long)len, ti->rows, ti->cols, ti->ndim);
  if (r->seen[k][i]) return xlat_fail(XLAT_ERR_FORMAT, "%s: %s appears twice", r->path, label);
  r->seen[k][i] = 1;
  *idx = i;
  return XLAT_OK;
}

/* Payload lengths of the fixed-size sections (version 2's CONF has its own bound). */
static const uint64_t FIXED_LEN[N_KINDS] = {[K_CONF] = CONF_V1_BYTES, [K_OPTS] = OPTS_BYTES, [K_STAT] = STAT_BYTES,
                                            [K_PROG] = PROG_BYTES, [K_END] = 8};

/* One pass over every section. With dst == NULL: checks CRCs, structure, names and shapes (nothing is written
 * anywhere). With dst: copies each section to its target (the file was checked by an earlier pass). */
static xlat_status read_sections(reader *r, const targets *dst) {
  enum { CHUNK = 1 << 16 };
  uint8_t *buf = malloc(CHUNK);
  if (!buf) return xlat_fail(XLAT_ERR_NOMEM, "checkpoint: out of memory");
  xlat_status s = XLAT_OK;
  uint64_t sections = 0;
  for (;;) {
    kind k = K_END;
    char name[MAX_NAME + 1], label[96];
    uint64_t len = 0, start = r->off;
    uint32_t crc = 0;
    if ((s = read_header(r, &k, name, &len, &crc)) != XLAT_OK) break;
    section_label(k, name, label, sizeof label);
    if (len > r->size - r->off) {
      s = xlat_fail(XLAT_ERR_FORMAT,
                    "%s: truncated or corrupted checkpoint: %s declares %llu bytes at offset %llu, but the file "
                    "ends at byte %llu",
                    r->path, label, (unsigned long long)len, (unsigned long long)r->off,
                    (unsigned long long)r->size);
      break;
    }
    int conf_v2 = k == K_CONF && r->version > 1;
    if (conf_v2 ? len > CONF_MAX_BYTES : k >= N_TENSOR_KINDS && len != FIXED_LEN[k]) {
      s = xlat_fail(XLAT_ERR_FORMAT, "%s: corrupted checkpoint: %s has %llu bytes, expected %s%llu", r->path, label,
                    (unsigned long long)len, conf_v2 ? "at most " : "",
                    (unsigned long long)(conf_v2 ? CONF_MAX_BYTES : FIXED_LEN[k]));
      break;
    }
    /* the fixed sections and tensor headers are small: read them whole; tensor data streams in chunks */
    uint64_t head_len = k < N_TENSOR_KINDS ? TENSOR_HEADER : len;
    if (len < head_len) {
      s = xlat_fail(XLAT_ERR_FORMAT, "%s: corrupted checkpoint: %s is %llu bytes long", r->path, label,
                    (unsigned long long)len);
      break;
    }
    if ((s = read_exact(r, buf, head_len, label)) != XLAT_OK) break;
    crc = (uint32_t)crc32_z(crc, buf, head_len);
    uint8_t *dst_bytes = NULL;
    size_t idx = 0;
    if (k < N_TENSOR_KINDS) {
      if (!dst && (s = check_tensor(r, k, name, buf, len, &idx)) != XLAT_OK) break;
      if (dst && dst->tensors[k]) {
        size_t i = 0;
        while (strcmp(r->table[i].name, name) != 0) i++;
        dst_bytes = (uint8_t *)(dst->tensors[k] + r->table[i].offset);
      }
    } else if (!dst) {
      if (k == K_CONF && r->have_conf) {
        s = xlat_fail(XLAT_ERR_FORMAT, "%s: corrupted checkpoint: two CONF sections", r->path);
        break;
      }
      if (k != K_CONF && !r->have_conf) {
        s = xlat_fail(XLAT_ERR_FORMAT, "%s: corrupted checkpoint: %s comes before the CONF section", r->path, label);
        break;
      }
    } else {
      if (k == K_OPTS && dst->opt) decode_opts(buf, dst->opt);
      if (k == K_OPTS && dst->opt && dst->opts_whole) {
        const uint8_t *p = buf + 8 * 4;
        dst->opt->ema_decay = get_f32(&p);
        dst->opt->max_tokens = (int32_t)get_u32(&p);
      }
      if (k == K_STAT && dst->step) decode_stat(buf, dst->step, dst->rng);
      if (k == K_PROG && dst->progress) decode_prog(buf, dst->progress);
    }
    if (dst && !dst_bytes && len > head_len) { /* a section this load does not need */
      if (fseek(r->f, (long)(len - head_len), SEEK_CUR) != 0) {
        s = xlat_fail(XLAT_ERR_IO, "%s: cannot seek in the checkpoint: %s", r->path, strerror(errno));
        break;
      }
      r->off += len - head_len;
    }
    for (uint64_t left = dst && !dst_bytes ? 0 : len - head_len; left > 0;) {
      size_t n = left < CHUNK ? (size_t)left : CHUNK;
      uint8_t *at = dst_bytes ? dst_bytes : buf;
      if ((s = read_exact(r, at, n, label)) != XLAT_OK) break;
      if (!dst) crc = (uint32_t)crc32_z(crc, at, n);
      if (dst_bytes) dst_bytes += n;
      left -= n;
    }
    if (s != XLAT_OK) break;
    uint8_t c[4];
    if ((s = read_exact(r, c, 4, "a section CRC")) != XLAT_OK) break;
    const uint8_t *cp = c;
    uint32_t stored = get_u32(&cp);
    if (!dst && stored != crc) {
      s = xlat_fail(XLAT_ERR_FORMAT,
                    "%s: corrupted checkpoint: CRC32 mismatch in %s (bytes %llu..%llu): stored %08x, computed %08x",
                    r->path, label, (unsigned long long)start, (unsigned long long)r->off, stored, crc);
      break;
    }
    if (!dst && k == K_CONF && (s = check_conf(r, buf, len)) != XLAT_OK) break;
    r->count[k]++;
    if (k == K_END) {
      const uint8_t *p = buf;
      uint64_t declared = get_u64(&p);
      if (!dst && declared != sections)
        s = xlat_fail(XLAT_ERR_FORMAT, "%s: corrupted checkpoint: END says %llu sections, the file has %llu", r->path,
                      (unsigned long long)declared, (unsigned long long)sections);
      else if (!dst && r->off != r->size)
        s = xlat_fail(XLAT_ERR_FORMAT, "%s: corrupted checkpoint: %llu bytes after the END section", r->path,
                      (unsigned long long)(r->size - r->off));
      break;
    }
    sections++;
  }
  free(buf);
  return s;
}

/* Every tensor of the table present once in kind k (which has at least one section). */
static xlat_status check_complete(const reader *r, kind k) {
  for (size_t i = 0; i < r->ntensors; i++)
    if (!r->seen[k][i])
      return xlat_fail(XLAT_ERR_FORMAT, "%s: the checkpoint has no %.4s section for tensor '%s'", r->path,
                       KIND_TAG[k], r->table[i].name);
  return XLAT_OK;
}

/* First pass: the whole file checked; r->count says which sections it has. */
static xlat_status verify(reader *r, const char *path) {
  xlat_status s = reader_open(r, path);
  if (s == XLAT_OK) s = read_sections(r, NULL);
  if (s == XLAT_OK && !r->have_conf) s = xlat_fail(XLAT_ERR_FORMAT, "%s: the checkpoint has no CONF section", path);
  for (int k = 0; s == XLAT_OK && k < N_TENSOR_KINDS; k++)
    if (k == K_PARM || r->count[k]) s = check_complete(r, (kind)k);
  int trainer_parts = !!r->count[K_OPTS] + !!r->count[K_STAT] + !!r->count[K_PROG] + !!r->count[K_ADMM] +
                      !!r->count[K_ADMV];
  if (s == XLAT_OK && trainer_parts != 0 && trainer_parts != 5)
    s = xlat_fail(XLAT_ERR_FORMAT, "%s: the checkpoint has only part of the trainer state (OPTS, STAT, PROG, ADMM, ADMV)",
                  path);
  if (s == XLAT_OK && r->count[K_EMAW] && !trainer_parts)
    s = xlat_fail(XLAT_ERR_FORMAT, "%s: the checkpoint has EMA weights without trainer state", path);
  return s;
}

/* Second pass over a verified file. */
static xlat_status fill(reader *r, const targets *dst) {
  if (fseek(r->f, 12, SEEK_SET) != 0)
    return xlat_fail(XLAT_ERR_IO, "%s: cannot seek in the checkpoint: %s", r->path, strerror(errno));
  r->off = 12;
  return read_sections(r, dst);
}

xlat_status xlat_model_load(const char *path, xlat_model **out) {
  *out = NULL;
  reader r;
  xlat_status s = verify(&r, path);
  xlat_model *m = NULL;
  if (s == XLAT_OK) s = xlat_model_alloc(&r.cfg, &m);
  if (s == XLAT_OK) {
    targets dst = {0};
    dst.tensors[K_PARM] = m->params;
    s = fill(&r, &dst);
    m->tokenizer_checksum = r.tokenizer_checksum;
  }
  reader_close(&r);
  if (s != XLAT_OK) {
    xlat_model_free(m);
    return s;
  }
  *out = m;
  return XLAT_OK;
}

xlat_status xlat_checkpoint_read_info(const char *path, xlat_checkpoint_info *out) {
  memset(out, 0, sizeof *out);
  reader r;
  xlat_status s = verify(&r, path);
  if (s == XLAT_OK) {
    xlat_rng rng;
    targets dst = {0}; /* no tensor: their sections are skipped */
    dst.opt = &out->opt;
    dst.opts_whole = 1;
    dst.step = &out->step;
    dst.rng = &rng;
    dst.progress = &out->progress;
    s = fill(&r, &dst);
  }
  if (s == XLAT_OK) {
    out->version = r.version;
    out->bytes = r.size;
    out->cfg = r.cfg;
    out->tokenizer_checksum = r.tokenizer_checksum;
    out->num_params = xlat_param_count(&r.cfg);
    out->has_trainer = r.count[K_STAT] > 0;
    out->has_ema = r.count[K_EMAW] > 0;
  }
  reader_close(&r);
  return s;
}

xlat_status xlat_trainer_restore(xlat_trainer *t, const char *path) {
  reader r;
  xlat_status s = verify(&r, path);
  if (s == XLAT_OK && !r.count[K_STAT])
    s = xlat_fail(XLAT_ERR_ARG, "%s: the checkpoint holds weights only, no trainer state to resume from", path);
  int32_t va, vb;
  const char *field = s == XLAT_OK ? config_diff(&r.cfg, &t->model->cfg, &va, &vb) : NULL;
  if (field)
    s = xlat_fail(XLAT_ERR_MISMATCH, "%s: the checkpoint's %s is %d, the trainer's model has %d", path, field, va, vb);
  if (s == XLAT_OK && r.tokenizer_checksum && t->model->tokenizer_checksum &&
      r.tokenizer_checksum != t->model->tokenizer_checksum)
    s = xlat_fail(XLAT_ERR_MISMATCH, "%s: the checkpoint's tokenizer checksum is %016llx, the trainer's model has %016llx",
                  path, (unsigned long long)r.tokenizer_checksum, (unsigned long long)t->model->tokenizer_checksum);
  if (s == XLAT_OK) {
    targets dst = {0};
    dst.tensors[K_PARM] = t->model->params;
    dst.tensors[K_ADMM] = t->adam_m;
    dst.tensors[K_ADMV] = t->adam_v;
    dst.tensors[K_EMAW] = t->ema ? t->ema->params : NULL;
    dst.opt = &t->opt;
    dst.step = &t->step;
    dst.rng = &t->rng;
    dst.progress = &t->progress;
    s = fill(&r, &dst);
    /* a trainer given EMA only now starts its average from the restored weights */
    if (s == XLAT_OK && t->ema && !r.count[K_EMAW])
      memcpy(t->ema->params, t->model->params, sizeof(float) * t->n_params);
    if (s == XLAT_OK) {
      memset(t->grads, 0, sizeof(float) * t->n_params);
      t->accum_tokens = 0;
      t->accum_calls = 0;
      if (r.tokenizer_checksum) t->model->tokenizer_checksum = r.tokenizer_checksum;
    }
  }
  reader_close(&r);
  return s;
}

xlat_status xlat_checkpoint_average(const char *const *paths, int n, const char *out_path) {
  if (n < 1) return xlat_fail(XLAT_ERR_ARG, "checkpoint average: %d checkpoints given, expected at least 1", n);
  xlat_model *first = NULL, *m = NULL;
  double *sum = NULL;
  xlat_status s = xlat_model_load(paths[0], &first);
  if (s == XLAT_OK && !(sum = calloc(first->n_params, sizeof *sum)))
    s = xlat_fail(XLAT_ERR_NOMEM, "checkpoint average: out of memory for %zu parameters", first->n_params);
  for (int i = 0; s == XLAT_OK && i < n; i++) {
    if (i > 0) {
      s = xlat_model_load(paths[i], &m);
      if (s != XLAT_OK) break;
      int32_t va, vb;
      const char *field = config_diff(&m->cfg, &first->cfg, &va, &vb);
      if (field)
        s = xlat_fail(XLAT_ERR_MISMATCH, "%s: %s is %d, but %s has %d", paths[i], field, va, paths[0], vb);
      else if (m->tokenizer_checksum != first->tokenizer_checksum)
        s = xlat_fail(XLAT_ERR_MISMATCH, "%s: tokenizer checksum %016llx, but %s has %016llx", paths[i],
                      (unsigned long long)m->tokenizer_checksum, paths[0],
                      (unsigned long long)first->tokenizer_checksum);
    }
    const xlat_model *src = i > 0 ? m : first;
    for (size_t j = 0; s == XLAT_OK && j < first->n_params; j++) sum[j] += src->params[j];
    xlat_model_free(m);
    m = NULL;
  }
  if (s == XLAT_OK) {
    for (size_t j = 0; j < first->n_params; j++) first->params[j] = (float)(sum[j] / n);
    s = xlat_checkpoint_save(out_path, first, NULL);
  }
  free(sum);
  xlat_model_free(first);
  return s;
}

/* test_checkpoint.c - checkpoint files (src/checkpoint.c) and atomic replacement (src/atomic_file.c): save -> load
 * is bit-exact for weights and trainer state (moments, step, RNG, progress, EMA) and a resumed trainer takes the
 * same next step; the same state gives the same bytes; a flipped byte, a truncated file, a wrong magic and a wrong
 * version are each refused with their own message; a write that fails (file size limit standing in for a full
 * disk) leaves the old file intact and no temporary file; averaging two checkpoints gives the element-wise mean;
 * a committed version-1 file (tests/golden/v1_tiny.xlat) still loads and resumes; version 2's named config fields
 * refuse an unknown architecture, an unknown enumeration value and an unknown field by name; the optional
 * "relative_clip" is written for relative positions only, and a relative model without it is refused. */
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <zlib.h>

#include "internal.h"
#include "test.h"

static xlat_config small_config(int variant) {
  xlat_config c;
  CHECK(xlat_config_preset("tiny", &c) == XLAT_OK);
  c.vocab_size = 40;
  c.d_model = 16;
  c.n_heads = 2;
  c.d_ff = 24;
  c.enc_layers = 1;
  c.dec_layers = 2;
  c.max_len = 12;
  c.pre_norm = variant & 1;
  c.tied_embeddings = !(variant & 2);
  c.positions = variant & 4 ? XLAT_POS_LEARNED : XLAT_POS_SINUSOIDAL;
  c.activation = variant & 8 ? XLAT_ACT_GELU : XLAT_ACT_RELU;
  if (variant & 16) c.positions = XLAT_POS_RELATIVE, c.rel_clip = 3 + (variant & 1);
  return c;
}

static xlat_model *new_model(const xlat_config *c, uint64_t seed) {
  xlat_model *m = NULL;
  if (xlat_model_new(c, seed, &m) != XLAT_OK) {
    fprintf(stderr, "xlat_model_new: %s\n", xlat_last_error());
    exit(1);
  }
  return m;
}

static unsigned char *read_all(const char *path, size_t *n) {
  *n = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  *n = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *b = malloc(*n ? *n : 1);
  if (fread(b, 1, *n, f) != *n) *n = 0;
  fclose(f);
  return b;
}

static void write_all(const char *path, const unsigned char *b, size_t n) {
  FILE *f = fopen(path, "wb");
  CHECK(f && fwrite(b, 1, n, f) == n);
  if (f) fclose(f);
}

static int same_floats(const float *a, const float *b, size_t n) { return memcmp(a, b, n * sizeof(float)) == 0; }

/* Loading a damaged copy fails with XLAT_ERR_FORMAT and a message containing want. */
static void expect_refused(const unsigned char *bytes, size_t n, const char *want) {
  const char *p = test_tmp("damaged.xlat");
  write_all(p, bytes, n);
  xlat_model *m = NULL;
  xlat_status s = xlat_model_load(p, &m);
  CHECK(s == XLAT_ERR_FORMAT);
  CHECK(m == NULL);
  CHECK(strstr(xlat_last_error(), want) != NULL);
  if (!strstr(xlat_last_error(), want)) fprintf(stderr, "  expected '%s' in: %s\n", want, xlat_last_error());
  xlat_checkpoint_info ck; /* xlat-train info checks the file as a load does */
  CHECK(xlat_checkpoint_read_info(p, &ck) == XLAT_ERR_FORMAT && strstr(xlat_last_error(), want) != NULL);
}

static void test_weights_round_trip(void) {
  for (int variant = 0; variant < 20; variant++) {
    xlat_config c = small_config(variant);
    xlat_model *m = new_model(&c, 100 + (uint64_t)variant);
    xlat_model_set_tokenizer_checksum(m, 0x0123456789abcdefULL);
    const char *p = test_tmp("w.xlat"), *p2 = test_tmp("w2.xlat");
    CHECK(xlat_checkpoint_save(p, m, NULL) == XLAT_OK);
    xlat_model *l = NULL;
    CHECK(xlat_model_load(p, &l) == XLAT_OK);
    if (!l) {
      fprintf(stderr, "  load: %s\n", xlat_last_error());
      exit(1);
    }
    CHECK(memcmp(xlat_model_config(l), &c, sizeof c) == 0);
    CHECK(xlat_model_tokenizer_checksum(l) == 0x0123456789abcdefULL);
    CHECK(xlat_model_num_params(l) == xlat_model_num_params(m));
    CHECK(same_floats(l->params, m->params, m->n_params));
    /* the loaded model saves to the same bytes, and so does the original a second time */
    CHECK(xlat_checkpoint_save(p2, l, NULL) == XLAT_OK);
    size_t n1, n2;
    unsigned char *b1 = read_all(p, &n1), *b2 = read_all(p2, &n2);
    CHECK(n1 == n2 && memcmp(b1, b2, n1) == 0);
    free(b2);
    CHECK(xlat_checkpoint_save(p2, m, NULL) == XLAT_OK);
    b2 = read_all(p2, &n2);
    CHECK(n1 == n2 && memcmp(b1, b2, n1) == 0);
    free(b1);
    free(b2);
    xlat_model_free(l);
    xlat_model_free(m);
  }
}

static void test_refused(void) {
  xlat_config c = small_config(0);
  xlat_model *m = new_model(&c, 7);
  const char *p = test_tmp("ok.xlat");
  CHECK(xlat_checkpoint_save(p, m, NULL) == XLAT_OK);
  size_t n;
  unsigned char *b = read_all(p, &n);
  unsigned char *copy = malloc(n);
  CHECK(n > 1000);

  memcpy(copy, b, n);
  copy[n / 2] ^= 0x10; /* inside a tensor's floats */
  expect_refused(copy, n, "CRC32 mismatch in section PARM '");
  memcpy(copy, b, n);
  copy[12 + 3] ^= 1; /* the CONF section's kind tag */
  expect_refused(copy, n, "no valid section header at offset 12");
  expect_refused(b, n / 2, "truncated");
  expect_refused(b, n - 28, "truncated"); /* just the END section (28 bytes) missing: cut at a section boundary */
  expect_refused(b, n - 1, "truncated");
  expect_refused(b, 5, "not an xlat checkpoint");
  memcpy(copy, b, n);
  copy[0] = 'Y';
  expect_refused(copy, n, "not an xlat checkpoint");
  memcpy(copy, b, n);
  copy[8] = 9; /* version 9 */
  expect_refused(copy, n, "format version 9, but this build of xlat reads versions 1 to 2");

  xlat_model *l = NULL;
  CHECK(xlat_model_load(test_tmp("does-not-exist.xlat"), &l) == XLAT_ERR_IO);
  CHECK(strstr(xlat_last_error(), "does-not-exist.xlat") != NULL);
  free(copy);
  free(b);
  xlat_model_free(m);
}

/* A write that fails part way (RLIMIT_FSIZE stands in for a full disk) returns XLAT_ERR_IO naming the path and the
 * reason, leaves the previous file byte for byte, and removes the temporary file. */
static void test_failed_write_keeps_old_file(void) {
  xlat_config c = small_config(0);
  xlat_model *a = new_model(&c, 1), *b = new_model(&c, 2);
  const char *p = test_tmp("keep.xlat");
  CHECK(xlat_checkpoint_save(p, a, NULL) == XLAT_OK);
  size_t n0, n1;
  unsigned char *before = read_all(p, &n0);

  struct rlimit old;
  CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
  struct rlimit small = old;
  small.rlim_cur = 4096;
  signal(SIGXFSZ, SIG_IGN);
  CHECK(setrlimit(RLIMIT_FSIZE, &small) == 0);
  xlat_status s = xlat_checkpoint_save(p, b, NULL);
  CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
  CHECK(s == XLAT_ERR_IO);
  CHECK(strstr(xlat_last_error(), p) != NULL);
  CHECK(strstr(xlat_last_error(), "too large") != NULL); /* strerror(EFBIG) */
  fprintf(stderr, "  failed save says: %s\n", xlat_last_error());

  unsigned char *after = read_all(p, &n1);
  CHECK(n0 == n1 && memcmp(before, after, n0) == 0);
  CHECK(access(test_tmp("keep.xlat.tmp"), F_OK) != 0);
  xlat_model *l = NULL;
  CHECK(xlat_model_load(p, &l) == XLAT_OK);
  CHECK(l && same_floats(l->params, a->params, a->n_params));
  /* an unwritable place fails at open */
  CHECK(xlat_checkpoint_save(test_tmp("no-such-dir/x.xlat"), a, NULL) == XLAT_ERR_IO);
  CHECK(strstr(xlat_last_error(), "no-such-dir/x.xlat.tmp") != NULL);
  xlat_model_free(l);
  free(before);
  free(after);
  xlat_model_free(a);
  xlat_model_free(b);
}

/* Two sentence pairs, padded. */
static const int32_t SRC[2 * 5] = {5, 6, 7, 8, 3, 9, 10, 3, 0, 0};
static const int32_t TIN[2 * 4] = {2, 11, 12, 13, 2, 14, 0, 0};
static const int32_t TOUT[2 * 4] = {11, 12, 13, 3, 14, 3, 0, 0};

static xlat_trainer *new_trainer(xlat_model *m, float ema) {
  xlat_train_options o;
  xlat_train_options_default(&o);
  o.lr = 1e-3f;
  o.warmup_steps = 3;
  o.max_tokens = 64;
  o.max_len = 12;
  o.ema_decay = ema;
  o.clip_norm = 1.0f;
  xlat_trainer *t = NULL;
  if (xlat_trainer_new(m, &o, 99, &t) != XLAT_OK) {
    fprintf(stderr, "xlat_trainer_new: %s\n", xlat_last_error());
    exit(1);
  }
  return t;
}

static void train_steps(xlat_trainer *t, int n) {
  xlat_batch b = {2, 5, 4, SRC, TIN, TOUT};
  for (int i = 0; i < n; i++) {
    double loss = 0;
    int64_t tokens = 0;
    CHECK(xlat_trainer_accumulate(t, &b, &loss, &tokens) == XLAT_OK);
    CHECK(xlat_trainer_update(t, NULL, NULL) == XLAT_OK);
  }
}

static void test_trainer_round_trip(void) {
  for (int with_ema = 0; with_ema < 2; with_ema++) {
    xlat_config c = small_config(with_ema ? 9 : 0);
    c.dropout = 0.1f; /* the RNG matters for the next step */
    xlat_model *m = new_model(&c, 3);
    xlat_trainer *t = new_trainer(m, with_ema ? 0.9f : 0.0f);
    train_steps(t, 3);
    xlat_progress *g = xlat_trainer_progress(t);
    g->epoch = 2, g->batch_in_epoch = 17, g->sentences_seen = 1234, g->target_tokens_seen = 56789;
    g->validations = 4, g->bad_validations = 1, g->best_bleu = 12.5, g->best_dev_loss = 3.25, g->train_seconds = 9.5;
    const char *p = test_tmp("t.xlat");
    CHECK(xlat_checkpoint_save(p, m, t) == XLAT_OK);
    /* the EMA copy is not the model the trainer trains */
    if (with_ema) CHECK(xlat_checkpoint_save(p, xlat_trainer_ema_model(t), t) == XLAT_ERR_ARG);

    /* what info reads without the weights */
    xlat_checkpoint_info ck;
    CHECK(xlat_checkpoint_read_info(p, &ck) == XLAT_OK);
    CHECK(ck.version == 2 && ck.has_trainer && ck.has_ema == with_ema && ck.step == 3);
    CHECK(ck.num_params == m->n_params && memcmp(&ck.cfg, &m->cfg, sizeof c) == 0);
    CHECK(ck.tokenizer_checksum == m->tokenizer_checksum);
    CHECK(memcmp(&ck.progress, g, sizeof *g) == 0);
    CHECK(ck.opt.lr == t->opt.lr && ck.opt.warmup_steps == 3 && ck.opt.clip_norm == 1.0f && ck.opt.max_tokens == 64);
    CHECK(ck.opt.ema_decay == t->opt.ema_decay && ck.opt.max_len == 0);

    /* resume: a model loaded from the file, a fresh trainer, restore */
    xlat_model *m2 = NULL;
    CHECK(xlat_model_load(p, &m2) == XLAT_OK);
    if (!m2) exit(1);
    /* a plain load gives the trained weights, not the EMA ones */
    CHECK(same_floats(m2->params, m->params, m->n_params));
    if (with_ema) CHECK(!same_floats(m2->params, xlat_trainer_ema_model(t)->params, m->n_params));
    xlat_trainer *t2 = new_trainer(m2, with_ema ? 0.9f : 0.0f);
    CHECK(xlat_trainer_restore(t2, p) == XLAT_OK);
    CHECK(same_floats(m2->params, m->params, m->n_params));
    CHECK(same_floats(t2->adam_m, t->adam_m, t->n_params));
    CHECK(same_floats(t2->adam_v, t->adam_v, t->n_params));
    if (with_ema) CHECK(same_floats(t2->ema->params, t->ema->params, t->n_params));
    CHECK(xlat_trainer_step(t2) == 3);
    CHECK(memcmp(&t2->rng, &t->rng, sizeof t->rng) == 0);
    CHECK(memcmp(xlat_trainer_progress(t2), g, sizeof *g) == 0);
    CHECK(t2->opt.lr == t->opt.lr && t2->opt.warmup_steps == t->opt.warmup_steps);

    /* the same next step on both */
    train_steps(t, 2);
    train_steps(t2, 2);
    CHECK(same_floats(m2->params, m->params, m->n_params));
    CHECK(same_floats(t2->adam_v, t->adam_v, t->n_params));

    /* same state -> same bytes */
    const char *q = test_tmp("t2.xlat");
    CHECK(xlat_checkpoint_save(p, m, t) == XLAT_OK);
    CHECK(xlat_checkpoint_save(q, m2, t2) == XLAT_OK);
    size_t n1, n2;
    unsigned char *b1 = read_all(p, &n1), *b2 = read_all(q, &n2);
    CHECK(n1 == n2 && memcmp(b1, b2, n1) == 0);
    free(b1);
    free(b2);

    /* a weights-only file has no trainer state; another architecture does not fit */
    CHECK(xlat_checkpoint_save(q, m, NULL) == XLAT_OK);
    CHECK(xlat_checkpoint_read_info(q, &ck) == XLAT_OK && !ck.has_trainer && !ck.has_ema && ck.step == 0);
    CHECK(xlat_trainer_restore(t2, q) == XLAT_ERR_ARG);
    CHECK(strstr(xlat_last_error(), "weights only") != NULL);
    xlat_config c2 = c;
    c2.d_ff = 32;
    xlat_model *other = new_model(&c2, 5);
    xlat_trainer *t3 = new_trainer(other, 0.0f);
    CHECK(xlat_trainer_restore(t3, p) == XLAT_ERR_MISMATCH);
    CHECK(strstr(xlat_last_error(), "d_ff is 24") != NULL);
    xlat_trainer_free(t3);
    xlat_model_free(other);

    xlat_trainer_free(t2);
    xlat_model_free(m2);
    xlat_trainer_free(t);
    xlat_model_free(m);
  }
}

static void test_average(void) {
  xlat_config c = small_config(2);
  xlat_model *a = new_model(&c, 11), *b = new_model(&c, 12);
  xlat_model_set_tokenizer_checksum(a, 42);
  xlat_model_set_tokenizer_checksum(b, 42);
  const char *pa = test_tmp("a.xlat"), *pb = test_tmp("b.xlat"), *pc = test_tmp("avg.xlat");
  CHECK(xlat_checkpoint_save(pa, a, NULL) == XLAT_OK);
  CHECK(xlat_checkpoint_save(pb, b, NULL) == XLAT_OK);
  const char *paths[2] = {pa, pb};
  CHECK(xlat_checkpoint_average(paths, 2, pc) == XLAT_OK);
  xlat_model *avg = NULL;
  CHECK(xlat_model_load(pc, &avg) == XLAT_OK);
  if (!avg) exit(1);
  size_t equal = 0, differs_from_a = 0;
  for (size_t i = 0; i < a->n_params; i++) {
    float want = (a->params[i] + b->params[i]) * 0.5f; /* exact halving of the correctly rounded sum */
    equal += avg->params[i] == want;
    differs_from_a += avg->params[i] != a->params[i];
  }
  CHECK(equal == a->n_params);
  CHECK(differs_from_a > a->n_params / 2);
  CHECK(xlat_model_tokenizer_checksum(avg) == 42);
  /* one checkpoint averages to itself; a mismatched config or tokenizer is refused */
  CHECK(xlat_checkpoint_average(paths, 1, pc) == XLAT_OK);
  xlat_model *one = NULL;
  CHECK(xlat_model_load(pc, &one) == XLAT_OK);
  CHECK(one && same_floats(one->params, a->params, a->n_params));
  xlat_model_set_tokenizer_checksum(b, 43);
  CHECK(xlat_checkpoint_save(pb, b, NULL) == XLAT_OK);
  CHECK(xlat_checkpoint_average(paths, 2, pc) == XLAT_ERR_MISMATCH);
  xlat_config c2 = small_config(3);
  xlat_model *d = new_model(&c2, 13);
  CHECK(xlat_checkpoint_save(pb, d, NULL) == XLAT_OK);
  CHECK(xlat_checkpoint_average(paths, 2, pc) == XLAT_ERR_MISMATCH);
  CHECK(strstr(xlat_last_error(), "pre_norm") != NULL);
  xlat_model_free(d);
  xlat_model_free(one);
  xlat_model_free(avg);
  xlat_model_free(a);
  xlat_model_free(b);
}

/* tests/golden/v1_tiny.xlat was written by the version-1 writer (commit 8a714d0): xlat_model_new(cfg below, seed 7),
 * tokenizer checksum 0x1122334455667788, with a fresh trainer (seed 99, EMA 0.5, lr 3e-3) whose progress says epoch
 * 3, batch 17, best BLEU 12.5. */
static void test_version1_file(void) {
  xlat_config want = {.arch = XLAT_ARCH_TRANSFORMER, .vocab_size = 24, .d_model = 8, .n_heads = 2, .d_ff = 12,
                      .enc_layers = 1, .dec_layers = 1, .max_len = 16, .pre_norm = 1, .activation = XLAT_ACT_GELU,
                      .tied_embeddings = 0, .positions = XLAT_POS_LEARNED, .dropout = 0.25f, .attn_dropout = 0.125f};
  const char *v1 = test_path("tests/golden/v1_tiny.xlat");
  xlat_model *l = NULL;
  CHECK(xlat_model_load(v1, &l) == XLAT_OK);
  if (!l) {
    fprintf(stderr, "  load: %s\n", xlat_last_error());
    exit(1);
  }
  CHECK(memcmp(xlat_model_config(l), &want, sizeof want) == 0);
  CHECK(xlat_model_tokenizer_checksum(l) == 0x1122334455667788ULL);
  xlat_model *fresh = new_model(&want, 7);
  CHECK(same_floats(l->params, fresh->params, fresh->n_params));
  /* resuming from it restores the trainer state */
  xlat_train_options o;
  xlat_train_options_default(&o);
  o.max_tokens = 64;
  o.max_len = 16;
  o.ema_decay = 0.5f;
  xlat_trainer *t = NULL;
  CHECK(xlat_trainer_new(fresh, &o, 1, &t) == XLAT_OK);
  CHECK(xlat_trainer_restore(t, v1) == XLAT_OK);
  CHECK(xlat_trainer_progress(t)->epoch == 3 && xlat_trainer_progress(t)->batch_in_epoch == 17);
  CHECK(xlat_trainer_progress(t)->best_bleu == 12.5);
  CHECK(xlat_trainer_options(t)->lr == 3e-3f);
  /* saved again, it is a version-2 file holding the same model */
  const char *p = test_tmp("v2.xlat");
  CHECK(xlat_checkpoint_save(p, l, NULL) == XLAT_OK);
  size_t n;
  unsigned char *b = read_all(p, &n);
  CHECK(n > 12 && b[8] == 2 && b[9] == 0);
  xlat_model *l2 = NULL;
  CHECK(xlat_model_load(p, &l2) == XLAT_OK);
  CHECK(l2 && memcmp(xlat_model_config(l2), &want, sizeof want) == 0);
  CHECK(l2 && same_floats(l2->params, l->params, l->n_params));
  free(b);
  xlat_model_free(l2);
  xlat_trainer_free(t);
  xlat_model_free(fresh);
  xlat_model_free(l);
}

/* Replaces the first occurrence of from by to (same length) inside the CONF section of a version-2 file and
 * recomputes that section's CRC, so only the config check can refuse it. */
static void patch_conf(unsigned char *b, size_t n, const char *from, const char *to) {
  size_t fl = strlen(from);
  CHECK(strlen(to) == fl && n > 12 + 16 && memcmp(b + 12, "CONF", 4) == 0);
  size_t head = 12 + 4 + 4, len = 0;
  for (int i = 0; i < 8; i++) len |= (size_t)b[head + i] << (8 * i);
  size_t payload = head + 8, end = payload + len;
  unsigned char *at = NULL;
  for (size_t i = payload; i + fl <= end && !at; i++)
    if (memcmp(b + i, from, fl) == 0) at = b + i;
  CHECK(at != NULL);
  if (!at) return;
  memcpy(at, to, fl);
  uint32_t crc = (uint32_t)crc32_z(0, b + 12, end - 12);
  for (int i = 0; i < 4; i++) b[end + i] = (unsigned char)(crc >> (8 * i));
}

static int contains(const unsigned char *b, size_t n, const char *s) {
  size_t k = strlen(s);
  for (size_t i = 0; i + k <= n; i++)
    if (memcmp(b + i, s, k) == 0) return 1;
  return 0;
}

static void test_named_config_fields(void) {
  xlat_config c = small_config(0);
  xlat_model *m = new_model(&c, 3);
  const char *p = test_tmp("conf.xlat");
  CHECK(xlat_checkpoint_save(p, m, NULL) == XLAT_OK);
  size_t n;
  unsigned char *b = read_all(p, &n), *copy = malloc(n);
  memcpy(copy, b, n);
  patch_conf(copy, n, "transformer", "transfurmer");
  expect_refused(copy, n, "unknown architecture \"transfurmer\" (this build of xlat knows transformer, rnn, gru or lstm)");
  memcpy(copy, b, n);
  patch_conf(copy, n, "d_model", "d_mudel");
  expect_refused(copy, n, "field 'd_mudel' this build of xlat does not know");
  memcpy(copy, b, n);
  patch_conf(copy, n, "relu", "selu");
  expect_refused(copy, n, "unknown activation \"selu\" (this build of xlat knows relu or gelu)");
  /* "relative_clip" came after the first version-2 files: optional, written only for relative positions (older
   * builds still read the files of other models, and files without it still load) */
  CHECK(!contains(b, n, "relative_clip"));
  free(copy);
  free(b);
  xlat_model_free(m);
  char pa[512], pb[512]; /* test_tmp's buffers rotate: keep these two */
  snprintf(pa, sizeof pa, "%s", test_tmp("conf.xlat"));
  snprintf(pb, sizeof pb, "%s", test_tmp("conf2.xlat"));
  xlat_config r = small_config(16);
  CHECK(r.positions == XLAT_POS_RELATIVE && r.rel_clip == 3);
  m = new_model(&r, 4);
  CHECK(xlat_checkpoint_save(pa, m, NULL) == XLAT_OK);
  b = read_all(pa, &n), copy = malloc(n);
  CHECK(contains(b, n, "relative_clip"));
  memcpy(copy, b, n);
  patch_conf(copy, n, "relative", "relativo"); /* the first "relative" is the value of "positions" */
  expect_refused(copy, n, "unknown positions \"relativo\" (this build of xlat knows sinusoidal, learned or relative)");
  memcpy(copy, b, n);
  patch_conf(copy, n, "relative_clip", "relative_clap");
  expect_refused(copy, n, "field 'relative_clap' this build of xlat does not know");
  memcpy(copy, b, n);
  patch_conf(copy, n, "positions", "pusitions"); /* "positions" is not optional */
  expect_refused(copy, n, "field 'pusitions' this build of xlat does not know");
  free(copy);
  free(b);
  /* a relative model's file without its K is refused by the config check */
  m->cfg.rel_clip = 0;
  CHECK(xlat_checkpoint_save(pb, m, NULL) == XLAT_OK);
  m->cfg.rel_clip = 3;
  b = read_all(pb, &n);
  CHECK(!contains(b, n, "relative_clip"));
  expect_refused(b, n, "rel_clip 0 out of range with relative positions");
  free(b);
  /* averaging refuses a model with another K, naming it */
  xlat_config r2 = small_config(16);
  r2.rel_clip = 5;
  xlat_model *m2 = new_model(&r2, 5);
  const char *paths[2] = {pa, pb};
  CHECK(xlat_checkpoint_save(pb, m2, NULL) == XLAT_OK);
  CHECK(xlat_checkpoint_average(paths, 2, test_tmp("avg.xlat")) == XLAT_ERR_MISMATCH);
  CHECK(strstr(xlat_last_error(), "rel_clip is 5, but") != NULL);
  xlat_model_free(m2);
  xlat_model_free(m);
}

int main(void) {
  test_weights_round_trip();
  test_refused();
  test_failed_write_keeps_old_file();
  test_trainer_round_trip();
  test_average();
  test_version1_file();
  test_named_config_fields();
  const char *names[] = {"w.xlat", "w2.xlat", "ok.xlat", "damaged.xlat", "keep.xlat", "t.xlat", "t2.xlat",
                         "a.xlat", "b.xlat", "avg.xlat", "conf.xlat", "conf2.xlat", "v2.xlat"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) remove(test_tmp(names[i]));
  rmdir(test_tmp(NULL));
  TEST_END();
}

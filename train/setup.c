/* setup.c - everything xlat-train prepares before the first step: the output directory, the SentencePiece model
 * (given, trained, or reused on --resume), the model (new, fine-tuned from weights, or resumed with its trainer
 * state), the encoded training corpus (cached in the output directory), its batcher, and the dev set. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "files.h"
#include "progress.h"
#include "session.h"

static int lib_error(void) {
  fprintf(stderr, "xlat-train: %s\n", xlat_last_error());
  return 1;
}

/* 1 when both paths name the same existing file. */
static int same_file(const char *p, const char *q) {
  struct stat sp, sq;
  return stat(p, &sp) == 0 && stat(q, &sq) == 0 && sp.st_dev == sq.st_dev && sp.st_ino == sq.st_ino;
}

/* Trains the joint model on both sides (side -1: OUT/spm.model), or side 0's or 1's own (OUT/spm.src.model,
 * OUT/spm.tgt.model); each file is written atomically. */
static int train_spm(session *s, int side) {
  const train_args *a = s->a;
  char *prefix = files_join(a->out, side < 0 ? "spm" : side ? "spm.tgt" : "spm.src");
  if (!prefix) return 1;
  const char *inputs[2] = {a->train_src, a->train_tgt};
  xlat_spm_train_options o;
  xlat_spm_train_options_default(&o);
  o.inputs = side > 0 ? inputs + 1 : inputs;
  o.n_inputs = side < 0 ? 2 : 1;
  o.model_prefix = prefix;
  o.vocab_size = a->vocab_size;
  o.seed = (uint32_t)a->seed;
  o.num_threads = a->threads;
  o.input_sentence_size = 2000000; /* a shuffled sample of sentences beyond: a big corpus trains in a minute or two */
  double t0 = progress_now();
  int rc = xlat_spm_train(&o) != 0;
  if (rc)
    fprintf(stderr, "xlat-train: training the SentencePiece model: %s\n", xlat_spm_last_error());
  else if (side < 0)
    progress_message(NULL, "trained a joint BPE model of %d pieces on %s and %s in %.1f s: %s", a->vocab_size,
                     a->train_src, a->train_tgt, progress_now() - t0, s->spm_path);
  else
    progress_message(NULL, "trained a BPE model of %d pieces on %s in %.1f s: %s", a->vocab_size, inputs[side],
                     progress_now() - t0, side ? s->tgt_spm_path : s->spm_path);
  free(prefix);
  return rc;
}

/* Inputs that can be read only once (pipes, <(zcat ...)) serve one reader: not the tokenizer's training before the
 * corpus's reading, nor several ranks. */
static int check_inputs(const session *s) {
  const train_args *a = s->a;
  const char *inputs[2] = {a->train_src, a->train_tgt};
  for (int i = 0; i < 2; i++) {
    struct stat st;
    if (stat(inputs[i], &st) != 0 || S_ISREG(st.st_mode)) continue; /* a missing file is the corpus's to report */
    if (a->vocab_size && !(s->resumed && files_exists(s->spm_path))) {
      fprintf(stderr, "xlat-train: %s is not a regular file: it can be read only once, and --vocab-size reads it twice "
                      "(the tokenizer, then the corpus); train the tokenizer first (xlat-spm train) and give --spm\n",
              inputs[i]);
      return 2;
    }
    if (xlat_dist_size() > 1) {
      fprintf(stderr, "xlat-train: %s is not a regular file: every rank reads the training files\n", inputs[i]);
      return 2;
    }
  }
  return 0;
}

/* Loads one tokenizer: the given file, else the run's own at path (trained first unless a resumed run has it). */
static int load_spm(session *s, const char *given, const char *path, int side, xlat_spm **out) {
  const train_args *a = s->a;
  if (!given && s->resumed && !files_exists(path)) { /* a run keeps its tokenizers: not trained again, another kind */
    fprintf(stderr, "xlat-train: the run being resumed in %s has no %s: it was trained with %s; give the flags it "
                    "was started with\n", a->out, path, side < 0 ? "separate vocabularies (--separate-vocabs)"
                                                                : "one joint vocabulary (no --separate-vocabs)");
    return 2;
  }
  if (!given && s->writer && !s->resumed && train_spm(s, side) != 0) return 1;
  const char *from = given ? given : path;
  if (xlat_spm_load(from, out) != 0 || (given && xlat_spm_check_ids(*out, given) != 0)) {
    fprintf(stderr, "xlat-train: %s\n", xlat_spm_last_error());
    return 1;
  }
  if (!given && xlat_spm_vocab_size(*out) != a->vocab_size) {
    fprintf(stderr, "xlat-train: --vocab-size %d, but %s of the run being resumed has %d pieces: drop the flag or "
                    "choose another --out\n", a->vocab_size, path, xlat_spm_vocab_size(*out));
    return 2;
  }
  return 0; /* a given file is copied into the output directory by prepare_model, once it matches the model */
}

static int prepare_spm(session *s) {
  const train_args *a = s->a;
  int rc;
  if (!s->tgt_spm_path) {
    if ((rc = load_spm(s, a->spm, s->spm_path, -1, &s->spm)) != 0) return rc;
    s->tgt_spm = s->spm;
    return 0;
  }
  if ((rc = load_spm(s, a->spm, s->spm_path, 0, &s->spm)) != 0) return rc;
  return load_spm(s, a->tgt_spm, s->tgt_spm_path, 1, &s->tgt_spm);
}

/* With the model from a file, a dimension given on the command line (or by --preset) must be the file's. */
static int check_given_dimensions(const train_args *a, const char *path, const xlat_config *c) {
  const xlat_config *w = &a->cfg;
  struct {
    int given;
    const char *flag;
    int32_t want, have;
  } dims[] = {
      {a->given.d_model, "--d-model", w->d_model, c->d_model},
      {a->given.d_ff, "--d-ff", w->d_ff, c->d_ff},
      {a->given.heads, "--heads", w->n_heads, c->n_heads},
      {a->given.enc_layers, "--enc-layers", w->enc_layers, c->enc_layers},
      {a->given.dec_layers, "--dec-layers", w->dec_layers, c->dec_layers},
      {a->given.max_len, "--max-len", w->max_len, c->max_len},
      {a->given.pre_norm, "--pre-norm (1) / --post-norm (0)", w->pre_norm, c->pre_norm},
      {a->given.activation, "--activation (0 relu, 1 gelu)", w->activation, c->activation},
      {a->given.tied, "--tied-embeddings", w->tied_embeddings, c->tied_embeddings},
      {a->given.positions, "--positions (0 sinusoidal, 1 learned, 2 relative)", w->positions, c->positions},
      {a->given.rel_clip, "--relative-clip", w->rel_clip, c->rel_clip},
      {a->given.arch, "--arch (0 transformer, 1 rnn, 2 gru, 3 lstm)", w->arch, c->arch},
      {a->given.emb_dim, "--emb-dim", w->emb_dim, c->emb_dim},
      {a->given.attention, "--attention (0 none, 1 dot, 2 general, 3 additive)", w->attention, c->attention},
      {a->given.bidirectional, "--bidirectional", w->bidirectional, c->bidirectional},
      {a->given.input_feeding, "--input-feeding", w->input_feeding, c->input_feeding},
  };
  for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++)
    if (dims[i].given && dims[i].want != dims[i].have) {
      fprintf(stderr, "xlat-train: %s %d (from the command line or --preset) differs from %s, which has %d: the "
                      "model's shape comes from the file; drop the flag, or train a new model in another --out\n",
              dims[i].flag, dims[i].want, path, dims[i].have);
      return -1;
    }
  return 0;
}

/* On --resume the optimizer options come from the checkpoint; each one the command line gave replaces its value,
 * said in the log. */
static xlat_status apply_given_options(session *s) {
  const train_args *a = s->a;
  xlat_train_options o = *xlat_trainer_options(s->trainer), *g = &s->topt;
  o.max_tokens = g->max_tokens; /* this run's batches */
  o.max_len = g->max_len;
#define GIVEN(flag, field, name)                                                                                   \
  if (a->given.flag && o.field != g->field) {                                                                      \
    progress_message(NULL, "resuming with " name " %g (the checkpoint had %g)", (double)g->field, (double)o.field); \
    o.field = g->field;                                                                                            \
  }
  GIVEN(lr, lr, "--lr") GIVEN(warmup, warmup_steps, "--warmup-steps") GIVEN(betas, beta1, "--adam-betas beta1")
  GIVEN(betas, beta2, "--adam-betas beta2") GIVEN(eps, eps, "--adam-eps") GIVEN(clip, clip_norm, "--clip-norm")
  GIVEN(weight_decay, weight_decay, "--weight-decay") GIVEN(label_smoothing, label_smoothing, "--label-smoothing")
  GIVEN(ema, ema_decay, "--ema-decay")
#undef GIVEN
  return xlat_trainer_reset(s->trainer, &o, 0);
}

static int prepare_model(session *s) {
  const train_args *a = s->a;
  const char *from = s->resumed ? s->last_path : a->finetune;
  if (from) {
    if (xlat_model_load(from, &s->model) != XLAT_OK) return lib_error();
    if (check_given_dimensions(a, from, xlat_model_config(s->model)) != 0) return 2;
    const xlat_config *c = xlat_model_config(s->model);
    if ((a->given.dropout || a->given.attn_dropout) &&
        xlat_model_set_dropout(s->model, a->given.dropout ? a->cfg.dropout : c->dropout,
                               a->given.attn_dropout ? a->cfg.attn_dropout : c->attn_dropout) != XLAT_OK)
      return lib_error();
  } else {
    xlat_config cfg = a->cfg;
    cfg.vocab_size = xlat_spm_vocab_size(s->tgt_spm);
    cfg.src_vocab_size = s->tgt_spm_path ? xlat_spm_vocab_size(s->spm) : 0;
    if (xlat_config_check(&cfg) != XLAT_OK || xlat_model_new(&cfg, a->seed, &s->model) != XLAT_OK)
      return lib_error();
  }
  const xlat_config *c = xlat_model_config(s->model);
  int separate = s->tgt_spm_path != NULL;
  if ((c->src_vocab_size != 0) != separate) {
    fprintf(stderr, "xlat-train: %s has %s, but this run %s: %s\n", from,
            separate ? "one joint vocabulary" : "separate source and target vocabularies",
            separate ? "has two (--tgt-spm or --separate-vocabs)" : "has one",
            separate ? "drop --tgt-spm and --separate-vocabs" : "give its --spm and --tgt-spm");
    return 2;
  }
  uint64_t want = xlat_model_tokenizer_checksum(s->model), have = xlat_spm_pair_checksum(s->spm, s->tgt_spm);
  char spm_name[600];
  snprintf(spm_name, sizeof spm_name, separate ? "%s and %s" : "%s", a->spm ? a->spm : s->spm_path,
           a->tgt_spm ? a->tgt_spm : s->tgt_spm_path);
  if (want != 0 && want != have) {
    fprintf(stderr, "xlat-train: %s was trained with another SentencePiece model than %s (checksum %016llx, expected "
                    "%016llx): give the model's own --spm%s\n",
            from, spm_name, (unsigned long long)have, (unsigned long long)want, separate ? " and --tgt-spm" : "");
    return 1;
  }
  if (c->vocab_size != xlat_spm_vocab_size(s->tgt_spm) ||
      xlat_config_src_vocab(c) != xlat_spm_vocab_size(s->spm)) {
    fprintf(stderr, "xlat-train: %s: %d (source) and %d (target) pieces, but the model has vocabularies of %d and "
                    "%d\n", spm_name, xlat_spm_vocab_size(s->spm), xlat_spm_vocab_size(s->tgt_spm),
            xlat_config_src_vocab(c), c->vocab_size);
    return 1;
  }
  if (s->writer && a->spm && !same_file(a->spm, s->spm_path) && files_copy(a->spm, s->spm_path) != 0) return 1;
  if (s->writer && a->tgt_spm && !same_file(a->tgt_spm, s->tgt_spm_path) && files_copy(a->tgt_spm, s->tgt_spm_path))
    return 1;
  xlat_model_set_tokenizer_checksum(s->model, have);
  char described[256], vocab[64];
  if (separate)
    snprintf(vocab, sizeof vocab, "vocabularies %d (source) and %d (target)", c->src_vocab_size, c->vocab_size);
  else
    snprintf(vocab, sizeof vocab, "vocabulary %d", c->vocab_size);
  progress_message(NULL, "model%s%s: %s, %s: %.2fM parameters", from ? " from " : "", from ? from : "",
                   xlat_config_describe(c, described, sizeof described), vocab,
                   (double)xlat_model_num_params(s->model) / 1e6);

  s->topt = a->train;
  if (a->max_length > c->max_len) {
    fprintf(stderr, "xlat-train: --max-length %d exceeds the model's max-len %d\n", a->max_length, c->max_len);
    return 2;
  }
  s->topt.max_len = a->max_length ? a->max_length : c->max_len;
  if (s->topt.max_tokens < s->topt.max_len) {
    fprintf(stderr, "xlat-train: --max-tokens %d is below the longest sequence, %d tokens: raise it or lower "
                    "--max-length\n", s->topt.max_tokens, s->topt.max_len);
    return 2;
  }
  if (xlat_trainer_new(s->model, &s->topt, a->seed, &s->trainer) != XLAT_OK) return lib_error();
  if (s->resumed) {
    if (xlat_trainer_restore(s->trainer, s->last_path) != XLAT_OK || apply_given_options(s) != XLAT_OK)
      return lib_error();
    const xlat_progress *p = xlat_trainer_progress(s->trainer);
    progress_message(NULL, "resuming %s at step %lld (epoch %lld, batch %lld, %.0f s trained)", s->last_path,
                     (long long)xlat_trainer_step(s->trainer), (long long)p->epoch + 1, (long long)p->batch_in_epoch,
                     p->train_seconds);
  }
  return 0;
}

static int prepare_data(session *s) {
  const train_args *a = s->a;
  xlat_corpus_options co;
  xlat_corpus_options_default(&co);
  co.max_tokens = s->topt.max_len - 1; /* the target also gets EOS */
  co.max_ratio = a->max_ratio;
  co.skip_invalid_utf8 = a->skip_invalid_utf8;
  co.shard_pairs = a->cache_shard_pairs;
  co.cache_dir = a->out;
  co.cache_read_only = !s->writer; /* rank 0 wrote it; ranks do not race to write one file */
  if (xlat_corpus_load(a->train_src, a->train_tgt, s->spm, s->tgt_spm, &co, &s->corpus) != XLAT_OK) {
    const char *e = xlat_last_error();
    fprintf(stderr, "xlat-train: %s%s\n", e, strstr(e, "invalid UTF-8") ? " (--skip-invalid-utf8 skips such pairs)" : "");
    return 1;
  }
  char line[512];
  xlat_corpus_describe(s->corpus, line, sizeof line);
  progress_message(NULL, "training data %s + %s: %s", a->train_src, a->train_tgt, line);
  if (xlat_batcher_new(s->corpus, s->topt.max_tokens, s->topt.max_len, a->seed, &s->batcher) != XLAT_OK)
    return lib_error();
  if (a->valid_src && s->writer) {
    validator_options vo = {.max_tokens = s->topt.max_tokens, .max_len = s->topt.max_len,
                            .translation_output = a->valid_translation_output, .beam_size = a->valid_beam,
                            .length_penalty = a->valid_length_penalty, .max_sentences = a->valid_max_sentences};
    for (int32_t k = 0; k < a->n_metrics; k++) {
      if (a->metrics[k] == METRIC_BLEU) vo.bleu = 1;
      if (a->metrics[k] == METRIC_CHRF) vo.chrf = 1;
    }
    if (validator_new(a->valid_src, a->valid_tgt, s->spm, s->tgt_spm, &vo, &s->valid) != XLAT_OK) return 1;
    progress_message(NULL, "dev set %s + %s: unigram entropy of the targets %.3f nats per token", a->valid_src,
                     a->valid_tgt, validator_unigram_entropy(s->valid));
  }
  return 0;
}

/* Rank 0 (writer) decides from the output directory; the other ranks take its decision in *resumed and check that
 * they see the same directory. */
static int open_session(session *s, const train_args *a, int writer, int *resumed) {
  memset(s, 0, sizeof *s);
  s->a = a;
  s->writer = writer;
  if (writer && files_mkdir(a->out) != 0) return 1;
  s->last_path = files_join(a->out, "last.xlat");
  s->best_path = files_join(a->out, "best.xlat");
  int separate = a->tgt_spm || a->separate_vocabs;
  s->spm_path = files_join(a->out, separate ? "spm.src.model" : "spm.model");
  if (separate && !(s->tgt_spm_path = files_join(a->out, "spm.tgt.model"))) return 1;
  s->tsv_path = files_join(a->out, "train.tsv");
  s->svg_path = files_join(a->out, "train.svg");
  s->average_path = files_join(a->out, "average.xlat");
  if (!s->last_path || !s->best_path || !s->spm_path || !s->tsv_path || !s->average_path || !s->svg_path) return 1;
  int have_last = files_exists(s->last_path);
  if (!writer) {
    if (have_last != *resumed) {
      fprintf(stderr, "xlat-train: rank %d %s %s but rank 0 %s: give every rank the same --out on a shared file "
                      "system\n", xlat_dist_rank(), have_last ? "sees" : "does not see", s->last_path,
              *resumed ? "does" : "does not");
      return 1;
    }
  } else {
    int leftovers = files_remove_leftovers(a->out);
    if (leftovers < 0) return 1;
    if (leftovers > 0)
      progress_message(NULL, "removed %d temporary file(s) of an interrupted save in %s", leftovers, a->out);
    if (have_last && !a->resume) {
      fprintf(stderr, "xlat-train: %s exists: add --resume to continue it, or choose another --out\n", s->last_path);
      return 2;
    }
    int64_t newest;
    int stale = have_last ? 0 : files_stale_steps(a->out, &newest);
    if (stale < 0) return 1;
    if (stale > 0) {
      fprintf(stderr, "xlat-train: %s holds %d step-N.xlat files of an earlier run (the newest step-%lld.xlat) but "
                      "no last.xlat: this run's --keep-last and --average-last would mix them with its own; move them "
                      "away or choose another --out\n", a->out, stale, (long long)newest);
      return 2;
    }
    if (a->resume && !have_last) progress_message(NULL, "nothing to resume in %s: starting afresh", a->out);
    *resumed = have_last;
  }
  s->resumed = have_last;
  if (s->resumed && a->finetune)
    progress_message(NULL, "resuming %s: --finetune %s is not used again", s->last_path, a->finetune);
  int rc;
  if ((rc = check_inputs(s)) != 0 || (rc = prepare_spm(s)) != 0 || (rc = prepare_model(s)) != 0)
    return rc;
  /* the configuration in effect: a resumed model's own, the optimizer options its trainer now has */
  if (writer && config_save(a->out, a, xlat_model_config(s->model), xlat_trainer_options(s->trainer)) != 0) return 1;
  if ((rc = prepare_data(s)) != 0) return rc;
  return -1;
}

int session_open(session *s, const train_args *a) {
  int rank = xlat_dist_rank(), resumed = 0;
  memset(s, 0, sizeof *s);
  int rc = xlat_dist_bcast(rank == 0 ? open_session(s, a, 1, &resumed) : -1);
  if (rc != -1) return rc; /* rank 0's verdict (a usage error is everyone's) */
  if (xlat_dist_size() == 1) return -1;
  resumed = xlat_dist_bcast(resumed);
  if (rank != 0) {
    progress_set_quiet(1);
    rc = open_session(s, a, 0, &resumed);
  }
  if (xlat_dist_max(rc != -1)) return rc != -1 ? rc : 1;
  /* ranks that start from different weights would sum gradients of different models without noticing */
  uint64_t start = (uint64_t)xlat_trainer_step(s->trainer) << 32 | xlat_model_checksum(s->model);
  if (!xlat_dist_agree(start)) {
    progress_error(NULL, "xlat-train: rank %d: the ranks start from different models or steps (step %lld here)", rank,
                   (long long)xlat_trainer_step(s->trainer));
    return 1;
  }
  progress_message(NULL, "data-parallel over %d ranks: each step takes %d batches, one per rank per --update-freq",
                   xlat_dist_size(), xlat_dist_size() * a->update_freq);
  return -1;
}

void session_close(session *s) {
  validator_free(s->valid);
  xlat_batcher_free(s->batcher);
  xlat_corpus_free(s->corpus);
  xlat_trainer_free(s->trainer);
  xlat_model_free(s->model);
  if (s->tgt_spm != s->spm) xlat_spm_free(s->tgt_spm);
  xlat_spm_free(s->spm);
  free(s->last_path);
  free(s->best_path);
  free(s->spm_path);
  free(s->tgt_spm_path);
  free(s->tsv_path);
  free(s->svg_path);
  free(s->average_path);
}

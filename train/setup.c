/* setup.c - everything xlat-train prepares before the first step: the output directory, the SentencePiece model
 * (given, trained, or reused on --resume), the model (new, fine-tuned from weights, or resumed with its trainer
 * state), the encoded training corpus (cached in the output directory), its batcher, and the dev set. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

static int train_spm(session *s) {
  const train_args *a = s->a;
  char prefix_name[64], *prefix;
  snprintf(prefix_name, sizeof prefix_name, "spm.tmp.%ld", (long)getpid());
  if (!(prefix = files_join(a->out, prefix_name))) return 1;
  const char *inputs[2] = {a->train_src, a->train_tgt};
  xlat_spm_train_options o;
  xlat_spm_train_options_default(&o);
  o.inputs = inputs;
  o.n_inputs = 2;
  o.model_prefix = prefix;
  o.vocab_size = a->vocab_size;
  o.seed = (uint32_t)a->seed;
  o.num_threads = a->threads;
  double t0 = progress_now();
  int rc = 1;
  size_t n = strlen(prefix) + 8;
  char *model = malloc(n), *vocab = malloc(n), *vocab_dst = files_join(a->out, "spm.vocab");
  if (model && vocab && vocab_dst) {
    snprintf(model, n, "%s.model", prefix);
    snprintf(vocab, n, "%s.vocab", prefix);
    if (xlat_spm_train(&o) != 0)
      fprintf(stderr, "xlat-train: training the SentencePiece model: %s\n", xlat_spm_last_error());
    else if (files_rename(vocab, vocab_dst) == 0 && files_rename(model, s->spm_path) == 0)
      rc = 0;
    remove(model);
    remove(vocab);
  }
  if (rc == 0)
    progress_message(NULL, "trained a joint BPE model of %d pieces on %s and %s in %.1f s: %s", a->vocab_size,
                     a->train_src, a->train_tgt, progress_now() - t0, s->spm_path);
  free(model);
  free(vocab);
  free(vocab_dst);
  free(prefix);
  return rc;
}

static int prepare_spm(session *s) {
  const train_args *a = s->a;
  if (a->spm) {
    if (xlat_spm_load(a->spm, &s->spm) != 0) {
      fprintf(stderr, "xlat-train: %s\n", xlat_spm_last_error());
      return 1;
    }
    return same_file(a->spm, s->spm_path) ? 0 : files_copy(a->spm, s->spm_path) ? 1 : 0;
  }
  if (!(s->resumed && files_exists(s->spm_path)) && train_spm(s) != 0) return 1;
  if (xlat_spm_load(s->spm_path, &s->spm) != 0) {
    fprintf(stderr, "xlat-train: %s\n", xlat_spm_last_error());
    return 1;
  }
  return 0;
}

static int prepare_model(session *s) {
  const train_args *a = s->a;
  const char *from = s->resumed ? s->last_path : a->finetune;
  if (from) {
    if (xlat_model_load(from, &s->model) != XLAT_OK) return lib_error();
  } else {
    xlat_config cfg = a->cfg;
    cfg.vocab_size = xlat_spm_vocab_size(s->spm);
    if (xlat_config_check(&cfg) != XLAT_OK || xlat_model_new(&cfg, a->seed, &s->model) != XLAT_OK)
      return lib_error();
  }
  uint64_t want = xlat_model_tokenizer_checksum(s->model), have = xlat_spm_checksum(s->spm);
  const char *spm_name = a->spm ? a->spm : s->spm_path;
  if (want != 0 && want != have) {
    fprintf(stderr, "xlat-train: %s was trained with another SentencePiece model than %s (checksum %016llx, expected "
                    "%016llx): give the model's own --spm\n",
            from, spm_name, (unsigned long long)have, (unsigned long long)want);
    return 1;
  }
  const xlat_config *c = xlat_model_config(s->model);
  if (c->vocab_size != xlat_spm_vocab_size(s->spm)) {
    fprintf(stderr, "xlat-train: %s has %d pieces but the model has a vocabulary of %d\n", spm_name,
            xlat_spm_vocab_size(s->spm), c->vocab_size);
    return 1;
  }
  xlat_model_set_tokenizer_checksum(s->model, have);
  progress_message(NULL, "model%s%s: d %d, %d+%d layers, %d heads, FFN %d, vocabulary %d, %s, %s%s, dropout %.2g: "
                   "%.2fM parameters",
                   from ? " from " : "", from ? from : "", c->d_model, c->enc_layers, c->dec_layers, c->n_heads,
                   c->d_ff, c->vocab_size, c->pre_norm ? "pre-norm" : "post-norm",
                   c->activation == XLAT_ACT_GELU ? "GELU" : "ReLU", c->tied_embeddings ? ", tied embeddings" : "",
                   (double)c->dropout, (double)xlat_model_num_params(s->model) / 1e6);

  s->topt = a->train;
  s->topt.max_len = a->max_length && a->max_length < c->max_len ? a->max_length : c->max_len;
  if (s->topt.max_tokens < s->topt.max_len) {
    fprintf(stderr, "xlat-train: --max-tokens %d is below the longest sequence, %d tokens: raise it or lower "
                    "--max-length\n", s->topt.max_tokens, s->topt.max_len);
    return 2;
  }
  if (xlat_trainer_new(s->model, &s->topt, a->seed, &s->trainer) != XLAT_OK) return lib_error();
  if (s->resumed) {
    if (xlat_trainer_restore(s->trainer, s->last_path) != XLAT_OK) return lib_error();
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
  co.cache_dir = a->out;
  if (xlat_corpus_load(a->train_src, a->train_tgt, s->spm, &co, &s->corpus) != XLAT_OK) return lib_error();
  char line[512];
  xlat_corpus_describe(s->corpus, line, sizeof line);
  progress_message(NULL, "training data %s + %s: %s", a->train_src, a->train_tgt, line);
  if (xlat_batcher_new(s->corpus, s->topt.max_tokens, s->topt.max_len, a->seed, &s->batcher) != XLAT_OK)
    return lib_error();
  if (a->valid_src) {
    validator_options vo = {s->topt.max_tokens, s->topt.max_len, a->metric == METRIC_BLEU, a->valid_beam,
                            a->valid_length_penalty, a->valid_max_sentences};
    if (validator_new(a->valid_src, a->valid_tgt, s->spm, &vo, &s->valid) != XLAT_OK) return 1;
    progress_message(NULL, "dev set %s + %s: unigram entropy of the targets %.3f nats per token", a->valid_src,
                     a->valid_tgt, validator_unigram_entropy(s->valid));
  }
  return 0;
}

int session_open(session *s, const train_args *a) {
  memset(s, 0, sizeof *s);
  s->a = a;
  if (files_mkdir(a->out) != 0) return 1;
  s->last_path = files_join(a->out, "last.xlat");
  s->best_path = files_join(a->out, "best.xlat");
  s->spm_path = files_join(a->out, "spm.model");
  s->tsv_path = files_join(a->out, "train.tsv");
  s->average_path = files_join(a->out, "average.xlat");
  if (!s->last_path || !s->best_path || !s->spm_path || !s->tsv_path || !s->average_path) return 1;
  int have_last = files_exists(s->last_path);
  if (have_last && !a->resume) {
    fprintf(stderr, "xlat-train: %s exists: add --resume to continue it, or choose another --out\n", s->last_path);
    return 2;
  }
  if (a->resume && !have_last) progress_message(NULL, "nothing to resume in %s: starting afresh", a->out);
  s->resumed = have_last;
  if (s->resumed && a->finetune)
    progress_message(NULL, "resuming %s: --finetune %s is not used again", s->last_path, a->finetune);
  int rc;
  if ((rc = prepare_spm(s)) != 0 || (rc = prepare_model(s)) != 0 || (rc = prepare_data(s)) != 0) return rc;
  return -1;
}

void session_close(session *s) {
  validator_free(s->valid);
  xlat_batcher_free(s->batcher);
  xlat_corpus_free(s->corpus);
  xlat_trainer_free(s->trainer);
  xlat_model_free(s->model);
  xlat_spm_free(s->spm);
  free(s->last_path);
  free(s->best_path);
  free(s->spm_path);
  free(s->tsv_path);
  free(s->average_path);
}

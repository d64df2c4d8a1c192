/* options.h - xlat-train's command line: every flag, its default, and the check that they fit together. */
#ifndef XLAT_TRAIN_OPTIONS_H
#define XLAT_TRAIN_OPTIONS_H

#include <stdint.h>

#include "xlat.h"

typedef enum { METRIC_BLEU = 0, METRIC_LOSS = 1, METRIC_CHRF = 2 } valid_metric;
#define MAX_VALID_METRICS 3

typedef struct {
  /* data */
  const char *train_src, *train_tgt, *valid_src, *valid_tgt;
  const char *spm;    /* SentencePiece model to use (the source's with tgt_spm), or NULL with vocab_size > 0 */
  const char *tgt_spm;     /* the target's own SentencePiece model: separate vocabularies */
  int32_t vocab_size;      /* train a joint model into OUT/spm.model */
  int32_t separate_vocabs; /* with vocab_size: one model per side instead, OUT/spm.src.model and spm.tgt.model */
  const char *out;    /* output directory */
  int32_t max_length; /* training pairs with a side longer than this (tokens) are skipped */
  float max_ratio;           /* training pairs with a longer/shorter token ratio above this are skipped; 0: none */
  int32_t skip_invalid_utf8; /* 1: skip and count pairs with invalid UTF-8; 0: stop at the first, naming it */
  int64_t cache_shard_pairs; /* input pairs per file of the id cache; 0: one file */

  /* model: the preset, then every field given on the command line (the rest keep the preset's values) */
  xlat_config cfg;
  const char *finetune; /* start from this model's weights with a fresh optimizer and schedule */

  /* optimizer and batches */
  xlat_train_options train;
  int32_t update_freq; /* batches accumulated per update */

  /* when to stop */
  int64_t max_steps, max_epochs;
  double max_time; /* seconds of training (validation and saving included), summed over resumes; 0: no limit */
  int32_t patience; /* early stopping: validations without a better dev score; 0: off */

  /* validation, saving, logging */
  int64_t valid_freq, save_freq, log_freq; /* in updates */
  valid_metric metric;                         /* metrics[0]: decides best.xlat and early stopping */
  valid_metric metrics[MAX_VALID_METRICS];     /* --valid-metrics: all computed and logged at each validation */
  int32_t n_metrics;
  const char *valid_translation_output;        /* dev translations of each validation; "{U}": the update number */
  int32_t valid_beam;
  float valid_length_penalty;
  int32_t valid_max_sentences; /* dev BLEU on the first N dev sentences; 0: all */
  int32_t keep_last;           /* keep the weights of the last K saves as OUT/step-N.xlat; 0: none */
  int32_t average_last;        /* at the end, average the last K kept saves into OUT/average.xlat; 0: no */

  uint64_t seed;
  int32_t threads;
  int resume;

  /* configuration files (config.c) */
  int dump_config;               /* --dump-config: print the resolved configuration as YAML and exit */
  int argc;                      /* the command line as main got it (OUT/command.txt) */
  char **argv;
  struct config_args *config;    /* what was parsed: the --config file's options, then the command line's (owned) */

  /* Flags the command line gave (a preset gives every dimension). With --resume or --finetune the model comes from
   * the file: a given dimension must agree with it; given dropout and optimizer flags replace the file's values. */
  struct {
    unsigned char d_model, d_ff, heads, enc_layers, dec_layers, max_len, pre_norm, activation, tied, positions;
    unsigned char rel_clip;
    unsigned char arch, emb_dim, attention, bidirectional, input_feeding;
    unsigned char dropout, attn_dropout;
    unsigned char lr, warmup, betas, eps, clip, weight_decay, label_smoothing, ema;
  } given;
} train_args;

/* Parses argv[first..argc) into *a: the options of a --config file first, then the command line's. Returns -1 when
 * the arguments are complete and valid, else the exit status the program ends with (0 after --help / --version, 2
 * after a usage error, reported on stderr). Call train_args_free(a) either way. */
int train_args_parse(int argc, char **argv, int first, train_args *a);
void train_args_free(train_args *a);

/* Prints a usage error for a flag (also used by the `average` subcommand); returns the exit status 2. */
int train_usage_error(const char *what, const char *arg);

#endif

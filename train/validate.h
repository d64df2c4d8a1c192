/* validate.h - dev-set validation for xlat-train: cross entropy per target token, and corpus BLEU (sacreBLEU's
 * defaults: 13a, cased) of greedy or beam translations against the raw dev references. */
#ifndef XLAT_TRAIN_VALIDATE_H
#define XLAT_TRAIN_VALIDATE_H

#include "xlat.h"

typedef struct validator validator;

typedef struct {
  int32_t max_tokens, max_len; /* dev-loss batches: as the training batches (the trainer's arena) */
  int bleu;                    /* 1: also translate and score */
  int32_t beam_size;
  float length_penalty;
  int32_t max_sentences;       /* BLEU on the first N sentences; 0 all */
} validator_options;

/* Reads and encodes the dev pair (every line kept, so translations stay aligned with the references). The spm model
 * must outlive the validator. Failures are reported on stderr and return their status. */
xlat_status validator_new(const char *src_path, const char *tgt_path, const xlat_spm *spm,
                          const validator_options *o, validator **out);
void validator_free(validator *v);
/* Dev cross entropy (nats per target token, no smoothing) of the trainer's model, and dev BLEU of the model that is
 * saved (xlat_trainer_ema_model); *bleu is NaN when BLEU is off. Failures are reported on stderr. */
xlat_status validator_run(validator *v, xlat_trainer *t, double *loss, double *bleu);
/* Unigram entropy (nats per token) of the dev targets including EOS: the loss of a model that ignores context. */
double validator_unigram_entropy(const validator *v);

#endif

/* validate.h - dev-set validation for xlat-train: cross entropy per target token, and corpus BLEU (sacreBLEU's
 * defaults: 13a, cased) and / or chrF (chrF2, sacreBLEU's defaults) of one greedy or beam translation of the dev
 * sources against the raw dev references, which can also be written to a file. */
#ifndef XLAT_TRAIN_VALIDATE_H
#define XLAT_TRAIN_VALIDATE_H

#include "xlat.h"

typedef struct validator validator;

typedef struct {
  int32_t max_tokens, max_len; /* dev-loss batches: as the training batches (the trainer's arena) */
  int bleu, chrf;              /* 1: also translate and score with this metric */
  const char *translation_output; /* also translate and write the translations here ("{U}": the update); or NULL */
  int32_t beam_size;
  float length_penalty;
  int32_t max_sentences;       /* translate the first N sentences; 0 all */
} validator_options;

/* One validation's results; NaN where not computed. */
typedef struct {
  double loss; /* nats per target token */
  double bleu, chrf;
} validator_scores;

/* Reads and encodes the dev pair (every line kept, so translations stay aligned with the references) with src_spm and
 * tgt_spm (one model twice for a joint vocabulary), which must outlive the validator. Failures are reported on
 * stderr and return their status. */
xlat_status validator_new(const char *src_path, const char *tgt_path, const xlat_spm *src_spm,
                          const xlat_spm *tgt_spm, const validator_options *o, validator **out);
void validator_free(validator *v);
/* Dev cross entropy (nats per target token, no smoothing) of the trainer's model, and the dev translation scores of
 * the model that is saved (xlat_trainer_ema_model), after update step (the "{U}" of translation_output). Failures
 * are reported on stderr. */
xlat_status validator_run(validator *v, xlat_trainer *t, int64_t step, validator_scores *out);
/* Unigram entropy (nats per token) of the dev targets including EOS: the loss of a model that ignores context. */
double validator_unigram_entropy(const validator *v);

#endif

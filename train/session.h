/* session.h - one xlat-train run: what setup.c prepares (output directory, SentencePiece model, model, trainer,
 * corpus, batches, dev set) and loop.c trains. */
#ifndef XLAT_TRAIN_SESSION_H
#define XLAT_TRAIN_SESSION_H

#include "options.h"
#include "validate.h"

typedef struct {
  const train_args *a;
  char *last_path, *best_path, *tsv_path, *average_path, *svg_path;
  char *spm_path;     /* OUT/spm.model, or OUT/spm.src.model with separate vocabularies */
  char *tgt_spm_path; /* OUT/spm.tgt.model with separate vocabularies, else NULL */
  xlat_train_options topt; /* a->train with max_len resolved against the model */
  int resumed;             /* the trainer state came from last_path */
  int writer;              /* rank 0: writes the output directory, validates and logs; other ranks only read it */
  xlat_spm *spm;     /* the source's (the joint one) */
  xlat_spm *tgt_spm; /* the target's: spm itself unless the vocabularies are separate */
  xlat_model *model;
  xlat_trainer *trainer;
  xlat_corpus *corpus;
  xlat_batcher *batcher;
  validator *valid; /* NULL without --valid-src */
} session;

/* Prepares everything, reporting progress and failures on stderr. Returns -1 when ready, else the exit status. In a
 * data-parallel run rank 0 prepares first (training the tokenizer, writing the id cache), then the other ranks read
 * what it wrote; all return the same. */
int session_open(session *s, const train_args *a);
void session_close(session *s);
/* Trains until a stop condition, saving as it goes. Returns the exit status. */
int session_train(session *s);

#endif

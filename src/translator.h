/* translator.h - translating texts for any number of callers at once: the pipeline that xlat-decode's documents and
 * the translation service share.
 *
 * A caller collects texts in an xlat_texts (a window of a document, or one request): each text is cleaned
 * (text.h), cut into segments (the whole text; its sentences with split_sentences or when it is longer than
 * max_input tokens; pieces of max_input tokens when a sentence is longer still) and encoded. xlat_translator_submit
 * sorts the segments by length and queues them in mini-batches. Worker threads, each with its own xlat_beam, take
 * the mini-batch at the head of the queue together with those queued after it while they fit the batch limits, so
 * the small requests of many clients are translated together. xlat_texts_wait returns when every segment is done or
 * at a deadline. A segment's translation depends only on the segment (beam.h), so results never depend on batching,
 * threads or what else was queued.
 */
#ifndef XLAT_TRANSLATOR_H
#define XLAT_TRANSLATOR_H

#include <stdint.h>

#include "beam.h"
#include "markup.h"
#include "text.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  const xlat_model *const *models; /* an ensemble of at least one; kept (not copied) until xlat_translator_free */
  int32_t n_models;
  const xlat_spm *src_spm, *tgt_spm; /* kept too; one model twice for a joint vocabulary */
  xlat_beam_options beam;
  int32_t threads;         /* worker threads, one BLAS thread each (default 2) */
  int32_t batch_size;      /* segments per mini-batch (default 32) */
  int32_t batch_tokens;    /* padded source tokens per mini-batch (default 2048) */
  int32_t max_input;       /* longest segment in tokens (default 512; at most the models' max_len) */
  int32_t split_sentences; /* 1: each sentence of a text is a segment */
  int32_t max_queued;      /* segments queued at most; submitting more gives XLAT_ERR_BUSY (0: no bound) */
} xlat_translator_options;

void xlat_translator_options_default(xlat_translator_options *o);

typedef struct xlat_translator xlat_translator;

/* Starts the worker threads (and sets the BLAS library to one thread: parallelism comes from the workers). */
xlat_status xlat_translator_new(const xlat_translator_options *o, xlat_translator **out);
/* Stops the workers; sets still queued are finished with XLAT_ERR_ARG "translator stopped". Free (or abandon) the
 * sets submitted to it first. */
void xlat_translator_free(xlat_translator *tr);
/* The options it runs with (max_input lowered to what the models accept). */
const xlat_translator_options *xlat_translator_options_of(const xlat_translator *tr);
/* The longest target a scored pair may have (what the models accept). */
int32_t xlat_translator_max_target(const xlat_translator *tr);

/* One hypothesis of a segment. */
typedef struct {
  char *text;     /* detokenized, one line of valid UTF-8 */
  float score;    /* length-normalized log-probability (beam.h) */
  float logprob;
  int32_t *ids;   /* (len) */
  int32_t len;
  int32_t *align; /* (len) source token of each output token, or NULL */
} xlat_seg_hyp;

/* The translation of one segment. */
typedef struct {
  int32_t src_len;
  int32_t n; /* hypotheses, best first */
  xlat_seg_hyp *hyps;
} xlat_seg_result;

/* A segment: its ids, and for forced decoding the target's ids and the score found. */
typedef struct {
  int32_t *src, *tgt;
  int32_t src_len, tgt_len;
  float score, logprob;
} xlat_segment;

/* A text: segments [first, first + count) (count 0 for a blank text). */
typedef struct {
  int64_t number; /* the caller's (xlat-decode: the 0-based line number) */
  int32_t first, count;
} xlat_text_info;

/* What happened to a text on its way in, for the caller's warnings. */
typedef struct {
  size_t invalid;         /* invalid UTF-8 bytes replaced by U+FFFD */
  size_t tgt_invalid;     /* scoring: those of the target */
  int32_t split;          /* sentences it was split into because it was longer than max_input (0: not) */
  int32_t cut, longest;   /* sentences cut into max_input-token pieces; the longest one's tokens */
  int32_t src_truncated;  /* scoring: the source's tokens when truncated to max_input, else 0 */
  int32_t tgt_truncated;  /* scoring: the target's tokens when truncated to xlat_translator_max_target, else 0 */
} xlat_text_note;

/* A set of texts submitted together. Read texts, segs and res once xlat_texts_wait returned XLAT_OK; the other
 * fields belong to the translator. */
typedef struct xlat_texts {
  xlat_text_info *texts;
  xlat_segment *segs;
  xlat_seg_result *res; /* (n_segs) */
  int32_t n_texts, n_segs;
  int32_t *order;       /* segments sorted by source length */
  int32_t cap_texts, cap_segs;
  int32_t scoring;      /* forced decoding of source/target pairs */
  int32_t pending;      /* mini-batches queued or being translated */
  int32_t abandoned;    /* freed by its caller while pending: the last worker frees it */
  struct xlat_translator *owner; /* the translator it was submitted to */
  xlat_status failed;
  char error[512];
} xlat_texts;

/* scoring 1: the set holds source/target pairs (xlat_texts_add_pair) to score. */
xlat_status xlat_texts_new(int32_t scoring, xlat_texts **out);
/* Empties a set that is not pending, for reuse. */
void xlat_texts_clear(xlat_texts *t);
/* Frees the set (NULL is fine); one still pending (after a timeout) is freed by the worker that finishes its last
 * mini-batch, and its mini-batches not started yet are skipped. */
void xlat_texts_free(xlat_texts *t);

/* Cleans, cuts and encodes text (len bytes, any bytes: invalid UTF-8 and control characters are replaced) as the
 * next text of t, numbered number. note (may be NULL) says what was changed. XLAT_ERR_NOMEM, or XLAT_ERR_FORMAT when
 * the tokenizer fails. */
xlat_status xlat_texts_add(xlat_translator *tr, xlat_texts *t, int64_t number, const char *text, size_t len,
                           xlat_text_note *note);
/* Forced decoding: source and target form one segment, each truncated to what the models accept. */
xlat_status xlat_texts_add_pair(xlat_translator *tr, xlat_texts *t, int64_t number, const char *src, size_t src_len,
                                const char *tgt, size_t tgt_len, xlat_text_note *note);

/* Queues t's segments. XLAT_ERR_BUSY (nothing queued) when max_queued segments would be exceeded. */
xlat_status xlat_translator_submit(xlat_translator *tr, xlat_texts *t);
/* Waits until every segment of a submitted t is translated (or scored): XLAT_OK; the failure of a worker, with its
 * message for xlat_last_error(); or XLAT_ERR_TIMEOUT after timeout_s seconds (< 0: no limit), t still pending. */
xlat_status xlat_texts_wait(xlat_translator *tr, xlat_texts *t, double timeout_s);

/* ---- documents with markup (markup_translate.c) ---- */
/* Translates a whole document of format fmt (markup.h) keeping its markup: each block's sentences are translated
 * as one set (a timeout as xlat_texts_wait) and inline tags follow the words aligned to the ones they wrapped, which
 * needs a translator made with beam.alignments = 1 (without, the tags of a block stay, before its translation). The
 * translated document in *out (malloc'ed, NUL-terminated), *out_len bytes. */
xlat_status xlat_translate_document(xlat_translator *tr, xlat_markup_format fmt, const char *doc, size_t len,
                                    double timeout_s, char **out, size_t *out_len);

#ifdef __cplusplus
}
#endif

#endif

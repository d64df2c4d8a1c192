/* spm.h - a small C interface to SentencePiece (the only C++ in xlat lives behind it, in spm.cc).
 *
 * No C++ exception crosses this boundary: every call that can fail returns 0 on success or -1 with a message in
 * xlat_spm_last_error() (thread-local). Models are ordinary SentencePiece .model files (BPE), so spm_encode gives
 * the same ids. Special ids are fixed for every model xlat trains: pad 0 "<pad>", unk 1 "<unk>", bos 2 "<s>",
 * eos 3 "</s>".
 */
#ifndef XLAT_SPM_H
#define XLAT_SPM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct xlat_spm xlat_spm;

typedef struct {
  const char *const *inputs;  /* text files, one sentence per line (plain or .gz) */
  int n_inputs;
  const char *model_prefix;   /* writes PREFIX.model and PREFIX.vocab */
  int32_t vocab_size;         /* 8000 default */
  float character_coverage;   /* 1.0 default */
  uint32_t seed;              /* fixed seed for SentencePiece's sampling */
  int32_t input_sentence_size;/* lines sampled for training, 0 = all */
  int32_t num_threads;        /* 2 default */
  /* SentencePiece normalization rule: NULL or "identity" (default: text passes unchanged, so text->ids->text is
   * lossless), or "nmt_nfkc", "nfkc", "nmt_nfkc_cf", "nfkc_cf". */
  const char *normalization;
  int32_t remove_extra_whitespaces; /* 1: collapse runs of spaces and trim (lossy); 0 default */
} xlat_spm_train_options;

void xlat_spm_train_options_default(xlat_spm_train_options *o);
int xlat_spm_train(const xlat_spm_train_options *o);

int xlat_spm_load(const char *path, xlat_spm **out);
void xlat_spm_free(xlat_spm *s);
/* The most bytes of text one piece can cover (4 x the model's longest piece in characters), or 0 when the model's
 * normalization may shrink text (anything but identity without squeezing spaces), so no such bound holds. */
size_t xlat_spm_max_piece_bytes(const xlat_spm *s);
/* 0 when s has xlat's special ids (pad 0, unk 1, bos 2, eos 3), which models and batches rely on; else -1 with a
 * message naming path and the ids it has (spm_train's defaults are unk 0, bos 1, eos 2, no pad). */
int xlat_spm_check_ids(const xlat_spm *s, const char *path);
/* 64-bit checksum of the serialized model, stored in xlat checkpoints: equal for equal models, also when trained into
 * different paths or with other thread counts (those training-only fields are left out). */
uint64_t xlat_spm_checksum(const xlat_spm *s);
/* The checksum of a source and a target model used together: xlat_spm_checksum(tgt) when they are one model (a
 * joint vocabulary), else a mix of both that differs from either's and from the swapped pair's. */
uint64_t xlat_spm_pair_checksum(const xlat_spm *src, const xlat_spm *tgt);
int32_t xlat_spm_vocab_size(const xlat_spm *s);
/* Piece text of id (valid until s is freed); NULL when out of range. */
const char *xlat_spm_id_to_piece(const xlat_spm *s, int32_t id);
/* Id of piece, or the unk id (1). */
int32_t xlat_spm_piece_to_id(const xlat_spm *s, const char *piece);

/* Encodes len bytes of text (no BOS/EOS added) into a malloc'ed array; caller frees *ids. */
int xlat_spm_encode_ids(const xlat_spm *s, const char *text, size_t len, int32_t **ids, size_t *n);
/* Encodes into pieces joined by single spaces, malloc'ed and NUL-terminated; caller frees *out. */
int xlat_spm_encode_pieces(const xlat_spm *s, const char *text, size_t len, char **out);
/* Decodes ids into malloc'ed NUL-terminated text; caller frees *text. */
int xlat_spm_decode_ids(const xlat_spm *s, const int32_t *ids, size_t n, char **text);
/* Encodes len bytes of text (whole, not in chunks: for sentences) into malloc'ed ids and, for each id, the bytes of
 * text it stands for: spans[2 i] .. spans[2 i + 1] (empty for a piece normalization made up); caller frees both. */
int xlat_spm_encode_spans(const xlat_spm *s, const char *text, size_t len, int32_t **ids, int32_t **spans, size_t *n);
/* Decodes ids into malloc'ed NUL-terminated text and, for each id, the bytes of the text it became:
 * spans[2 i] .. spans[2 i + 1] (malloc'ed); caller frees both. */
int xlat_spm_decode_spans(const xlat_spm *s, const int32_t *ids, size_t n, char **text, int32_t **spans);
/* Decodes space-separated pieces into malloc'ed NUL-terminated text; caller frees *text. */
int xlat_spm_decode_pieces(const xlat_spm *s, const char *pieces, size_t len, char **text);

const char *xlat_spm_last_error(void);

#ifdef __cplusplus
}
#endif
#endif

/* files.h - the files xlat-train keeps in its output directory: paths, atomic copies, last / best / step-N
 * checkpoints and their averaging. Every function reports a failure on stderr itself and returns -1 (0 on success). */
#ifndef XLAT_TRAIN_FILES_H
#define XLAT_TRAIN_FILES_H

#include <stdint.h>

#include "xlat.h"

/* DIR/name, malloc'ed (NULL when out of memory). */
char *files_join(const char *dir, const char *name);
int files_exists(const char *path);
/* Creates dir and its missing parents. */
int files_mkdir(const char *dir);
/* Copies src to dst atomically (io.h): dst is either the old file or the whole new one. */
int files_copy(const char *src, const char *dst);
/* Removes the temporary files an interrupted save left in DIR (NAME.tmp of a checkpoint, the tokenizer, the id cache
 * or train.tsv); returns how many, or -1. */
int files_remove_leftovers(const char *dir);
/* How many DIR/step-*.xlat files there are (-1 on error), the newest step in *newest. */
int files_stale_steps(const char *dir, int64_t *newest);

/* Writes the weights of m as DIR/step-STEP.xlat, then removes all but the keep newest step-*.xlat files. */
int files_save_step(const char *dir, const xlat_model *m, int64_t step, int32_t keep);
/* Averages the k newest DIR/step-*.xlat into out_path (fewer when fewer exist); *used gets how many. */
int files_average_last(const char *dir, int32_t k, const char *out_path, int *used);

#endif

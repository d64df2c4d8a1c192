/* files.c - output-directory housekeeping for xlat-train. Checkpoint contents are the library's business
 * (xlat_checkpoint_save writes atomically); here: directories, the copy of the SentencePiece model, and the
 * rotation and averaging of the step-N.xlat weight files kept by --keep-last / --average-last. */
#include "files.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

char *files_join(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = malloc(n);
  if (p) snprintf(p, n, "%s/%s", dir, name);
  return p;
}

int files_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

int files_mkdir(const char *dir) {
  char *p = strdup(dir);
  if (!p) return -1;
  for (char *s = p + 1;; s++) {
    if (*s != '/' && *s != '\0') continue;
    char c = *s;
    *s = '\0';
    if (mkdir(p, 0777) != 0 && errno != EEXIST) {
      fprintf(stderr, "xlat-train: cannot create directory %s: %s\n", p, strerror(errno));
      free(p);
      return -1;
    }
    *s = c;
    if (c == '\0') break;
  }
  free(p);
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    fprintf(stderr, "xlat-train: %s is not a directory\n", dir);
    return -1;
  }
  return 0;
}

int files_copy(const char *src, const char *dst) {
  FILE *in = fopen(src, "rb");
  if (!in) {
    fprintf(stderr, "xlat-train: cannot read %s: %s\n", src, strerror(errno));
    return -1;
  }
  xlat_atomic_file af;
  if (xlat_atomic_open(&af, dst) != XLAT_OK) {
    fprintf(stderr, "xlat-train: %s\n", xlat_last_error());
    fclose(in);
    return -1;
  }
  char buf[1 << 16];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, in)) > 0) xlat_atomic_write(&af, buf, n);
  int read_failed = ferror(in);
  fclose(in);
  if (read_failed) {
    fprintf(stderr, "xlat-train: cannot read %s: %s\n", src, strerror(errno));
    xlat_atomic_abort(&af);
    return -1;
  }
  if (xlat_atomic_commit(&af) != XLAT_OK) {
    fprintf(stderr, "xlat-train: %s\n", xlat_last_error());
    return -1;
  }
  return 0;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* The steps N of DIR/step-N.xlat, ascending, malloc'ed into *steps (count *n). */
static int list_steps(const char *dir, int64_t **steps, int *n) {
  *steps = NULL;
  *n = 0;
  DIR *d = opendir(dir);
  if (!d) {
    fprintf(stderr, "xlat-train: cannot list %s: %s\n", dir, strerror(errno));
    return -1;
  }
  int cap = 0;
  for (struct dirent *e; (e = readdir(d));) {
    char *end;
    if (strncmp(e->d_name, "step-", 5) != 0) continue;
    long long s = strtoll(e->d_name + 5, &end, 10);
    if (end == e->d_name + 5 || strcmp(end, ".xlat") != 0) continue;
    if (*n == cap) {
      cap = cap ? 2 * cap : 16;
      int64_t *grown = realloc(*steps, sizeof **steps * (size_t)cap);
      if (!grown) {
        closedir(d);
        return -1;
      }
      *steps = grown;
    }
    (*steps)[(*n)++] = s;
  }
  closedir(d);
  if (*n) qsort(*steps, (size_t)*n, sizeof **steps, cmp_i64);
  return 0;
}

int files_stale_steps(const char *dir, int64_t *newest) {
  int64_t *steps;
  int n;
  if (list_steps(dir, &steps, &n) != 0) return -1;
  *newest = n ? steps[n - 1] : 0;
  free(steps);
  return n;
}

int files_remove_leftovers(const char *dir) {
  /* what xlat-train writes atomically: a kill -9 during a save leaves NAME.tmp, never the file itself */
  static const char *const kinds[] = {".xlat.tmp", ".model.tmp", ".vocab.tmp", ".ids.tmp", ".tsv.tmp", ".svg.tmp",
                                      ".yml.tmp", "command.txt.tmp"};
  DIR *d = opendir(dir);
  if (!d) {
    fprintf(stderr, "xlat-train: cannot list %s: %s\n", dir, strerror(errno));
    return -1;
  }
  int removed = 0;
  for (struct dirent *e; (e = readdir(d));) {
    size_t n = strlen(e->d_name);
    /* the id cache's shards: NAME.ids.K.tmp */
    int match = n > 4 && strcmp(e->d_name + n - 4, ".tmp") == 0 && strstr(e->d_name, ".ids.") != NULL;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0] && !match; k++) {
      size_t m = strlen(kinds[k]);
      match = n > m && strcmp(e->d_name + n - m, kinds[k]) == 0;
    }
    if (!match) continue;
    char *path = files_join(dir, e->d_name);
    if (path && remove(path) == 0) removed++;
    free(path);
  }
  closedir(d);
  return removed;
}

static char *step_path(const char *dir, int64_t step) {
  char name[48];
  snprintf(name, sizeof name, "step-%lld.xlat", (long long)step);
  return files_join(dir, name);
}

int files_save_step(const char *dir, const xlat_model *m, int64_t step, int32_t keep) {
  char *path = step_path(dir, step);
  if (!path) return -1;
  if (xlat_checkpoint_save(path, m, NULL) != XLAT_OK) {
    fprintf(stderr, "xlat-train: %s\n", xlat_last_error());
    free(path);
    return -1;
  }
  free(path);
  int64_t *steps;
  int n;
  if (list_steps(dir, &steps, &n) != 0) return -1;
  for (int i = 0; i + keep < n; i++) {
    char *old = step_path(dir, steps[i]);
    if (old && remove(old) != 0) fprintf(stderr, "xlat-train: warning: cannot remove %s: %s\n", old, strerror(errno));
    free(old);
  }
  free(steps);
  return 0;
}

int files_average_last(const char *dir, int32_t k, const char *out_path, int *used) {
  int64_t *steps;
  int n;
  *used = 0;
  if (list_steps(dir, &steps, &n) != 0) return -1;
  if (n == 0) {
    fprintf(stderr, "xlat-train: no step-N.xlat in %s to average\n", dir);
    free(steps);
    return -1;
  }
  int m = n < k ? n : k;
  char **paths = calloc((size_t)m, sizeof *paths);
  int rc = paths ? 0 : -1;
  for (int i = 0; rc == 0 && i < m; i++)
    if (!(paths[i] = step_path(dir, steps[n - m + i]))) rc = -1;
  if (rc == 0 && xlat_checkpoint_average((const char *const *)paths, m, out_path) != XLAT_OK) {
    fprintf(stderr, "xlat-train: %s\n", xlat_last_error());
    rc = -1;
  }
  for (int i = 0; paths && i < m; i++) free(paths[i]);
  free(paths);
  free(steps);
  if (rc == 0) *used = m;
  return rc;
}

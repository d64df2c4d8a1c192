/* files.c - output-directory housekeeping for xlat-train. Checkpoint contents are the library's business
 * (xlat_checkpoint_save writes atomically); here: directories, the atomic copy of the SentencePiece model, and the
 * rotation and averaging of the step-N.xlat weight files kept by --keep-last / --average-last. */
#include "files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* fsync of the directory holding path, so a rename in it survives a crash. */
static int sync_parent(const char *path) {
  char *d = strdup(path);
  if (!d) return -1;
  char *slash = strrchr(d, '/');
  if (slash == d)
    slash[1] = '\0';
  else if (slash)
    *slash = '\0';
  else
    strcpy(d, ".");
  int fd = open(d, O_RDONLY);
  int ok = fd >= 0 && fsync(fd) == 0;
  if (fd >= 0) close(fd);
  free(d);
  return ok ? 0 : -1;
}

int files_rename(const char *src, const char *dst) {
  if (rename(src, dst) != 0 || sync_parent(dst) != 0) {
    fprintf(stderr, "xlat-train: cannot rename %s to %s: %s\n", src, dst, strerror(errno));
    return -1;
  }
  return 0;
}

int files_copy(const char *src, const char *dst) {
  char *tmp = malloc(strlen(dst) + 32);
  if (!tmp) return -1;
  sprintf(tmp, "%s.tmp.%ld", dst, (long)getpid());
  FILE *in = fopen(src, "rb"), *out = in ? fopen(tmp, "wb") : NULL;
  int ok = in && out;
  char buf[1 << 16];
  size_t n;
  while (ok && (n = fread(buf, 1, sizeof buf, in)) > 0) ok = fwrite(buf, 1, n, out) == n;
  ok = ok && !ferror(in);
  int err = errno;
  if (out) ok = (fflush(out) == 0) & (fsync(fileno(out)) == 0) & (fclose(out) == 0) & ok;
  if (in) fclose(in);
  if (!ok) {
    fprintf(stderr, "xlat-train: cannot copy %s to %s: %s\n", src, dst, strerror(err ? err : errno));
    remove(tmp);
    free(tmp);
    return -1;
  }
  int rc = files_rename(tmp, dst);
  if (rc != 0) remove(tmp);
  free(tmp);
  return rc;
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

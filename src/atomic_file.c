/* atomic_file.c - replace a file so that a crash or a full disk leaves either the old file or the new one.
 *
 * The new content goes to PATH.tmp; commit checks every write, flushes, fsyncs, renames over PATH and fsyncs the
 * directory so the rename itself is durable. Any failure removes PATH.tmp and leaves PATH untouched. This is not a
 * lock: two writers of one path at the same time share PATH.tmp.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

xlat_status xlat_atomic_open(xlat_atomic_file *af, const char *path) {
  memset(af, 0, sizeof *af);
  size_t n = strlen(path);
  af->path = malloc(2 * n + 6);
  if (!af->path) return xlat_fail(XLAT_ERR_NOMEM, "%s: out of memory", path);
  af->tmp = af->path + n + 1;
  memcpy(af->path, path, n + 1);
  memcpy(af->tmp, path, n);
  memcpy(af->tmp + n, ".tmp", 5);
  af->f = fopen(af->tmp, "wb");
  if (!af->f) {
    xlat_status s = xlat_fail(XLAT_ERR_IO, "%s: cannot create: %s", af->tmp, strerror(errno));
    free(af->path);
    memset(af, 0, sizeof *af);
    return s;
  }
  return XLAT_OK;
}

/* fsync of the directory holding path, so the rename survives a crash. Some file systems refuse fsync on a
 * directory (EINVAL): the rename has still happened, so only real I/O errors count. */
static int sync_dir(const char *path) {
  char *copy = strdup(path);
  if (!copy) return ENOMEM;
  int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
  free(copy);
  if (fd < 0) return errno;
  int e = fsync(fd) == 0 || errno == EINVAL ? 0 : errno;
  close(fd);
  return e;
}

xlat_status xlat_atomic_commit(xlat_atomic_file *af) {
  /* the first failure's errno is the one worth reporting (ENOSPC, EFBIG, EIO) */
  int e = 0;
  if (ferror(af->f)) {
    /* a failed fwrite/fprintf: flushing what is left again usually yields the real reason (ENOSPC) */
    clearerr(af->f);
    errno = 0;
    e = af->err ? af->err : fflush(af->f) != 0 && errno ? errno : EIO;
  }
  if (!e && fflush(af->f) != 0) e = errno;
  if (!e && fsync(fileno(af->f)) != 0) e = errno;
  if (fclose(af->f) != 0 && !e) e = errno;
  af->f = NULL;
  if (!e && rename(af->tmp, af->path) != 0) e = errno;
  if (e) {
    xlat_status s = xlat_fail(XLAT_ERR_IO, "%s: cannot write: %s (the previous file, if any, is unchanged)",
                              af->path, strerror(e));
    xlat_atomic_abort(af);
    return s;
  }
  e = sync_dir(af->path);
  xlat_status s = e ? xlat_fail(XLAT_ERR_IO, "%s: written, but syncing its directory failed: %s", af->path,
                                strerror(e))
                    : XLAT_OK;
  free(af->path);
  memset(af, 0, sizeof *af);
  return s;
}

void xlat_atomic_abort(xlat_atomic_file *af) {
  if (!af || !af->path) return;
  if (af->f) fclose(af->f);
  remove(af->tmp);
  free(af->path);
  memset(af, 0, sizeof *af);
}

int xlat_atomic_write(xlat_atomic_file *af, const void *data, size_t n) {
  errno = 0;
  if (n && fwrite(data, 1, n, af->f) != n) {
    if (!af->err) af->err = errno ? errno : EIO;
    return -1;
  }
  return 0;
}

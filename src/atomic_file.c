/* atomic_file.c - replace a file so that a crash, an interrupt or a full disk leaves either the old file or the new
 * one, never a part (see io.h).
 *
 * The new content goes to PATH.tmp; commit checks every write, flushes, fsyncs, renames over PATH and fsyncs the
 * directory so the rename itself is durable. Any failure removes PATH.tmp and leaves PATH untouched. Open
 * temporaries are listed in a small table so that a signal handler can remove them (kill -9 cannot be caught: the
 * next writer of the same path reuses and replaces PATH.tmp).
 */
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"

enum { MAX_TEMPS = 64 };
static char *volatile temps[MAX_TEMPS]; /* read by signal handlers: set after the file exists, cleared before free */
static pthread_mutex_t temps_lock = PTHREAD_MUTEX_INITIALIZER;

static int temps_add(char *tmp) {
  pthread_mutex_lock(&temps_lock);
  int slot = -1;
  for (int i = 0; i < MAX_TEMPS && slot < 0; i++)
    if (!temps[i]) temps[slot = i] = tmp;
  pthread_mutex_unlock(&temps_lock);
  return slot;
}

static void temps_drop(int slot) {
  if (slot < 0) return;
  pthread_mutex_lock(&temps_lock);
  temps[slot] = NULL;
  pthread_mutex_unlock(&temps_lock);
}

/* Holds off the fatal signals while a temporary is created and listed, or unlisted and freed: a handler then never
 * misses a file nor reads a freed name. */
static void hold_signals(sigset_t *old) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, old);
}

static void release_signals(const sigset_t *old) { pthread_sigmask(SIG_SETMASK, old, NULL); }

void xlat_atomic_remove_temps(void) {
  for (int i = 0; i < MAX_TEMPS; i++) {
    char *t = temps[i];
    if (t) unlink(t);
  }
}

static void on_fatal_signal(int sig) {
  xlat_atomic_remove_temps();
  signal(sig, SIG_DFL);
  raise(sig);
}

void xlat_atomic_guard_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_fatal_signal;
  sigemptyset(&sa.sa_mask);
  const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
    struct sigaction old;
    /* a signal the parent set to be ignored (nohup) stays ignored */
    if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN) sigaction(sigs[i], &sa, NULL);
  }
  signal(SIGXFSZ, SIG_IGN);
}

/* Where the new content goes: *in_place when path names a device, a pipe or anything under /dev or /proc (there is
 * nothing to replace: /dev/stdout may be a pipe or a file opened for appending), else the file a symbolic link
 * resolves to, so the link itself survives. A malloc'ed path, or NULL when out of memory. */
static char *target_of(const char *path, int *in_place, int *is_dir) {
  struct stat st;
  *in_place = *is_dir = 0;
  if (!strncmp(path, "/dev/", 5) || !strncmp(path, "/proc/", 6)) return *in_place = 1, strdup(path);
  if (lstat(path, &st) != 0) return strdup(path); /* a new file */
  char *real = S_ISLNK(st.st_mode) ? realpath(path, NULL) : strdup(path);
  if (!real || stat(real, &st) != 0) { /* a dangling link: write through it */
    free(real);
    return *in_place = 1, strdup(path);
  }
  *is_dir = S_ISDIR(st.st_mode);
  *in_place = !S_ISREG(st.st_mode);
  return real;
}

xlat_status xlat_atomic_open(xlat_atomic_file *af, const char *path) {
  memset(af, 0, sizeof *af);
  af->slot = -1;
  int in_place, is_dir;
  char *target = target_of(path, &in_place, &is_dir);
  if (!target) return xlat_fail(XLAT_ERR_NOMEM, "%s: out of memory", path);
  if (is_dir) {
    free(target);
    return xlat_fail(XLAT_ERR_IO, "%s: is a directory, expected a file name to write", path);
  }
  size_t n = strlen(target);
  af->path = realloc(target, 2 * n + 6);
  if (!af->path) {
    free(target);
    return xlat_fail(XLAT_ERR_NOMEM, "%s: out of memory", path);
  }
  if (in_place) { /* appending: /dev/stdout may be a file the shell opened with >> (truncating would empty it) */
    af->f = fopen(af->path, "ab");
  } else {
    af->tmp = af->path + n + 1;
    memcpy(af->tmp, af->path, n);
    memcpy(af->tmp + n, ".tmp", 5);
    sigset_t old;
    hold_signals(&old);
    af->f = fopen(af->tmp, "wb");
    if (af->f) af->slot = temps_add(af->tmp);
    release_signals(&old);
  }
  if (!af->f) {
    xlat_status s = xlat_fail(XLAT_ERR_IO, "%s: cannot create: %s", af->tmp ? af->tmp : af->path, strerror(errno));
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
  if (!e && af->tmp && fsync(fileno(af->f)) != 0) e = errno;
  if (fclose(af->f) != 0 && !e) e = errno;
  af->f = NULL;
  if (!e && af->tmp && rename(af->tmp, af->path) != 0) e = errno;
  if (e) {
    xlat_status s = xlat_fail(XLAT_ERR_IO, "%s: cannot write: %s%s", af->path, strerror(e),
                              af->tmp ? " (the previous file, if any, is unchanged)" : "");
    xlat_atomic_abort(af);
    return s;
  }
  e = af->tmp ? sync_dir(af->path) : 0;
  xlat_status s = e ? xlat_fail(XLAT_ERR_IO, "%s: written, but syncing its directory failed: %s", af->path,
                                strerror(e))
                    : XLAT_OK;
  sigset_t old;
  hold_signals(&old);
  temps_drop(af->slot);
  free(af->path);
  memset(af, 0, sizeof *af);
  release_signals(&old);
  return s;
}

void xlat_atomic_abort(xlat_atomic_file *af) {
  if (!af || !af->path) return;
  if (af->f) fclose(af->f);
  sigset_t old;
  hold_signals(&old);
  if (af->tmp) remove(af->tmp);
  temps_drop(af->slot);
  free(af->path);
  memset(af, 0, sizeof *af);
  release_signals(&old);
}

int xlat_atomic_write(xlat_atomic_file *af, const void *data, size_t n) {
  errno = 0;
  if (n && fwrite(data, 1, n, af->f) != n) {
    if (!af->err) af->err = errno ? errno : EIO;
    return -1;
  }
  return 0;
}

xlat_status xlat_atomic_write_file(const char *path, const void *data, size_t n) {
  xlat_atomic_file af;
  xlat_status s = xlat_atomic_open(&af, path);
  if (s != XLAT_OK) return s;
  xlat_atomic_write(&af, data, n);
  return xlat_atomic_commit(&af);
}

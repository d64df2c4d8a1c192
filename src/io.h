/* io.h - libxlatio, the I/O every xlat program shares and the one home of each concern: status codes and the last
 * error's text, the line reader (plain or gzip), UTF-8 decoding and checking, and atomically replaced files. It
 * needs only zlib, so xlat-spm links it without the model library and OpenBLAS. xlat.h includes it. */
#ifndef XLAT_IO_H
#define XLAT_IO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status ---------------------------------------------------------------------------------------------------- */
typedef enum {
  XLAT_OK = 0,
  XLAT_ERR_IO,       /* a file could not be opened, read, written or synced */
  XLAT_ERR_FORMAT,   /* input is not what was expected (bad line, bad checkpoint, checksum mismatch) */
  XLAT_ERR_NOMEM,    /* an allocation failed */
  XLAT_ERR_ARG,      /* an argument is out of range */
  XLAT_ERR_MISMATCH, /* two inputs disagree (line counts, tokenizer checksum, model config) */
  XLAT_ERR_BUSY,     /* a bounded queue is full: try again later */
  XLAT_ERR_TIMEOUT,  /* a deadline passed before the work was done */
} xlat_status;

const char *xlat_status_str(xlat_status s);
/* The message of the last failure on this thread; "" when none. */
const char *xlat_last_error(void);
/* Records a user-facing failure message (printf format) for xlat_last_error() and returns s. The arguments may
 * include xlat_last_error() itself, to add context to an inner failure. */
xlat_status xlat_fail(xlat_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- streaming line reader ------------------------------------------------------------------------------------- */
/* Reads a plain or gzip file (detected by content) line by line with bounded memory. A line is returned without its
 * "\n" and without a "\r" right before it (CRLF files read like LF files); a last line without "\n" is still a line;
 * every other byte (TAB, NUL, U+00A0, invalid UTF-8) passes through unchanged: callers that keep C strings check for
 * NUL themselves (xlat_nul_at). A truncated or corrupt gzip stream is an error, never a shorter file. */
typedef struct xlat_lines xlat_lines;

/* path "-" reads standard input. XLAT_ERR_IO naming the path when it cannot be opened or is a directory. */
xlat_status xlat_lines_open(const char *path, xlat_lines **out);
/* Next line in *line (valid until the next call, NUL-terminated) and *len; at the end of the file *line is NULL.
 * XLAT_ERR_IO / XLAT_ERR_FORMAT (truncated or corrupt gzip) naming the file and the line. */
xlat_status xlat_lines_next(xlat_lines *r, const char **line, size_t *len);
/* 1-based number of the last line returned (0 before the first). */
int64_t xlat_lines_number(const xlat_lines *r);
void xlat_lines_close(xlat_lines *r);

/* Offset of the first NUL byte in s[0..len), or len when there is none. */
size_t xlat_nul_at(const char *s, size_t len);

/* ---- UTF-8 ----------------------------------------------------------------------------------------------------- */
/* Decodes the well-formed UTF-8 sequence (Unicode table 3-7: no overlong forms, no surrogates, nothing above
 * U+10FFFF) at s[0..len) into *cp and returns its byte count; 0 when s does not start one (or len is 0). */
size_t xlat_utf8_decode(const char *s, size_t len, uint32_t *cp);
/* 1 when the len bytes are valid UTF-8, else 0. */
int xlat_utf8_valid(const char *s, size_t len);
/* Offset of the first byte that does not start a valid UTF-8 sequence; len when all are valid. */
size_t xlat_utf8_invalid_at(const char *s, size_t len);

/* ---- atomically replaced files --------------------------------------------------------------------------------
 * xlat_atomic_open creates PATH.tmp; write through af->f (or xlat_atomic_write, which remembers the first errno);
 * xlat_atomic_commit checks every write, fflush + fsync, renames over PATH and fsyncs the directory; on any failure
 * (ENOSPC, EFBIG, EIO) it removes PATH.tmp, leaves PATH as it was and returns XLAT_ERR_IO naming the path and the
 * reason. xlat_atomic_abort removes PATH.tmp (accepts an unopened or already finished af). A PATH that is a
 * directory is refused at open; a device, a pipe or a path under /dev or /proc (/dev/null, /dev/stdout) is written
 * in place; a symbolic link is followed and its target replaced, so the link stays. Not a lock: two writers of one
 * path at the same time share PATH.tmp. */
typedef struct {
  FILE *f;
  char *path, *tmp; /* tmp is NULL when writing in place */
  int err;          /* first errno seen by xlat_atomic_write */
  int slot;         /* in the table of temporaries xlat_atomic_remove_temps() removes */
} xlat_atomic_file;

xlat_status xlat_atomic_open(xlat_atomic_file *af, const char *path);
int xlat_atomic_write(xlat_atomic_file *af, const void *data, size_t n); /* 0, or -1 after a failed write */
xlat_status xlat_atomic_commit(xlat_atomic_file *af);
void xlat_atomic_abort(xlat_atomic_file *af);
/* Writes n bytes to path atomically (open, write, commit). */
xlat_status xlat_atomic_write_file(const char *path, const void *data, size_t n);

/* Removes the temporary file of every atomic file still open; async-signal-safe (unlink only), for handlers. */
void xlat_atomic_remove_temps(void);
/* For programs without signal handlers of their own: SIGINT, SIGTERM and SIGHUP remove the open temporaries and
 * then end the process as the signal would have; SIGXFSZ is ignored, so a file-size limit reaches the writer as
 * EFBIG and is reported by xlat_atomic_commit instead of killing the process mid-write. */
void xlat_atomic_guard_signals(void);

#ifdef __cplusplus
}
#endif
#endif

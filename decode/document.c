/* document.c - the xlat-decode pipeline: windows of lines handed to the library's translator, output in input order
 * (see document.h). Works the same for translation and for forced decoding (--score). */
#include "document.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "attention.h"
#include "output.h"

static void warn(const doc_options *o, int64_t line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void warn(const doc_options *o, int64_t line, const char *fmt, ...) {
  if (o->quiet) return;
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "xlat-decode: warning: line %lld: ", (long long)line + 1);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

/* Says what the translator changed in line number on its way in. */
static void warn_note(const doc_options *o, int64_t number, const xlat_text_note *n, int32_t max_input,
                      int32_t max_tgt) {
  const char *name = o->input ? o->input : "standard input";
  if (n->invalid) warn(o, number, "%zu invalid UTF-8 byte(s) in %s replaced by U+FFFD", n->invalid, name);
  if (n->tgt_invalid)
    warn(o, number, "%zu invalid UTF-8 byte(s) in %s replaced by U+FFFD", n->tgt_invalid, o->score_path);
  if (n->split) warn(o, number, "longer than %d tokens: its %d sentences are translated separately", max_input,
                     n->split);
  if (n->cut)
    warn(o, number, "%d sentence(s) longer than %d tokens (longest %d): cut into pieces at the token limit", n->cut,
         max_input, n->longest);
  if (n->src_truncated)
    warn(o, number, "source has %d tokens, more than %d: truncated for scoring", n->src_truncated, max_input);
  if (n->tgt_truncated)
    warn(o, number, "target has %d tokens, more than %d: truncated for scoring", n->tgt_truncated, max_tgt);
}

/* ---- reading -------------------------------------------------------------------------------------------------- */

typedef struct {
  xlat_lines *in, *tgt;
  int64_t number; /* lines read */
} reader;

/* Reads up to o->window lines into w. Returns 1 when lines were read, 0 at the end of the input, -1 on failure. */
static int read_window(const doc_options *o, xlat_translator *tr, reader *r, xlat_texts *w) {
  xlat_texts_clear(w);
  while (w->n_texts < o->window) {
    const char *line, *tline = NULL;
    size_t len, tlen = 0;
    if (xlat_lines_next(r->in, &line, &len) != XLAT_OK) {
      fprintf(stderr, "xlat-decode: %s\n", xlat_last_error());
      return -1;
    }
    if (r->tgt && xlat_lines_next(r->tgt, &tline, &tlen) != XLAT_OK) {
      fprintf(stderr, "xlat-decode: %s\n", xlat_last_error());
      return -1;
    }
    if (r->tgt && (line == NULL) != (tline == NULL)) {
      fprintf(stderr, "xlat-decode: %s has %lld lines but %s has more: expected one target line per input line\n",
              line ? o->score_path : (o->input ? o->input : "standard input"), (long long)r->number,
              line ? (o->input ? o->input : "standard input") : o->score_path);
      return -1;
    }
    if (!line) break;
    int64_t number = r->number++;
    xlat_text_note note;
    xlat_status st = r->tgt ? xlat_texts_add_pair(tr, w, number, line, len, tline, tlen, &note)
                            : xlat_texts_add(tr, w, number, line, len, &note);
    if (st != XLAT_OK) {
      fprintf(stderr, "xlat-decode: cannot prepare line %lld: %s\n", (long long)number + 1, xlat_last_error());
      return -1;
    }
    warn_note(o, number, &note, o->tr.max_input, xlat_translator_max_target(tr));
  }
  return w->n_texts > 0;
}

static int write_window(const doc_options *o, FILE *f, const xlat_texts *w) {
  errno = 0;
  for (int32_t i = 0; i < w->n_texts; i++) {
    const xlat_text_info *l = &w->texts[i];
    int rc;
    if (o->score_path) {
      const xlat_segment *s = &w->segs[l->first];
      rc = out_score(f, o->format, l->number, s->score, s->logprob, s->tgt_len);
    } else {
      rc = out_line(f, o->format, l->number, w->res + l->first, l->count, o->tr.beam.n_best);
    }
    if (rc) return -1;
  }
  return fflush(f) == 0 ? 0 : -1;
}

/* Copies the first segment of w's first line with text, and its best translation or its scored target, into
 * o->first. Returns 0, or -1 when out of memory. */
static int keep_first(const doc_options *o, const xlat_texts *w) {
  for (int32_t i = 0; i < w->n_texts; i++) {
    const xlat_text_info *l = &w->texts[i];
    const xlat_segment *s = &w->segs[l->first];
    const xlat_seg_result *r = &w->res[l->first];
    if (l->count == 0 || s->src_len == 0 || (!o->score_path && r->n == 0)) continue;
    const int32_t *tgt = o->score_path ? s->tgt : r->hyps[0].ids;
    doc_first *f = o->first;
    f->src_len = s->src_len;
    f->tgt_len = o->score_path ? s->tgt_len : r->hyps[0].len;
    f->src = malloc(sizeof(int32_t) * (size_t)f->src_len);
    f->tgt = malloc(sizeof(int32_t) * (size_t)(f->tgt_len ? f->tgt_len : 1));
    if (!f->src || !f->tgt) return -1;
    memcpy(f->src, s->src, sizeof(int32_t) * (size_t)f->src_len);
    if (f->tgt_len) memcpy(f->tgt, tgt, sizeof(int32_t) * (size_t)f->tgt_len);
    f->line = l->number;
    f->found = 1;
    return 0;
  }
  return 0;
}

/* ---- progress on a terminal ---------------------------------------------------------------------------------- */

/* One live line on stderr while translating, when stderr is a terminal (and not --quiet): lines done, of how many
 * (counted first when the input is a file), segments per second, time left. */
typedef struct {
  int on;
  int64_t total; /* input lines, 0 when unknown (standard input) */
  int64_t segs;
  double t0, drawn;
} live;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void live_start(live *lv, const doc_options *o) {
  memset(lv, 0, sizeof *lv);
  lv->on = !o->quiet && xlat_dist_rank() == 0 && isatty(STDERR_FILENO);
  lv->t0 = lv->drawn = now();
  xlat_lines *in;
  if (!lv->on || !o->input || !strcmp(o->input, "-") || xlat_lines_open(o->input, &in) != XLAT_OK) return;
  const char *line;
  size_t len;
  while (xlat_lines_next(in, &line, &len) == XLAT_OK && line) lv->total++;
  xlat_lines_close(in);
}

/* After a window: done lines written, segs more segments translated; at most 4 redraws a second. */
static void live_update(live *lv, int64_t done, int64_t segs, int last) {
  lv->segs += segs;
  double t = now(), rate = lv->segs / fmax(t - lv->t0, 1e-9);
  if (!lv->on || (!last && t - lv->drawn < 0.25)) return;
  lv->drawn = t;
  fprintf(stderr, "\r\033[Kline %lld", (long long)done);
  if (lv->total > 0) {
    double left = done > 0 ? (t - lv->t0) * (double)(lv->total - done) / (double)done : 0;
    fprintf(stderr, "/%lld (%.0f%%)  %.1f segments/s  ETA %d:%02d", (long long)lv->total,
            100.0 * (double)done / (double)lv->total, rate, (int)left / 60, (int)left % 60);
  } else {
    fprintf(stderr, "  %.1f segments/s", rate);
  }
  if (last) fputc('\n', stderr);
  fflush(stderr);
}

/* ---- the whole document --------------------------------------------------------------------------------------- */

/* Under mpirun the windows are dealt out in turn (window k to rank k % ranks); every rank reads the whole input,
 * translates its own windows and sends their formatted output to rank 0, which writes every window in input order. */

/* Formats window w in memory and sends it to rank 0. */
static int send_window(const doc_options *o, const xlat_texts *w) {
  char *buf = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&buf, &n);
  int rc = !f || write_window(o, f, w) ? -1 : 0;
  if (f && fclose(f) != 0) rc = -1;
  if (rc == 0 && xlat_dist_send(0, buf, n) != XLAT_OK) {
    fprintf(stderr, "xlat-decode: %s\n", xlat_last_error());
    rc = -1;
  } else if (rc) {
    fprintf(stderr, "xlat-decode: out of memory formatting the output\n");
  }
  free(buf);
  return rc;
}

/* Rank 0: writes the output of a window another rank translated. */
static int receive_window(int from, FILE *out, const char *name) {
  char *buf;
  size_t n;
  if (xlat_dist_recv(from, &buf, &n) != XLAT_OK) {
    fprintf(stderr, "xlat-decode: %s\n", xlat_last_error());
    return -1;
  }
  errno = 0;
  int rc = fwrite(buf, 1, n, out) == n && fflush(out) == 0 ? 0 : -1;
  if (rc) fprintf(stderr, "xlat-decode: cannot write %s: %s\n", name, strerror(errno ? errno : EIO));
  free(buf);
  return rc;
}

int doc_translate(const doc_options *o) {
  reader rd;
  memset(&rd, 0, sizeof rd);
  out_file out;
  memset(&out, 0, sizeof out);
  xlat_translator *tr = NULL;
  xlat_texts *cur = NULL, *prev = NULL;
  xlat_beam *attention = NULL; /* --attention-svg DIR/ */
  int rc = 1, have_prev = 0, opened = 0;
  int scoring = o->score_path != NULL;
  if (xlat_texts_new(scoring, &cur) != XLAT_OK || xlat_texts_new(scoring, &prev) != XLAT_OK ||
      xlat_lines_open(o->input ? o->input : "-", &rd.in) != XLAT_OK ||
      (o->score_path && xlat_lines_open(o->score_path, &rd.tgt) != XLAT_OK)) {
    fprintf(stderr, "xlat-decode: %s\n", xlat_last_error());
    goto done;
  }
  int ranks = xlat_dist_size(), me = xlat_dist_rank();
  if (me == 0) {
    if (out_open(&out, o->output)) goto done;
    opened = 1;
  }
  if (xlat_translator_new(&o->tr, &tr) != XLAT_OK ||
      (o->attention_dir && xlat_beam_new(o->tr.models, 1, &o->tr.beam, &attention) != XLAT_OK)) {
    fprintf(stderr, "xlat-decode: %s\n", xlat_last_error());
    goto done;
  }
  const char *out_name = o->output ? o->output : "standard output";
  live lv;
  live_start(&lv, o);
  int64_t index = 0, prev_owner = 0; /* of the window in cur; of the one in prev */
  for (;;) {
    int got = read_window(o, tr, &rd, cur);
    if (got < 0) goto done;
    int owner = (int)(index % ranks);
    if (got > 0 && owner == me && xlat_translator_submit(tr, cur) != XLAT_OK) {
      fprintf(stderr, "xlat-decode: %s\n", xlat_last_error());
      goto done;
    }
    if (have_prev && prev_owner == me) {
      if (xlat_texts_wait(tr, prev, -1) != XLAT_OK) {
        fprintf(stderr, "xlat-decode: %s\n", xlat_last_error());
        goto done;
      }
      if (o->first && index == 1 && keep_first(o, prev)) { /* prev is window index - 1 */
        fprintf(stderr, "xlat-decode: out of memory\n");
        goto done;
      }
      if (attention && attention_window(o, attention, prev)) goto done;
      if (me != 0 ? send_window(o, prev) : write_window(o, out.f, prev)) {
        if (me == 0) fprintf(stderr, "xlat-decode: cannot write %s: %s\n", out_name, strerror(errno ? errno : EIO));
        goto done;
      }
      live_update(&lv, prev->texts[prev->n_texts - 1].number + 1, prev->n_segs, got == 0);
    } else if (have_prev && me == 0) {
      if (receive_window((int)prev_owner, out.f, out_name)) goto done;
      live_update(&lv, rd.number - (got > 0 ? cur->n_texts : 0), 0, got == 0);
    }
    if (got == 0) break;
    xlat_texts *t = prev;
    prev = cur, cur = t;
    have_prev = 1;
    prev_owner = owner;
    index++;
  }
  rc = me == 0 && out_commit(&out) ? 1 : 0;
  opened = 0;
done:
  xlat_texts_free(cur); /* before the translator: a set still pending is abandoned to it */
  xlat_texts_free(prev);
  xlat_translator_free(tr);
  xlat_beam_free(attention);
  if (opened) out_abort(&out);
  xlat_lines_close(rd.in);
  xlat_lines_close(rd.tgt);
  return rc;
}

int doc_translate_markup(const doc_options *o, xlat_markup_format fmt) {
  const char *name = o->input ? o->input : "standard input";
  xlat_lines *in = NULL;
  xlat_translator *tr = NULL;
  char *doc = NULL, *out_text = NULL;
  size_t doc_len = 0, out_len = 0;
  int rc = 1;
  FILE *mem = open_memstream(&doc, &doc_len);
  xlat_status st = mem ? xlat_lines_open(o->input ? o->input : "-", &in) : xlat_fail(XLAT_ERR_NOMEM, "out of memory");
  const char *line;
  size_t len;
  while (st == XLAT_OK && (st = xlat_lines_next(in, &line, &len)) == XLAT_OK && line)
    if (fwrite(line, 1, len, mem) != len || fputc('\n', mem) == EOF) st = xlat_fail(XLAT_ERR_NOMEM, "out of memory");
  if (mem && fclose(mem) != 0 && st == XLAT_OK) st = xlat_fail(XLAT_ERR_NOMEM, "out of memory");
  if (st == XLAT_OK) st = xlat_translator_new(&o->tr, &tr);
  if (st == XLAT_OK) st = xlat_translate_document(tr, fmt, doc, doc_len, -1, &out_text, &out_len);
  if (st != XLAT_OK) {
    fprintf(stderr, "xlat-decode: %s: %s\n", name, xlat_last_error());
  } else {
    out_file out;
    if (out_open(&out, o->output) == 0) {
      errno = 0;
      if (fwrite(out_text, 1, out_len, out.f) != out_len) {
        fprintf(stderr, "xlat-decode: cannot write %s: %s\n", o->output ? o->output : "standard output",
                strerror(errno ? errno : EIO));
        out_abort(&out);
      } else {
        rc = out_commit(&out) ? 1 : 0;
      }
    }
  }
  xlat_translator_free(tr);
  xlat_lines_close(in);
  free(doc);
  free(out_text);
  return rc;
}

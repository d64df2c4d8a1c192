/* document.c - the xlat-decode pipeline: windows of lines, length-sorted mini-batches, worker threads, output in
 * input order (see document.h). Works the same for translation and for forced decoding (--score). */
#include "document.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "text.h"

typedef struct {
  int32_t *src, *tgt; /* ids (malloc'ed); tgt only for forced decoding */
  int32_t src_len, tgt_len;
  float score, logprob; /* forced decoding */
} segment;

typedef struct {
  int64_t number;        /* 0-based line number */
  int32_t first, count;  /* its segments */
} line_info;

typedef struct {
  line_info *lines;
  segment *segs;
  seg_result *res; /* (n_segs) translations */
  int32_t *order;  /* segments sorted by source length */
  int32_t n_lines, n_segs, cap_lines, cap_segs;
  int32_t pending; /* mini-batches queued or being translated */
} window;

/* A mini-batch: segments w->order[first .. first + n). */
typedef struct {
  window *w;
  int32_t first, n;
} job;

typedef struct {
  const doc_options *o;
  pthread_mutex_t mu;
  pthread_cond_t work, done;
  job *queue;
  size_t head, tail, cap; /* queue[head..tail) waits */
  int closing, failed;
  char error[1024];
} shared;

typedef struct {
  shared *sh;
  xlat_beam *beam;
  pthread_t tid;
  int started;
} worker;

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

/* ---- window storage ------------------------------------------------------------------------------------------- */

static void window_clear(window *w) {
  for (int32_t i = 0; i < w->n_segs; i++) {
    free(w->segs[i].src);
    free(w->segs[i].tgt);
    for (int32_t k = 0; k < w->res[i].n; k++) {
      free(w->res[i].hyps[k].text);
      free(w->res[i].hyps[k].ids);
      free(w->res[i].hyps[k].align);
    }
    free(w->res[i].hyps);
  }
  w->n_lines = w->n_segs = 0;
}

static void window_free(window *w) {
  if (!w) return;
  window_clear(w);
  free(w->lines);
  free(w->segs);
  free(w->res);
  free(w->order);
  free(w);
}

static int add_line(window *w, int64_t number) {
  if (w->n_lines == w->cap_lines) {
    int32_t cap = w->cap_lines ? 2 * w->cap_lines : 256;
    line_info *p = realloc(w->lines, sizeof *p * (size_t)cap);
    if (!p) return -1;
    w->lines = p;
    w->cap_lines = cap;
  }
  w->lines[w->n_lines++] = (line_info){number, w->n_segs, 0};
  return 0;
}

/* Appends a segment to the last line, taking ownership of src and tgt (freed on failure too). */
static int add_segment(window *w, int32_t *src, int32_t src_len, int32_t *tgt, int32_t tgt_len) {
  if (w->n_segs == w->cap_segs) {
    int32_t cap = w->cap_segs ? 2 * w->cap_segs : 256;
    segment *s = realloc(w->segs, sizeof *s * (size_t)cap);
    if (s) w->segs = s;
    seg_result *r = s ? realloc(w->res, sizeof *r * (size_t)cap) : NULL;
    if (r) w->res = r;
    int32_t *o = r ? realloc(w->order, sizeof *o * (size_t)cap) : NULL;
    if (!o) {
      free(src);
      free(tgt);
      return -1;
    }
    w->order = o;
    w->cap_segs = cap;
  }
  w->segs[w->n_segs] = (segment){src, tgt, src_len, tgt_len, 0.0f, 0.0f};
  w->res[w->n_segs] = (seg_result){src_len, 0, NULL};
  w->n_segs++;
  w->lines[w->n_lines - 1].count++;
  return 0;
}

/* Adds ids as segments of at most limit tokens each; returns the number of pieces, or -1. */
static int add_pieces(window *w, int32_t *ids, int32_t n, int32_t limit) {
  if (n <= limit) return add_segment(w, ids, n, NULL, 0) ? -1 : 1;
  int pieces = 0;
  for (int32_t at = 0; at < n; at += limit, pieces++) {
    int32_t len = n - at < limit ? n - at : limit;
    int32_t *p = malloc(sizeof *p * (size_t)len);
    if (!p) {
      free(ids);
      return -1;
    }
    memcpy(p, ids + at, sizeof *p * (size_t)len);
    if (add_segment(w, p, len, NULL, 0)) {
      free(ids);
      return -1;
    }
  }
  free(ids);
  return pieces;
}

static int encode(const doc_options *o, const char *text, size_t len, int32_t **ids, int32_t *n) {
  size_t count = 0;
  *ids = NULL;
  if (xlat_spm_encode_ids(o->spm, text, len, ids, &count) != 0) {
    fprintf(stderr, "xlat-decode: cannot encode text: %s\n", xlat_spm_last_error());
    return -1;
  }
  *n = (int32_t)count;
  return 0;
}

/* Splits a cleaned line into segments: sentences with --split-sentences; otherwise the whole line, unless it is
 * longer than max_input tokens, then its sentences; anything still too long is cut into max_input-token pieces. */
static int add_text(const doc_options *o, window *w, int64_t number, const char *text, size_t len) {
  if (text_blank(text, len)) return 0;
  int32_t *ids, n, limit = o->max_input;
  if (!o->split_sentences) {
    if (encode(o, text, len, &ids, &n)) return -1;
    if (n <= limit) return add_segment(w, ids, n, NULL, 0);
    free(ids);
  }
  size_t count = text_split_sentences(text, len, NULL, 0);
  text_span *spans = malloc(sizeof *spans * (count ? count : 1));
  if (!spans) return -1;
  text_split_sentences(text, len, spans, count);
  int32_t longest = 0, cut = 0;
  for (size_t i = 0; i < count; i++) {
    if (encode(o, text + spans[i].start, spans[i].len, &ids, &n)) {
      free(spans);
      return -1;
    }
    if (n > longest) longest = n;
    int pieces = add_pieces(w, ids, n, limit);
    if (pieces < 0) {
      free(spans);
      return -1;
    }
    if (pieces > 1) cut++;
  }
  free(spans);
  if (!o->split_sentences && count > 1)
    warn(o, number, "longer than %d tokens: its %zu sentences are translated separately", limit, count);
  if (cut)
    warn(o, number, "%d sentence(s) longer than %d tokens (longest %d): cut into pieces at the token limit", cut,
         limit, longest);
  return 0;
}

/* Forced decoding: the line and its target form one segment, each side truncated to what the model accepts. */
static int add_pair(const doc_options *o, window *w, int64_t number, const char *src, size_t src_n, const char *tgt,
                    size_t tgt_n, int32_t max_tgt) {
  int32_t *s = NULL, *t = NULL, ns = 0, nt = 0;
  if (!text_blank(src, src_n) && encode(o, src, src_n, &s, &ns)) return -1;
  if (!text_blank(tgt, tgt_n) && encode(o, tgt, tgt_n, &t, &nt)) {
    free(s);
    return -1;
  }
  if (ns > o->max_input) {
    warn(o, number, "source has %d tokens, more than %d: truncated for scoring", ns, o->max_input);
    ns = o->max_input;
  }
  if (nt > max_tgt) {
    warn(o, number, "target has %d tokens, more than %d: truncated for scoring", nt, max_tgt);
    nt = max_tgt;
  }
  return add_segment(w, s, ns, t, nt);
}

/* ---- reading -------------------------------------------------------------------------------------------------- */

typedef struct {
  xlat_lines *in, *tgt;
  char *buf, *buf2;
  size_t cap, cap2;
  int64_t number; /* lines read */
} reader;

/* Cleans line number of the file name into *buf (grown as needed); returns its length or -1. */
static long clean(const doc_options *o, const char *name, int64_t number, const char *line, size_t len, char **buf,
                  size_t *cap) {
  if (3 * len + 1 > *cap) {
    size_t c = 3 * len + 1 > 2 * *cap ? 3 * len + 1 : 2 * *cap;
    char *p = realloc(*buf, c);
    if (!p) return -1;
    *buf = p;
    *cap = c;
  }
  size_t bad = 0, n = text_sanitize(line, len, *buf, &bad);
  if (bad) warn(o, number, "%zu invalid UTF-8 byte(s) in %s replaced by U+FFFD", bad, name);
  return (long)n;
}

/* Reads up to o->window lines into w. Returns 1 when lines were read, 0 at the end of the input, -1 on failure. */
static int read_window(const doc_options *o, reader *r, window *w, int32_t max_tgt) {
  window_clear(w);
  while (w->n_lines < o->window) {
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
    long n = clean(o, o->input ? o->input : "standard input", number, line, len, &r->buf, &r->cap);
    if (n < 0 || add_line(w, number)) {
      fprintf(stderr, "xlat-decode: out of memory at line %lld\n", (long long)number + 1);
      return -1;
    }
    int rc;
    if (r->tgt) {
      long tn = clean(o, o->score_path, number, tline, tlen, &r->buf2, &r->cap2);
      rc = tn < 0 ? -1 : add_pair(o, w, number, r->buf, (size_t)n, r->buf2, (size_t)tn, max_tgt);
    } else {
      rc = add_text(o, w, number, r->buf, (size_t)n);
    }
    if (rc) {
      fprintf(stderr, "xlat-decode: cannot prepare line %lld (out of memory or encoding failure)\n",
              (long long)number + 1);
      return -1;
    }
  }
  return w->n_lines > 0;
}

/* ---- workers -------------------------------------------------------------------------------------------------- */

static int set_error(shared *sh, const char *msg) {
  pthread_mutex_lock(&sh->mu);
  if (!sh->failed) snprintf(sh->error, sizeof sh->error, "%s", msg);
  sh->failed = 1;
  pthread_mutex_unlock(&sh->mu);
  return -1;
}

/* Copies the library's result of one segment into the window, detokenized. */
static int keep_result(const doc_options *o, const xlat_translation *tr, seg_result *res) {
  res->hyps = calloc((size_t)tr->n, sizeof *res->hyps);
  if (!res->hyps) return -1;
  res->n = tr->n;
  for (int32_t k = 0; k < tr->n; k++) {
    const xlat_hypothesis *h = &tr->hyps[k];
    seg_hyp *d = &res->hyps[k];
    char *text = NULL;
    if (xlat_spm_decode_ids(o->spm, h->ids, (size_t)h->len, &text) != 0) return -1;
    size_t tl = strlen(text);
    d->text = malloc(3 * tl + 1);
    d->ids = malloc(sizeof(int32_t) * (size_t)(h->len ? h->len : 1));
    if (h->align) d->align = malloc(sizeof(int32_t) * (size_t)(h->len ? h->len : 1));
    if (!d->text || !d->ids || (h->align && !d->align)) {
      free(text);
      return -1;
    }
    text_sanitize(text, tl, d->text, NULL); /* a translation is one line of valid UTF-8 */
    free(text);
    memcpy(d->ids, h->ids, sizeof(int32_t) * (size_t)h->len);
    if (h->align) memcpy(d->align, h->align, sizeof(int32_t) * (size_t)h->len);
    d->len = h->len;
    d->score = h->score;
    d->logprob = h->logprob;
  }
  return 0;
}

static int run_job(worker *wk, const job *j) {
  const doc_options *o = wk->sh->o;
  window *w = j->w;
  const int32_t **src = malloc(sizeof *src * (size_t)j->n), **tgt = malloc(sizeof *tgt * (size_t)j->n);
  int32_t *src_len = malloc(sizeof *src_len * (size_t)j->n), *tgt_len = malloc(sizeof *tgt_len * (size_t)j->n);
  float *score = malloc(sizeof *score * (size_t)j->n), *logprob = malloc(sizeof *logprob * (size_t)j->n);
  int rc = 0;
  if (!src || !tgt || !src_len || !tgt_len || !score || !logprob) {
    rc = set_error(wk->sh, "out of memory");
    goto done;
  }
  for (int32_t k = 0; k < j->n; k++) {
    segment *s = &w->segs[w->order[j->first + k]];
    src[k] = s->src, src_len[k] = s->src_len, tgt[k] = s->tgt, tgt_len[k] = s->tgt_len;
  }
  if (o->score_path) {
    if (xlat_beam_score(wk->beam, j->n, src, src_len, tgt, tgt_len, logprob, score) != XLAT_OK) {
      rc = set_error(wk->sh, xlat_last_error());
      goto done;
    }
    for (int32_t k = 0; k < j->n; k++) {
      segment *s = &w->segs[w->order[j->first + k]];
      s->score = score[k], s->logprob = logprob[k];
    }
  } else {
    const xlat_translation *tr;
    if (xlat_beam_translate(wk->beam, j->n, src, src_len, &tr) != XLAT_OK) {
      rc = set_error(wk->sh, xlat_last_error());
      goto done;
    }
    for (int32_t k = 0; k < j->n; k++)
      if (keep_result(o, &tr[k], &w->res[w->order[j->first + k]])) {
        rc = set_error(wk->sh, "out of memory or a decoding failure while keeping a translation");
        goto done;
      }
  }
done:
  free(src), free(tgt), free(src_len), free(tgt_len), free(score), free(logprob);
  return rc;
}

static void *worker_main(void *arg) {
  worker *wk = arg;
  shared *sh = wk->sh;
  for (;;) {
    pthread_mutex_lock(&sh->mu);
    while (sh->head == sh->tail && !sh->closing) pthread_cond_wait(&sh->work, &sh->mu);
    if (sh->head == sh->tail) {
      pthread_mutex_unlock(&sh->mu);
      return NULL;
    }
    job j = sh->queue[sh->head++];
    int skip = sh->failed;
    pthread_mutex_unlock(&sh->mu);
    if (!skip) run_job(wk, &j);
    pthread_mutex_lock(&sh->mu);
    if (--j.w->pending == 0) pthread_cond_broadcast(&sh->done);
    pthread_mutex_unlock(&sh->mu);
  }
}

static int cmp_key(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* Sorts the window's segments by length (ties in input order) and queues its mini-batches. */
static int enqueue(shared *sh, window *w) {
  const doc_options *o = sh->o;
  uint64_t *key = malloc(sizeof *key * (size_t)(w->n_segs ? w->n_segs : 1));
  if (!key) return -1;
  for (int32_t i = 0; i < w->n_segs; i++) key[i] = (uint64_t)w->segs[i].src_len << 32 | (uint32_t)i;
  qsort(key, (size_t)w->n_segs, sizeof *key, cmp_key);
  for (int32_t i = 0; i < w->n_segs; i++) w->order[i] = (int32_t)(key[i] & 0xFFFFFFFFu);
  free(key);
  pthread_mutex_lock(&sh->mu);
  if (sh->head > 0) { /* keeps the queue short over a long input */
    memmove(sh->queue, sh->queue + sh->head, sizeof *sh->queue * (sh->tail - sh->head));
    sh->tail -= sh->head;
    sh->head = 0;
  }
  for (int32_t first = 0; first < w->n_segs;) {
    int32_t n = 0, longest = 0;
    while (first + n < w->n_segs && n < o->batch_size) {
      int32_t len = w->segs[w->order[first + n]].src_len;
      if (n > 0 && (int64_t)(n + 1) * (len > longest ? len : longest) > o->batch_tokens) break;
      if (len > longest) longest = len;
      n++;
    }
    if (sh->tail == sh->cap) {
      size_t cap = sh->cap ? 2 * sh->cap : 64;
      job *q = realloc(sh->queue, sizeof *q * cap);
      if (!q) {
        pthread_mutex_unlock(&sh->mu);
        return -1;
      }
      sh->queue = q;
      sh->cap = cap;
    }
    sh->queue[sh->tail++] = (job){w, first, n};
    w->pending++;
    first += n;
  }
  pthread_cond_broadcast(&sh->work);
  pthread_mutex_unlock(&sh->mu);
  return 0;
}

/* Waits until every mini-batch of w is translated; returns -1 when a worker failed. */
static int wait_window(shared *sh, window *w) {
  pthread_mutex_lock(&sh->mu);
  while (w->pending > 0) pthread_cond_wait(&sh->done, &sh->mu);
  int failed = sh->failed;
  pthread_mutex_unlock(&sh->mu);
  return failed ? -1 : 0;
}

static int write_window(const doc_options *o, FILE *f, const window *w) {
  errno = 0;
  for (int32_t i = 0; i < w->n_lines; i++) {
    const line_info *l = &w->lines[i];
    int rc;
    if (o->score_path) {
      const segment *s = &w->segs[l->first];
      rc = out_score(f, o->format, l->number, s->score, s->logprob, s->tgt_len);
    } else {
      rc = out_line(f, o->format, l->number, w->res + l->first, l->count, o->beam.n_best);
    }
    if (rc) return -1;
  }
  return fflush(f) == 0 ? 0 : -1;
}

/* Copies the first segment of w's first line with text, and its best translation or its scored target, into
 * o->first. Returns 0, or -1 when out of memory. */
static int keep_first(const doc_options *o, const window *w) {
  for (int32_t i = 0; i < w->n_lines; i++) {
    const line_info *l = &w->lines[i];
    const segment *s = &w->segs[l->first];
    const seg_result *r = &w->res[l->first];
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

/* ---- the whole document --------------------------------------------------------------------------------------- */

/* Under mpirun the windows are dealt out in turn (window k to rank k % ranks); every rank reads the whole input,
 * translates its own windows and sends their formatted output to rank 0, which writes every window in input order. */

/* Formats window w in memory and sends it to rank 0. */
static int send_window(const doc_options *o, const window *w) {
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
  shared sh;
  memset(&sh, 0, sizeof sh);
  sh.o = o;
  pthread_mutex_init(&sh.mu, NULL);
  pthread_cond_init(&sh.work, NULL);
  pthread_cond_init(&sh.done, NULL);
  reader rd;
  memset(&rd, 0, sizeof rd);
  out_file out;
  memset(&out, 0, sizeof out);
  worker *wk = calloc((size_t)o->threads, sizeof *wk);
  window *cur = calloc(1, sizeof *cur), *prev = calloc(1, sizeof *prev);
  int rc = 1, have_prev = 0, opened = 0;
  if (!wk || !cur || !prev) {
    fprintf(stderr, "xlat-decode: out of memory\n");
    goto done;
  }
  if (xlat_lines_open(o->input ? o->input : "-", &rd.in) != XLAT_OK ||
      (o->score_path && xlat_lines_open(o->score_path, &rd.tgt) != XLAT_OK)) {
    fprintf(stderr, "xlat-decode: %s\n", xlat_last_error());
    goto done;
  }
  int ranks = xlat_dist_size(), me = xlat_dist_rank();
  if (me == 0) {
    if (out_open(&out, o->output)) goto done;
    opened = 1;
  }
  xlat_set_threads(1); /* parallelism comes from the workers, one BLAS thread each */
  for (int32_t t = 0; t < o->threads; t++) {
    wk[t].sh = &sh;
    if (xlat_beam_new(o->models, o->n_models, &o->beam, &wk[t].beam) != XLAT_OK) {
      fprintf(stderr, "xlat-decode: %s\n", xlat_last_error());
      goto done;
    }
    if (pthread_create(&wk[t].tid, NULL, worker_main, &wk[t]) != 0) {
      fprintf(stderr, "xlat-decode: cannot start worker thread %d\n", t);
      goto done;
    }
    wk[t].started = 1;
  }
  int32_t max_tgt = xlat_beam_max_source(wk[0].beam) - 1;
  const char *out_name = o->output ? o->output : "standard output";
  int64_t index = 0, prev_owner = 0; /* of the window in cur; of the one in prev */
  for (;;) {
    int got = read_window(o, &rd, cur, max_tgt);
    if (got < 0) goto done;
    int owner = (int)(index % ranks);
    if (got > 0 && owner == me && enqueue(&sh, cur)) {
      fprintf(stderr, "xlat-decode: out of memory\n");
      goto done;
    }
    if (have_prev && prev_owner == me) {
      if (wait_window(&sh, prev)) {
        fprintf(stderr, "xlat-decode: %s\n", sh.error);
        goto done;
      }
      if (o->first && index == 1 && keep_first(o, prev)) { /* prev is window index - 1 */
        fprintf(stderr, "xlat-decode: out of memory\n");
        goto done;
      }
      if (me != 0 ? send_window(o, prev) : write_window(o, out.f, prev)) {
        if (me == 0) fprintf(stderr, "xlat-decode: cannot write %s: %s\n", out_name, strerror(errno ? errno : EIO));
        goto done;
      }
    } else if (have_prev && me == 0 && receive_window((int)prev_owner, out.f, out_name)) {
      goto done;
    }
    if (got == 0) break;
    window *t = prev;
    prev = cur, cur = t;
    have_prev = 1;
    prev_owner = owner;
    index++;
  }
  rc = me == 0 && out_commit(&out) ? 1 : 0;
  opened = 0;
done:
  pthread_mutex_lock(&sh.mu);
  sh.closing = 1;
  sh.failed |= rc != 0; /* workers skip what is left */
  pthread_cond_broadcast(&sh.work);
  pthread_mutex_unlock(&sh.mu);
  for (int32_t t = 0; wk && t < o->threads; t++) {
    if (wk[t].started) pthread_join(wk[t].tid, NULL);
    xlat_beam_free(wk[t].beam);
  }
  if (opened) out_abort(&out);
  xlat_lines_close(rd.in);
  xlat_lines_close(rd.tgt);
  free(rd.buf);
  free(rd.buf2);
  window_free(cur);
  window_free(prev);
  free(wk);
  free(sh.queue);
  pthread_mutex_destroy(&sh.mu);
  pthread_cond_destroy(&sh.work);
  pthread_cond_destroy(&sh.done);
  return rc;
}

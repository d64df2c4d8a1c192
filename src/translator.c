/* translator.c - texts in, translations out, for many callers at once: cleaning and cutting texts into segments,
 * a queue of length-sorted mini-batches, worker threads that merge neighbouring mini-batches (see translator.h). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xlat.h"

/* A mini-batch: segments t->order[first .. first + n). */
typedef struct {
  xlat_texts *t;
  int32_t first, n;
} job;

typedef struct {
  xlat_translator *tr;
  xlat_beam *beam;
  pthread_t tid;
  int started;
  job *jobs;                    /* (batch_size) the mini-batches taken together */
  const int32_t **src, **tgt;   /* (batch_size) */
  int32_t *src_len, *tgt_len;   /* (batch_size) */
  float *score, *logprob;       /* (batch_size) */
} worker;

struct xlat_translator {
  xlat_translator_options o;
  pthread_mutex_t mu;
  pthread_cond_t work, done; /* done: some set finished (waiters check their own) */
  job *queue;
  size_t head, tail, cap;    /* queue[head..tail) waits */
  int64_t queued;            /* segments in the queue */
  int closing;
  worker *wk;
  int32_t max_tgt;
};

void xlat_translator_options_default(xlat_translator_options *o) {
  memset(o, 0, sizeof *o);
  xlat_beam_options_default(&o->beam);
  o->threads = 2;
  o->batch_size = 32;
  o->batch_tokens = 2048;
  o->max_input = 512;
}

int32_t xlat_translator_max_target(const xlat_translator *tr) { return tr->max_tgt; }

const xlat_translator_options *xlat_translator_options_of(const xlat_translator *tr) { return &tr->o; }

/* ---- sets of texts -------------------------------------------------------------------------------------------- */

xlat_status xlat_texts_new(int32_t scoring, xlat_texts **out) {
  *out = calloc(1, sizeof **out);
  if (!*out) return xlat_fail(XLAT_ERR_NOMEM, "out of memory");
  (*out)->scoring = scoring;
  return XLAT_OK;
}

void xlat_texts_clear(xlat_texts *t) {
  for (int32_t i = 0; i < t->n_segs; i++) {
    free(t->segs[i].src);
    free(t->segs[i].tgt);
    for (int32_t k = 0; k < t->res[i].n; k++) {
      free(t->res[i].hyps[k].text);
      free(t->res[i].hyps[k].ids);
      free(t->res[i].hyps[k].align);
    }
    free(t->res[i].hyps);
  }
  t->n_texts = t->n_segs = 0;
  t->failed = XLAT_OK;
  t->error[0] = '\0';
}

static void texts_destroy(xlat_texts *t) {
  xlat_texts_clear(t);
  free(t->texts);
  free(t->segs);
  free(t->res);
  free(t->order);
  free(t);
}

void xlat_texts_free(xlat_texts *t) {
  if (!t) return;
  xlat_translator *tr = t->owner;
  if (tr) {
    pthread_mutex_lock(&tr->mu);
    int pending = t->pending > 0;
    if (pending) t->abandoned = 1;
    pthread_mutex_unlock(&tr->mu);
    if (pending) return; /* the worker finishing its last mini-batch frees it */
  }
  texts_destroy(t);
}

static xlat_status add_info(xlat_texts *t, int64_t number) {
  if (t->n_texts == t->cap_texts) {
    int32_t cap = t->cap_texts ? 2 * t->cap_texts : 64;
    xlat_text_info *p = realloc(t->texts, sizeof *p * (size_t)cap);
    if (!p) return xlat_fail(XLAT_ERR_NOMEM, "out of memory");
    t->texts = p;
    t->cap_texts = cap;
  }
  t->texts[t->n_texts++] = (xlat_text_info){number, t->n_segs, 0};
  return XLAT_OK;
}

/* Appends a segment to the last text, taking ownership of src and tgt (freed on failure too). */
static xlat_status add_segment(xlat_texts *t, int32_t *src, int32_t src_len, int32_t *tgt, int32_t tgt_len) {
  if (t->n_segs == t->cap_segs) {
    int32_t cap = t->cap_segs ? 2 * t->cap_segs : 64;
    xlat_segment *s = realloc(t->segs, sizeof *s * (size_t)cap);
    if (s) t->segs = s;
    xlat_seg_result *r = s ? realloc(t->res, sizeof *r * (size_t)cap) : NULL;
    if (r) t->res = r;
    int32_t *o = r ? realloc(t->order, sizeof *o * (size_t)cap) : NULL;
    if (!o) {
      free(src);
      free(tgt);
      return xlat_fail(XLAT_ERR_NOMEM, "out of memory");
    }
    t->order = o;
    t->cap_segs = cap;
  }
  t->segs[t->n_segs] = (xlat_segment){src, tgt, src_len, tgt_len, 0.0f, 0.0f};
  t->res[t->n_segs] = (xlat_seg_result){src_len, 0, NULL};
  t->n_segs++;
  t->texts[t->n_texts - 1].count++;
  return XLAT_OK;
}

/* Adds ids as segments of at most limit tokens each (taking ownership of ids); *pieces gets their number. */
static xlat_status add_pieces(xlat_texts *t, int32_t *ids, int32_t n, int32_t limit, int32_t *pieces) {
  *pieces = 1;
  if (n <= limit) return add_segment(t, ids, n, NULL, 0);
  *pieces = 0;
  for (int32_t at = 0; at < n; at += limit, ++*pieces) {
    int32_t len = n - at < limit ? n - at : limit;
    int32_t *p = malloc(sizeof *p * (size_t)len);
    if (!p) {
      free(ids);
      return xlat_fail(XLAT_ERR_NOMEM, "out of memory");
    }
    memcpy(p, ids + at, sizeof *p * (size_t)len);
    if (add_segment(t, p, len, NULL, 0) != XLAT_OK) {
      free(ids);
      return XLAT_ERR_NOMEM;
    }
  }
  free(ids);
  return XLAT_OK;
}

/* Encodes a source text (target 0) or a target text to score (target 1). */
static xlat_status encode(const xlat_translator *tr, int target, const char *text, size_t len, int32_t **ids,
                          int32_t *n) {
  size_t count = 0;
  *ids = NULL;
  *n = 0;
  if (xlat_text_blank(text, len)) return XLAT_OK;
  if (xlat_spm_encode_ids(target ? tr->o.tgt_spm : tr->o.src_spm, text, len, ids, &count) != 0)
    return xlat_fail(XLAT_ERR_FORMAT, "cannot encode text: %s", xlat_spm_last_error());
  *n = (int32_t)count;
  return XLAT_OK;
}

/* Cleans len bytes of text into a new buffer (*out, NUL-terminated); returns its length, or -1 when out of memory. */
static long clean(const char *text, size_t len, char **out, size_t *invalid) {
  *out = malloc(3 * len + 1);
  if (!*out) return -1;
  size_t bad = 0, n = xlat_text_sanitize(text, len, *out, &bad);
  if (invalid) *invalid += bad;
  return (long)n;
}

/* Segments of a cleaned text: its sentences with split_sentences; otherwise the whole text, unless it is longer than
 * max_input tokens, then its sentences; anything still too long is cut into max_input-token pieces. */
static xlat_status add_segments(xlat_translator *tr, xlat_texts *t, const char *text, size_t len,
                                xlat_text_note *note) {
  if (xlat_text_blank(text, len)) return XLAT_OK;
  int32_t *ids, n, limit = tr->o.max_input;
  xlat_status st;
  if (!tr->o.split_sentences) {
    if ((st = encode(tr, 0, text, len, &ids, &n)) != XLAT_OK) return st;
    if (n <= limit) return add_segment(t, ids, n, NULL, 0);
    free(ids);
  }
  size_t count = xlat_text_split_sentences(text, len, NULL, 0);
  xlat_text_span *spans = malloc(sizeof *spans * (count ? count : 1));
  if (!spans) return xlat_fail(XLAT_ERR_NOMEM, "out of memory");
  xlat_text_split_sentences(text, len, spans, count);
  st = XLAT_OK;
  for (size_t i = 0; i < count && st == XLAT_OK; i++) {
    int32_t pieces = 0;
    st = encode(tr, 0, text + spans[i].start, spans[i].len, &ids, &n);
    if (st == XLAT_OK) st = add_pieces(t, ids, n, limit, &pieces);
    if (n > note->longest) note->longest = n;
    if (pieces > 1) note->cut++;
  }
  free(spans);
  if (!tr->o.split_sentences && count > 1) note->split = (int32_t)count;
  return st;
}

xlat_status xlat_texts_add(xlat_translator *tr, xlat_texts *t, int64_t number, const char *text, size_t len,
                           xlat_text_note *note) {
  xlat_text_note scratch;
  if (!note) note = &scratch;
  memset(note, 0, sizeof *note);
  char *buf;
  long n = clean(text, len, &buf, &note->invalid);
  if (n < 0 || add_info(t, number) != XLAT_OK) {
    free(buf);
    return xlat_fail(XLAT_ERR_NOMEM, "out of memory");
  }
  xlat_status st = add_segments(tr, t, buf, (size_t)n, note);
  free(buf);
  return st;
}

xlat_status xlat_texts_add_pair(xlat_translator *tr, xlat_texts *t, int64_t number, const char *src, size_t src_len,
                                const char *tgt, size_t tgt_len, xlat_text_note *note) {
  xlat_text_note scratch;
  if (!note) note = &scratch;
  memset(note, 0, sizeof *note);
  char *sb = NULL, *tb = NULL;
  int32_t *s = NULL, *g = NULL, ns = 0, ng = 0;
  long sn = clean(src, src_len, &sb, &note->invalid), tn = sn < 0 ? -1 : clean(tgt, tgt_len, &tb, &note->tgt_invalid);
  xlat_status st = sn < 0 || tn < 0 ? xlat_fail(XLAT_ERR_NOMEM, "out of memory") : add_info(t, number);
  if (st == XLAT_OK) st = encode(tr, 0, sb, (size_t)sn, &s, &ns);
  if (st == XLAT_OK) st = encode(tr, 1, tb, (size_t)tn, &g, &ng);
  free(sb);
  free(tb);
  if (st != XLAT_OK) {
    free(s);
    free(g);
    return st;
  }
  if (ns > tr->o.max_input) note->src_truncated = ns, ns = tr->o.max_input;
  if (ng > tr->max_tgt) note->tgt_truncated = ng, ng = tr->max_tgt;
  return add_segment(t, s, ns, g, ng);
}

/* ---- workers -------------------------------------------------------------------------------------------------- */

/* Copies the library's result of one segment into res, detokenized. */
static xlat_status keep_result(const xlat_translator *tr, const xlat_translation *x, xlat_seg_result *res) {
  res->hyps = calloc((size_t)x->n, sizeof *res->hyps);
  if (!res->hyps) return xlat_fail(XLAT_ERR_NOMEM, "out of memory");
  res->n = x->n;
  for (int32_t k = 0; k < x->n; k++) {
    const xlat_hypothesis *h = &x->hyps[k];
    xlat_seg_hyp *d = &res->hyps[k];
    char *text = NULL;
    if (xlat_spm_decode_ids(tr->o.tgt_spm, h->ids, (size_t)h->len, &text) != 0)
      return xlat_fail(XLAT_ERR_FORMAT, "cannot decode a translation: %s", xlat_spm_last_error());
    size_t tl = strlen(text);
    d->text = malloc(3 * tl + 1);
    d->ids = malloc(sizeof(int32_t) * (size_t)(h->len ? h->len : 1));
    if (h->align) d->align = malloc(sizeof(int32_t) * (size_t)(h->len ? h->len : 1));
    if (!d->text || !d->ids || (h->align && !d->align)) {
      free(text);
      return xlat_fail(XLAT_ERR_NOMEM, "out of memory");
    }
    xlat_text_sanitize(text, tl, d->text, NULL); /* a translation is one line of valid UTF-8 */
    free(text);
    memcpy(d->ids, h->ids, sizeof(int32_t) * (size_t)h->len);
    if (h->align) memcpy(d->align, h->align, sizeof(int32_t) * (size_t)h->len);
    d->len = h->len;
    d->score = h->score;
    d->logprob = h->logprob;
  }
  return XLAT_OK;
}

/* Translates (or scores) the segments of jobs[0..n_jobs), all of one kind, as one batch. */
static xlat_status run_batch(worker *wk, const job *jobs, int32_t n_jobs) {
  int32_t n = 0;
  for (int32_t j = 0; j < n_jobs; j++)
    for (int32_t k = 0; k < jobs[j].n; k++, n++) {
      const xlat_segment *s = &jobs[j].t->segs[jobs[j].t->order[jobs[j].first + k]];
      wk->src[n] = s->src, wk->src_len[n] = s->src_len, wk->tgt[n] = s->tgt, wk->tgt_len[n] = s->tgt_len;
    }
  xlat_status st;
  if (jobs[0].t->scoring) {
    st = xlat_beam_score(wk->beam, n, wk->src, wk->src_len, wk->tgt, wk->tgt_len, wk->logprob, wk->score);
    for (int32_t j = 0, i = 0; st == XLAT_OK && j < n_jobs; j++)
      for (int32_t k = 0; k < jobs[j].n; k++, i++) {
        xlat_segment *s = &jobs[j].t->segs[jobs[j].t->order[jobs[j].first + k]];
        s->score = wk->score[i], s->logprob = wk->logprob[i];
      }
    return st;
  }
  const xlat_translation *x;
  st = xlat_beam_translate(wk->beam, n, wk->src, wk->src_len, &x);
  for (int32_t j = 0, i = 0; st == XLAT_OK && j < n_jobs; j++)
    for (int32_t k = 0; st == XLAT_OK && k < jobs[j].n; k++, i++)
      st = keep_result(wk->tr, &x[i], &jobs[j].t->res[jobs[j].t->order[jobs[j].first + k]]);
  return st;
}

/* Under the lock: takes the job at the head of the queue and those after it of the same kind while the merged
 * batch fits batch_size and batch_tokens (a job's longest segment is its last: sets are sorted). */
static int32_t take_jobs(xlat_translator *tr, job *jobs) {
  int32_t n_jobs = 0, n = 0, longest = 0;
  while (tr->head < tr->tail) {
    const job *j = &tr->queue[tr->head];
    int32_t len = j->t->segs[j->t->order[j->first + j->n - 1]].src_len;
    int32_t wide = len > longest ? len : longest;
    if (n_jobs > 0 && (j->t->scoring != jobs[0].t->scoring || n + j->n > tr->o.batch_size ||
                       (int64_t)(n + j->n) * wide > tr->o.batch_tokens))
      break;
    jobs[n_jobs++] = *j;
    n += j->n;
    longest = wide;
    tr->head++;
  }
  tr->queued -= n;
  return n_jobs;
}

static void *worker_main(void *arg) {
  worker *wk = arg;
  xlat_translator *tr = wk->tr;
  for (;;) {
    pthread_mutex_lock(&tr->mu);
    while (tr->head == tr->tail && !tr->closing) pthread_cond_wait(&tr->work, &tr->mu);
    if (tr->head == tr->tail) {
      pthread_mutex_unlock(&tr->mu);
      return NULL;
    }
    int32_t n_jobs = take_jobs(tr, wk->jobs);
    /* a batch is run unless every one of its sets failed or was abandoned, or the translator is stopping */
    int run = 0;
    for (int32_t j = 0; j < n_jobs; j++) run |= !wk->jobs[j].t->abandoned && wk->jobs[j].t->failed == XLAT_OK;
    run &= !tr->closing;
    pthread_mutex_unlock(&tr->mu);
    xlat_status st = run ? run_batch(wk, wk->jobs, n_jobs) : XLAT_OK;
    const char *why = st != XLAT_OK ? xlat_last_error() : tr->closing && !run ? "translator stopped" : NULL;
    pthread_mutex_lock(&tr->mu);
    int finished = 0;
    for (int32_t j = 0; j < n_jobs; j++) {
      xlat_texts *t = wk->jobs[j].t;
      if (why && t->failed == XLAT_OK) {
        t->failed = st != XLAT_OK ? st : XLAT_ERR_ARG;
        snprintf(t->error, sizeof t->error, "%s", why);
      }
      if (--t->pending > 0) continue;
      if (t->abandoned)
        texts_destroy(t); /* its caller has gone (timeout); this was its last mini-batch, so no later job names it */
      else
        finished = 1;
    }
    if (finished) pthread_cond_broadcast(&tr->done);
    pthread_mutex_unlock(&tr->mu);
  }
}

static int cmp_key(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

xlat_status xlat_translator_submit(xlat_translator *tr, xlat_texts *t) {
  uint64_t *key = malloc(sizeof *key * (size_t)(t->n_segs ? t->n_segs : 1));
  if (!key) return xlat_fail(XLAT_ERR_NOMEM, "out of memory");
  for (int32_t i = 0; i < t->n_segs; i++) key[i] = (uint64_t)t->segs[i].src_len << 32 | (uint32_t)i;
  qsort(key, (size_t)t->n_segs, sizeof *key, cmp_key);
  for (int32_t i = 0; i < t->n_segs; i++) t->order[i] = (int32_t)(key[i] & 0xFFFFFFFFu);
  free(key);
  t->owner = tr;
  t->failed = XLAT_OK;
  pthread_mutex_lock(&tr->mu);
  if (tr->o.max_queued > 0 && tr->queued + t->n_segs > tr->o.max_queued) {
    pthread_mutex_unlock(&tr->mu);
    return xlat_fail(XLAT_ERR_BUSY, "the queue is full (%lld segments waiting, at most %d)", (long long)tr->queued,
                     tr->o.max_queued);
  }
  if (tr->head > 0) { /* keeps the queue short over a long run */
    memmove(tr->queue, tr->queue + tr->head, sizeof *tr->queue * (tr->tail - tr->head));
    tr->tail -= tr->head;
    tr->head = 0;
  }
  xlat_status st = XLAT_OK;
  for (int32_t first = 0; first < t->n_segs;) {
    int32_t n = 0, longest = 0;
    while (first + n < t->n_segs && n < tr->o.batch_size) {
      int32_t len = t->segs[t->order[first + n]].src_len;
      if (n > 0 && (int64_t)(n + 1) * (len > longest ? len : longest) > tr->o.batch_tokens) break;
      if (len > longest) longest = len;
      n++;
    }
    if (tr->tail == tr->cap) {
      size_t cap = tr->cap ? 2 * tr->cap : 64;
      job *q = realloc(tr->queue, sizeof *q * cap);
      if (!q) {
        st = xlat_fail(XLAT_ERR_NOMEM, "out of memory"); /* what was queued is translated; the set fails */
        t->failed = st;
        snprintf(t->error, sizeof t->error, "out of memory");
        break;
      }
      tr->queue = q;
      tr->cap = cap;
    }
    tr->queue[tr->tail++] = (job){t, first, n};
    tr->queued += n;
    t->pending++;
    first += n;
  }
  pthread_cond_broadcast(&tr->work);
  pthread_mutex_unlock(&tr->mu);
  return st;
}

xlat_status xlat_texts_wait(xlat_translator *tr, xlat_texts *t, double timeout_s) {
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  if (timeout_s >= 0) {
    double s = (double)until.tv_sec + until.tv_nsec * 1e-9 + timeout_s;
    until.tv_sec = (time_t)s;
    until.tv_nsec = (long)((s - (double)until.tv_sec) * 1e9);
  }
  pthread_mutex_lock(&tr->mu);
  int timed_out = 0;
  while (t->pending > 0 && !timed_out) {
    if (timeout_s < 0)
      pthread_cond_wait(&tr->done, &tr->mu);
    else
      timed_out = pthread_cond_timedwait(&tr->done, &tr->mu, &until) == ETIMEDOUT && t->pending > 0;
  }
  xlat_status st = t->failed;
  pthread_mutex_unlock(&tr->mu);
  if (timed_out) return xlat_fail(XLAT_ERR_TIMEOUT, "not translated within %.3g s", timeout_s);
  return st == XLAT_OK ? XLAT_OK : xlat_fail(st, "%s", t->error);
}

/* ---- the translator ------------------------------------------------------------------------------------------- */

static void worker_free(worker *wk) {
  xlat_beam_free(wk->beam);
  free(wk->jobs);
  free(wk->src), free(wk->tgt), free(wk->src_len), free(wk->tgt_len), free(wk->score), free(wk->logprob);
}

xlat_status xlat_translator_new(const xlat_translator_options *o, xlat_translator **out) {
  *out = NULL;
  if (o->n_models < 1 || !o->models || !o->src_spm || !o->tgt_spm || o->threads < 1 || o->batch_size < 1 ||
      o->batch_tokens < 1 || o->max_input < 1 || o->max_queued < 0)
    return xlat_fail(XLAT_ERR_ARG, "translator options out of range");
  xlat_translator *tr = calloc(1, sizeof *tr);
  if (!tr) return xlat_fail(XLAT_ERR_NOMEM, "out of memory");
  tr->o = *o;
  pthread_mutex_init(&tr->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* deadlines do not move with the wall clock */
  pthread_cond_init(&tr->done, &ca);
  pthread_condattr_destroy(&ca);
  pthread_cond_init(&tr->work, NULL);
  tr->wk = calloc((size_t)o->threads, sizeof *tr->wk);
  if (!tr->wk) {
    xlat_translator_free(tr);
    return xlat_fail(XLAT_ERR_NOMEM, "out of memory");
  }
  xlat_set_threads(1); /* parallelism comes from the workers */
  size_t b = (size_t)o->batch_size;
  for (int32_t i = 0; i < o->threads; i++) {
    worker *wk = &tr->wk[i];
    wk->tr = tr;
    wk->jobs = malloc(sizeof *wk->jobs * b);
    wk->src = malloc(sizeof *wk->src * b), wk->tgt = malloc(sizeof *wk->tgt * b);
    wk->src_len = malloc(sizeof *wk->src_len * b), wk->tgt_len = malloc(sizeof *wk->tgt_len * b);
    wk->score = malloc(sizeof *wk->score * b), wk->logprob = malloc(sizeof *wk->logprob * b);
    xlat_status st = !wk->jobs || !wk->src || !wk->tgt || !wk->src_len || !wk->tgt_len || !wk->score || !wk->logprob
                         ? xlat_fail(XLAT_ERR_NOMEM, "out of memory")
                         : xlat_beam_new(o->models, o->n_models, &o->beam, &wk->beam);
    if (st == XLAT_OK && pthread_create(&wk->tid, NULL, worker_main, wk) != 0)
      st = xlat_fail(XLAT_ERR_NOMEM, "cannot start worker thread %d", i);
    if (st != XLAT_OK) {
      xlat_translator_free(tr);
      return st;
    }
    wk->started = 1;
  }
  tr->max_tgt = xlat_beam_max_source(tr->wk[0].beam) - 1;
  if (tr->o.max_input > xlat_beam_max_source(tr->wk[0].beam)) tr->o.max_input = xlat_beam_max_source(tr->wk[0].beam);
  *out = tr;
  return XLAT_OK;
}

void xlat_translator_free(xlat_translator *tr) {
  if (!tr) return;
  pthread_mutex_lock(&tr->mu);
  tr->closing = 1;
  pthread_cond_broadcast(&tr->work);
  pthread_mutex_unlock(&tr->mu);
  for (int32_t i = 0; tr->wk && i < tr->o.threads; i++) {
    if (tr->wk[i].started) pthread_join(tr->wk[i].tid, NULL);
    worker_free(&tr->wk[i]);
  }
  free(tr->wk);
  free(tr->queue);
  pthread_mutex_destroy(&tr->mu);
  pthread_cond_destroy(&tr->work);
  pthread_cond_destroy(&tr->done);
  free(tr);
}

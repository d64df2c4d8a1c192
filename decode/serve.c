/* serve.c - xlat-decode --serve (serve.h): libmicrohttpd for HTTP (one thread per connection, so a request simply
 * blocks until its translation is ready), jansson for JSON, the library's translator for the work.
 */
#include "serve.h"

#include <jansson.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "attention.h"
#include "output.h"

#define MAX_BODY (1 << 20) /* bytes of a request body */

extern const unsigned char serve_page[]; /* decode/page.html, embedded by decode/CMakeLists.txt */
extern const unsigned long serve_page_len;

typedef struct {
  const doc_options *o;
  const serve_options *s;
  xlat_translator *tr;
  xlat_beam *attention; /* the first model's, for /attention; one request at a time */
  pthread_mutex_t mu;
  pthread_cond_t idle;
  int64_t active; /* requests begun and not completed */
} server;

/* One request: its body (or its form fields) as it arrives. */
typedef struct {
  char *body;
  size_t len, cap;
  int too_large;
  struct MHD_PostProcessor *form;
  char *field[4]; /* form fields q, source, target, format (malloc'ed, NUL-terminated) */
  size_t field_len[4];
} request;

static const char *const form_names[4] = {"q", "source", "target", "format"};

/* ---- responses ------------------------------------------------------------------------------------------------ */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type, char *body, size_t len) {
  struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
  if (!r) {
    free(body);
    return MHD_NO;
  }
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
  MHD_add_response_header(r, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_ORIGIN, "*"); /* browser extensions call us */
  enum MHD_Result ok = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return ok;
}

static enum MHD_Result reply_json(struct MHD_Connection *c, unsigned status, json_t *j) {
  char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
  json_decref(j);
  if (!text) return MHD_NO;
  return reply(c, status, "application/json", text, strlen(text));
}

/* {"error": message}; the message may quote the client's bytes, so it is cleaned to valid UTF-8 first. */
static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, const char *fmt, ...) {
  char raw[512], clean[3 * sizeof raw];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(raw, sizeof raw, fmt, ap);
  va_end(ap);
  xlat_text_sanitize(raw, strlen(raw), clean, NULL);
  return reply_json(c, status, json_pack("{s:s}", "error", clean));
}

/* ---- languages ------------------------------------------------------------------------------------------------ */

static const char *language_name(const char *code) {
  static const char *const names[][2] = {{"en", "English"}, {"de", "German"},  {"fr", "French"}, {"es", "Spanish"},
                                         {"it", "Italian"}, {"nl", "Dutch"},   {"cs", "Czech"},  {"ru", "Russian"},
                                         {"pt", "Portuguese"}, {"pl", "Polish"}, {"zh", "Chinese"}, {"ja", "Japanese"}};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (!strcmp(names[i][0], code)) return names[i][1];
  return code;
}

static enum MHD_Result languages(struct MHD_Connection *c, const serve_options *s) {
  json_t *list = json_pack("[{s:s,s:s,s:[s]},{s:s,s:s,s:[]}]", "code", s->source_lang, "name",
                           language_name(s->source_lang), "targets", s->target_lang, "code", s->target_lang, "name",
                           language_name(s->target_lang), "targets");
  return reply_json(c, MHD_HTTP_OK, list);
}

/* ---- requests ------------------------------------------------------------------------------------------------- */

/* What a /translate or /attention request asks, from JSON or from form fields. */
typedef struct {
  json_t *json;       /* the parsed body (owns the strings below), or NULL for a form */
  const char **q;     /* (n_q) texts */
  size_t *q_len;
  size_t n_q;
  int q_list;         /* q was a list: answer with a list */
  const char *source, *target, *format; /* NULL when absent */
} ask;

static void ask_free(ask *a) {
  json_decref(a->json);
  free(a->q);
  free(a->q_len);
}

/* Reads the request; on a client error returns a message (in msg) for a 400 answer. */
static int parse_ask(const request *rq, ask *a, char *msg, size_t cap) {
  memset(a, 0, sizeof *a);
  if (rq->form) {
    if (!rq->field[0]) return snprintf(msg, cap, "missing form field q (or send JSON as application/json)"), -1;
    a->q = malloc(sizeof *a->q);
    a->q_len = malloc(sizeof *a->q_len);
    if (!a->q || !a->q_len) return snprintf(msg, cap, "out of memory"), -1;
    a->q[0] = rq->field[0], a->q_len[0] = rq->field_len[0], a->n_q = 1;
    a->source = rq->field[1], a->target = rq->field[2], a->format = rq->field[3];
    return 0;
  }
  json_error_t err;
  a->json = json_loadb(rq->body ? rq->body : "", rq->len, JSON_REJECT_DUPLICATES, &err);
  if (!a->json)
    return snprintf(msg, cap, "body is not JSON (line %d, column %d: %s)", err.line, err.column, err.text), -1;
  if (!json_is_object(a->json)) return snprintf(msg, cap, "body: expected a JSON object"), -1;
  const char *keys[3] = {"source", "target", "format"};
  const char **dest[3] = {&a->source, &a->target, &a->format};
  for (int k = 0; k < 3; k++) {
    json_t *v = json_object_get(a->json, keys[k]);
    if (v && !json_is_string(v)) return snprintf(msg, cap, "%s: expected a string", keys[k]), -1;
    *dest[k] = v ? json_string_value(v) : NULL;
  }
  json_t *q = json_object_get(a->json, "q");
  if (!q) return snprintf(msg, cap, "missing q (the text to translate)"), -1;
  a->q_list = json_is_array(q);
  size_t n = a->q_list ? json_array_size(q) : 1;
  a->q = malloc(sizeof *a->q * (n ? n : 1));
  a->q_len = malloc(sizeof *a->q_len * (n ? n : 1));
  if (!a->q || !a->q_len) return snprintf(msg, cap, "out of memory"), -1;
  for (size_t i = 0; i < n; i++) {
    json_t *v = a->q_list ? json_array_get(q, i) : q;
    if (!json_is_string(v))
      return snprintf(msg, cap, a->q_list ? "q[%zu]: expected a string" : "q: expected a string or a list of strings",
                      i), -1;
    a->q[i] = json_string_value(v), a->q_len[i] = json_string_length(v);
  }
  a->n_q = n;
  return 0;
}

/* The languages and format asked for must be what this server offers. */
static int check_ask(const server *sv, const ask *a, int texts_only, char *msg, size_t cap) {
  const serve_options *s = sv->s;
  if (a->source && strcmp(a->source, "auto") && strcmp(a->source, s->source_lang))
    return snprintf(msg, cap, "source \"%.40s\" is not offered: this server translates %s to %s", a->source,
                    s->source_lang, s->target_lang), -1;
  if (a->target && strcmp(a->target, s->target_lang))
    return snprintf(msg, cap, "target \"%.40s\" is not offered: this server translates %s to %s", a->target,
                    s->source_lang, s->target_lang), -1;
  if (a->format && strcmp(a->format, "text") && (texts_only || strcmp(a->format, "html")))
    return snprintf(msg, cap, "format \"%.40s\": expected \"text\"%s", a->format, texts_only ? "" : " or \"html\""),
           -1;
  return 0;
}

/* Adds each line of each text of a to t; lines[i] gets text i's number of lines. */
static xlat_status add_lines(server *sv, xlat_texts *t, const ask *a, int32_t *lines) {
  int64_t number = 0;
  for (size_t i = 0; i < a->n_q; i++) {
    lines[i] = 0;
    for (size_t at = 0;;) {
      const char *p = a->q[i] + at, *nl = memchr(p, '\n', a->q_len[i] - at);
      size_t len = nl ? (size_t)(nl - p) : a->q_len[i] - at;
      size_t cut = len > 0 && p[len - 1] == '\r' ? len - 1 : len; /* CRLF text reads as LF text */
      xlat_status st = xlat_texts_add(sv->tr, t, number++, p, cut, NULL);
      if (st != XLAT_OK) return st;
      lines[i]++;
      if (!nl) break;
      at += len + 1;
    }
  }
  return XLAT_OK;
}

/* The HTTP status of a failed translation: a full queue 503, a timeout 504, anything else 500. */
static unsigned http_status(xlat_status st) {
  return st == XLAT_ERR_BUSY      ? MHD_HTTP_SERVICE_UNAVAILABLE
         : st == XLAT_ERR_TIMEOUT ? MHD_HTTP_GATEWAY_TIMEOUT
                                  : MHD_HTTP_INTERNAL_SERVER_ERROR;
}

/* Submits t and waits for it; on failure answers the client (503 full, 504 timeout, 500) and returns -1. */
static int run_texts(server *sv, struct MHD_Connection *c, xlat_texts *t, enum MHD_Result *answered) {
  xlat_status st = xlat_translator_submit(sv->tr, t);
  if (st == XLAT_OK) st = xlat_texts_wait(sv->tr, t, sv->s->timeout);
  if (st == XLAT_OK) return 0;
  *answered = reply_error(c, http_status(st), "%s", xlat_last_error());
  return -1;
}

/* The translation of text i of t, its segments joined as xlat-decode joins them (output.c). malloc'ed. */
static char *joined(const xlat_texts *t, int32_t i) {
  char *buf = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&buf, &n);
  if (!f) return NULL;
  const xlat_text_info *l = &t->texts[i];
  int bad = out_line(f, FORMAT_TEXT, l->number, t->res + l->first, l->count, 1);
  if (fclose(f) != 0 || bad) {
    free(buf);
    return NULL;
  }
  if (n > 0 && buf[n - 1] == '\n') buf[n - 1] = '\0';
  return buf;
}

/* format "html": each text is a document whose markup is kept (xlat_translate_document). Takes a. */
static enum MHD_Result translate_html(server *sv, struct MHD_Connection *c, ask *a) {
  json_t *out = a->q_list ? json_array() : NULL;
  xlat_status st = XLAT_OK;
  for (size_t i = 0; i < a->n_q && st == XLAT_OK; i++) {
    char *html = NULL;
    size_t len = 0;
    st = xlat_translate_document(sv->tr, XLAT_MARKUP_HTML, a->q[i], a->q_len[i], sv->s->timeout, &html, &len);
    json_t *v = st == XLAT_OK ? json_stringn(html, len) : NULL;
    free(html);
    if (st == XLAT_OK && !v) /* a form's bytes are not checked as JSON's are */
      st = xlat_fail(XLAT_ERR_FORMAT, "q: the document is not valid UTF-8");
    if (st == XLAT_OK && (a->q_list ? json_array_append_new(out, v) : (out = v, 0)))
      st = xlat_fail(XLAT_ERR_NOMEM, "out of memory");
  }
  ask_free(a);
  if (st != XLAT_OK) {
    json_decref(out);
    return reply_error(c, http_status(st), "%s", xlat_last_error());
  }
  return reply_json(c, MHD_HTTP_OK, json_pack("{s:o}", "translatedText", out));
}

static enum MHD_Result translate(server *sv, struct MHD_Connection *c, const request *rq) {
  char msg[512];
  ask a;
  if (rq->too_large) return reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "request body larger than %d bytes", MAX_BODY);
  if (parse_ask(rq, &a, msg, sizeof msg) || check_ask(sv, &a, 0, msg, sizeof msg)) {
    ask_free(&a);
    return reply_error(c, MHD_HTTP_BAD_REQUEST, "%s", msg);
  }
  if (a.format && !strcmp(a.format, "html")) return translate_html(sv, c, &a);
  enum MHD_Result answered = MHD_NO;
  xlat_texts *t = NULL;
  int32_t *lines = malloc(sizeof *lines * (a.n_q ? a.n_q : 1));
  json_t *out = a.q_list ? json_array() : NULL;
  if (!lines || (a.q_list && !out) || xlat_texts_new(0, &t) != XLAT_OK || add_lines(sv, t, &a, lines) != XLAT_OK) {
    answered = reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s", xlat_last_error());
    goto done;
  }
  if (run_texts(sv, c, t, &answered)) goto done;
  for (size_t i = 0, line = 0; i < a.n_q; i++) { /* lines joined back with "\n", in order */
    char *text = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&text, &n);
    for (int32_t k = 0; f && k < lines[i]; k++, line++) {
      char *one = joined(t, (int32_t)line);
      if (!one) break;
      fprintf(f, "%s%s", k ? "\n" : "", one);
      free(one);
    }
    json_t *v = f && fclose(f) == 0 ? json_stringn(text, n) : NULL;
    free(text);
    if (!v || (a.q_list ? json_array_append_new(out, v) : (out = v, 0))) {
      json_decref(v);
      answered = reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
      goto done;
    }
  }
  answered = reply_json(c, MHD_HTTP_OK, json_pack("{s:o}", "translatedText", out));
  out = NULL;
done:
  json_decref(out);
  xlat_texts_free(t); /* after a timeout: abandoned to the translator, which frees it */
  free(lines);
  ask_free(&a);
  return answered;
}

static enum MHD_Result attention(server *sv, struct MHD_Connection *c, const request *rq) {
  char msg[512];
  ask a;
  if (rq->too_large) return reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "request body larger than %d bytes", MAX_BODY);
  int bad = parse_ask(rq, &a, msg, sizeof msg) || check_ask(sv, &a, 1, msg, sizeof msg);
  if (!bad && (a.q_list || memchr(a.q[0], '\n', a.q_len[0]) || xlat_text_blank(a.q[0], a.q_len[0])))
    bad = snprintf(msg, sizeof msg, "q: expected one line of text, as a string");
  if (bad) {
    ask_free(&a);
    return reply_error(c, MHD_HTTP_BAD_REQUEST, "%s", msg);
  }
  enum MHD_Result answered = MHD_NO;
  xlat_texts *t = NULL;
  if (xlat_texts_new(0, &t) != XLAT_OK || xlat_texts_add(sv->tr, t, 0, a.q[0], a.q_len[0], NULL) != XLAT_OK) {
    answered = reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s", xlat_last_error());
    goto done;
  }
  if (run_texts(sv, c, t, &answered)) goto done;
  if (t->n_segs == 0 || t->res[0].n == 0) { /* nothing the tokenizer keeps */
    answered = reply_error(c, MHD_HTTP_BAD_REQUEST, "q: no text to translate");
    goto done;
  }
  const xlat_segment *s = &t->segs[0]; /* a long line's first sentence */
  const xlat_seg_hyp *h = &t->res[0].hyps[0];
  char *svg = NULL;
  size_t len = 0;
  pthread_mutex_lock(&sv->mu);
  xlat_status st = attention_draw(sv->attention, &sv->o->tr, s->src, s->src_len, h->ids, h->len, NULL, NULL, &svg,
                                  &len);
  pthread_mutex_unlock(&sv->mu);
  answered = st == XLAT_OK ? reply(c, MHD_HTTP_OK, "image/svg+xml", svg, len)
                           : reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s", xlat_last_error());
done:
  xlat_texts_free(t);
  ask_free(&a);
  return answered;
}

/* ---- libmicrohttpd's callbacks -------------------------------------------------------------------------------- */

static enum MHD_Result form_field(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
                                  const char *content_type, const char *encoding, const char *data, uint64_t off,
                                  size_t size) {
  (void)kind, (void)filename, (void)content_type, (void)encoding, (void)off;
  request *rq = cls;
  for (int k = 0; k < 4; k++) {
    if (strcmp(key, form_names[k])) continue;
    if (rq->field_len[k] + size > MAX_BODY) {
      rq->too_large = 1;
      return MHD_YES;
    }
    char *p = realloc(rq->field[k], rq->field_len[k] + size + 1); /* a value may come in several pieces */
    if (!p) return MHD_NO;
    memcpy(p + rq->field_len[k], data, size);
    rq->field_len[k] += size;
    p[rq->field_len[k]] = '\0';
    rq->field[k] = p;
  }
  return MHD_YES;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode why) {
  (void)c, (void)why;
  server *sv = cls;
  request *rq = *con_cls;
  if (!rq) return;
  if (rq->form) MHD_destroy_post_processor(rq->form);
  for (int k = 0; k < 4; k++) free(rq->field[k]);
  free(rq->body);
  free(rq);
  *con_cls = NULL;
  pthread_mutex_lock(&sv->mu);
  if (--sv->active == 0) pthread_cond_broadcast(&sv->idle);
  pthread_mutex_unlock(&sv->mu);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *data, size_t *data_size, void **con_cls) {
  (void)version;
  server *sv = cls;
  request *rq = *con_cls;
  if (!rq) { /* headers are in: start the request */
    rq = calloc(1, sizeof *rq);
    if (!rq) return MHD_NO;
    *con_cls = rq;
    pthread_mutex_lock(&sv->mu);
    sv->active++;
    pthread_mutex_unlock(&sv->mu);
    if (!strcmp(method, "POST")) rq->form = MHD_create_post_processor(c, 16384, form_field, rq); /* NULL: not a form */
    return MHD_YES;
  }
  if (*data_size) { /* a piece of the body */
    if (rq->form) {
      if (MHD_post_process(rq->form, data, *data_size) != MHD_YES) rq->too_large = 1;
    } else if (rq->len + *data_size > MAX_BODY) {
      rq->too_large = 1;
    } else {
      if (rq->len + *data_size > rq->cap) {
        size_t cap = rq->cap ? 2 * rq->cap : 4096;
        while (cap < rq->len + *data_size) cap *= 2;
        char *p = realloc(rq->body, cap);
        if (!p) return MHD_NO;
        rq->body = p, rq->cap = cap;
      }
      memcpy(rq->body + rq->len, data, *data_size);
      rq->len += *data_size;
    }
    *data_size = 0;
    return MHD_YES;
  }
  int get = !strcmp(method, "GET") || !strcmp(method, "HEAD"), post = !strcmp(method, "POST");
  if (!strcmp(method, "OPTIONS")) { /* CORS preflight of a browser extension */
    struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_ORIGIN, "*");
    MHD_add_response_header(r, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    MHD_add_response_header(r, "Access-Control-Allow-Headers", "Content-Type");
    enum MHD_Result ok = MHD_queue_response(c, MHD_HTTP_NO_CONTENT, r);
    MHD_destroy_response(r);
    return ok;
  }
  if (!strcmp(url, "/") && get) {
    char *page = malloc(serve_page_len + 1);
    if (!page) return MHD_NO;
    memcpy(page, serve_page, serve_page_len);
    return reply(c, MHD_HTTP_OK, "text/html; charset=utf-8", page, serve_page_len);
  }
  if (!strcmp(url, "/languages") && get) return languages(c, sv->s);
  if (!strcmp(url, "/translate") && post) return translate(sv, c, rq);
  if (!strcmp(url, "/attention") && post) return attention(sv, c, rq);
  if (!strcmp(url, "/") || !strcmp(url, "/languages") || !strcmp(url, "/translate") || !strcmp(url, "/attention"))
    return reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "%s %s: method not allowed", method, url);
  return reply_error(c, MHD_HTTP_NOT_FOUND, "%s: no such endpoint (/, /languages, /translate, /attention)", url);
}

/* ---- the service ---------------------------------------------------------------------------------------------- */

/* HOST:PORT ([IPv6]:PORT too) resolved to a socket address (freeaddrinfo the result). NULL after saying why. */
static struct addrinfo *resolve(const char *address) {
  const char *colon = strrchr(address, ':');
  if (!colon || colon == address || !colon[1]) {
    fprintf(stderr, "xlat-decode: --serve expects HOST:PORT (e.g. 127.0.0.1:5000), got \"%s\"\n", address);
    return NULL;
  }
  char host[256];
  size_t hl = (size_t)(colon - address);
  if (address[0] == '[' && hl >= 2 && address[hl - 1] == ']') address++, hl -= 2;
  if (hl >= sizeof host) hl = sizeof host - 1;
  memcpy(host, address, hl);
  host[hl] = '\0';
  struct addrinfo hints = {0}, *ai = NULL;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  int e = getaddrinfo(host, colon + 1, &hints, &ai);
  if (e) {
    fprintf(stderr, "xlat-decode: --serve %s: %s\n", address, gai_strerror(e));
    return NULL;
  }
  return ai;
}

int serve_run(const doc_options *o, const serve_options *s) {
  server sv = {.o = o, .s = s};
  pthread_mutex_init(&sv.mu, NULL);
  pthread_cond_init(&sv.idle, NULL);
  struct addrinfo *ai = resolve(s->address);
  struct MHD_Daemon *d = NULL;
  int rc = strrchr(s->address, ':') ? 1 : 2; /* no port at all is a usage error */
  if (!ai) goto done;
  /* SIGTERM and SIGINT wait for sigwait below: every thread started from here on inherits the mask */
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, NULL);
  if (xlat_translator_new(&o->tr, &sv.tr) != XLAT_OK ||
      xlat_beam_new(o->tr.models, 1, &o->tr.beam, &sv.attention) != XLAT_OK) {
    fprintf(stderr, "xlat-decode: %s\n", xlat_last_error());
    goto done;
  }
  d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
                           MHD_USE_ERROR_LOG | (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0),
                       0, NULL, NULL, handle, &sv, MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_NOTIFY_COMPLETED,
                       completed, &sv, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(s->timeout + 30),
                       MHD_OPTION_CONNECTION_LIMIT, 1024u, MHD_OPTION_END);
  if (!d) {
    fprintf(stderr, "xlat-decode: cannot serve on %s (address in use or not allowed?)\n", s->address);
    goto done;
  }
  const union MHD_DaemonInfo *port = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
  fprintf(stderr, "xlat-decode: serving %s to %s on http://%.*s:%u/ (SIGTERM stops)\n", s->source_lang,
          s->target_lang, (int)(strrchr(s->address, ':') - s->address), s->address,
          port ? (unsigned)port->port : 0u);
  int sig = 0;
  sigwait(&stop, &sig);
  MHD_socket listener = MHD_quiesce_daemon(d); /* no new connections; open ones are answered */
  pthread_mutex_lock(&sv.mu);
  fprintf(stderr, "xlat-decode: %s: finishing %lld request(s) in flight\n", sig == SIGTERM ? "SIGTERM" : "SIGINT",
          (long long)sv.active);
  pthread_mutex_unlock(&sv.mu);
  if (listener != MHD_INVALID_SOCKET) close(listener);
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += (time_t)s->timeout + 5; /* every request ends by its timeout */
  pthread_mutex_lock(&sv.mu);
  while (sv.active > 0 && pthread_cond_timedwait(&sv.idle, &sv.mu, &until) == 0) {
  }
  pthread_mutex_unlock(&sv.mu);
  rc = 0;
done:
  if (d) MHD_stop_daemon(d);
  xlat_beam_free(sv.attention);
  xlat_translator_free(sv.tr);
  if (ai) freeaddrinfo(ai);
  pthread_mutex_destroy(&sv.mu);
  pthread_cond_destroy(&sv.idle);
  return rc;
}

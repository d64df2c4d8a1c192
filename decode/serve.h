/* serve.h - xlat-decode --serve: the translation service, HTTP with JSON, compatible with LibreTranslate's API.
 *
 *   GET  /            the web page (decode/page.html): type text, see its translation and a sentence's attention map
 *   GET  /languages   [{"code", "name", "targets"}] for the model's source and target language
 *   POST /translate   {"q": text or [texts], "source", "target", "format": "text"} -> {"translatedText": same shape}
 *                     (JSON, or form-encoded with one q); each line of a text is translated on its own
 *   POST /attention   {"q": one sentence} -> image/svg+xml, the first model's attention for its translation
 *
 * Every request's texts go to the library's translator (translator.h) as one set, so the requests of all clients are
 * batched together. The queue is bounded (503 when full), a request waits at most a timeout (504), bad requests get
 * 400 with a message. SIGTERM or SIGINT: stop accepting, finish the requests in flight, exit 0.
 */
#ifndef XLAT_DECODE_SERVE_H
#define XLAT_DECODE_SERVE_H

#include "document.h"

typedef struct {
  const char *address;     /* HOST:PORT (port 0: any free port, printed on stderr) */
  const char *source_lang; /* ISO 639-1 codes of what the model translates */
  const char *target_lang;
  double timeout;          /* seconds a request may wait for its translation */
} serve_options;

/* Serves until SIGTERM / SIGINT with the translator options in o->tr (o->tr.max_queued bounds the queue). Returns
 * the exit code: 0 after a clean stop, 1 when the service could not start. */
int serve_run(const doc_options *o, const serve_options *s);

#endif

/* markup.c - the format-independent half of markup.h: the API, plain-text documents, the blocks' plain text and the
 * placement of inline elements on the translation (Bergamot's way: an element wraps the target tokens aligned to the
 * source bytes it wrapped). HTML lives in markup_html.c (libgumbo), Markdown in markup_md.c (cmark). Placement never
 * drops an element and always nests: hulls that would cross are clamped, an element left with no aligned token
 * stays, empty, after the target token aligned nearest before it. */
#include <stdlib.h>
#include <string.h>

#include "markup_internal.h"

/* ---- buffers ----------------------------------------------------------------------------------------------------- */
void mk_put(mk_buf *b, const char *s, size_t n) {
  if (b->oom) return;
  if (b->n + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->n + n + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->oom = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  if (n) memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = '\0'; /* always a C string */
}

void mk_puts(mk_buf *b, const char *s) { mk_put(b, s, strlen(s)); }

/* ---- building a block -------------------------------------------------------------------------------------------- */
static int is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

void mk_block_text(mk_block *b, const char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint32_t cp;
    size_t k = xlat_utf8_decode(s + i, n - i, &cp);
    if (k == 1 && is_space((unsigned char)s[i])) {
      /* raw, for the layout around the block */
      mk_put(b->plain.n || b->n_items || b->n_spans ? &b->trail : &b->lead, s + i, 1);
      if (!b->after_space) mk_put(&b->plain, " ", 1);
      b->after_space = 1;
    } else {
      if (k == 0 || cp == 0) mk_put(&b->plain, "\xEF\xBF\xBD", 3); /* U+FFFD for a bad byte or NUL */
      else mk_put(&b->plain, s + i, k);
      b->after_space = 0;
      b->trail.n = 0;
    }
    i += k ? k : 1;
  }
}

static int grow(void **p, int32_t *cap, int32_t need, size_t size) {
  if (need <= *cap) return 0;
  int32_t c = *cap ? *cap * 2 : 8;
  void *q = realloc(*p, (size_t)c * size);
  if (!q) return -1;
  *p = q;
  *cap = c;
  return 0;
}

void mk_block_open(mk_block *b, void *node) {
  if (grow((void **)&b->spans, &b->cap_spans, b->n_spans + 1, sizeof *b->spans)) {
    b->plain.oom = 1;
    return;
  }
  b->spans[b->n_spans] = (mk_span){(int32_t)b->plain.n, -1, b->open, b->order++, node};
  b->open = b->n_spans++;
}

void mk_block_close(mk_block *b) {
  if (b->open < 0) return; /* only after a failed open */
  b->spans[b->open].b = (int32_t)b->plain.n;
  b->open = b->spans[b->open].parent;
}

void mk_block_item(mk_block *b, void *node, int spaced) {
  if (grow((void **)&b->items, &b->cap_items, b->n_items + 1, sizeof *b->items)) {
    b->plain.oom = 1;
    return;
  }
  b->items[b->n_items++] = (mk_item){(int32_t)b->plain.n, b->open, b->order++, b->after_space && b->plain.n, node};
  if (spaced && !b->after_space) mk_put(&b->plain, " ", 1);
  if (spaced) b->after_space = 1;
}

int mk_block_finish(mk_block *b) {
  if (b->plain.n && b->plain.p[b->plain.n - 1] == ' ') b->plain.p[--b->plain.n] = '\0';
  int32_t n = (int32_t)b->plain.n;
  for (int32_t i = 0; i < b->n_spans; i++) {
    if (b->spans[i].a > n) b->spans[i].a = n;
    if (b->spans[i].b > n) b->spans[i].b = n;
  }
  for (int32_t i = 0; i < b->n_items; i++)
    if (b->items[i].p > n) b->items[i].p = n;
  if (!b->plain.p) mk_put(&b->plain, "", 0);
  return b->plain.n > 0;
}

void mk_block_clear(mk_block *b) {
  free(b->plain.p);
  free(b->lead.p);
  free(b->trail.p);
  free(b->spans);
  free(b->items);
  free(b->text);
  free(b->links);
  memset(b, 0, sizeof *b);
  b->open = -1;
  b->after_space = 1;
}

int mk_block_oom(const mk_block *b) { return b->plain.oom || b->lead.oom || b->trail.oom; }

int32_t mk_add_block(xlat_markup *m) {
  if (grow((void **)&m->blocks, &m->cap_blocks, m->n_blocks + 1, sizeof *m->blocks)) return -1;
  mk_block *b = &m->blocks[m->n_blocks];
  memset(b, 0, sizeof *b);
  mk_block_clear(b);
  return m->n_blocks++;
}

/* ---- placing spans and items on the translation ------------------------------------------------------------------ */
typedef struct {
  size_t ts, te; /* target byte range; ts == te: an empty element, emitted as a point */
  int opened;
} mk_range;

typedef struct {
  size_t x;
  int32_t order, idx, is_span;
} mk_point;

typedef struct {
  const mk_block *b, *layout;
  mk_sink *sink;
  mk_range *r;
  int32_t *stack, sp;
  int last_space; /* the output so far ends with a space (or is empty) */
} mk_placer;

/* End of the target token aligned nearest before source byte a (the later one in the target on a tie), or 0. */
static size_t anchor(const mk_block *b, int32_t a) {
  int32_t best = -1;
  size_t x = 0;
  for (int32_t k = 0; k < b->n_links; k++) {
    const xlat_markup_link *l = &b->links[k];
    if (l->src_begin < 0 || l->src_end > a) continue;
    if (l->src_end > best || (l->src_end == best && (size_t)l->tgt_end > x)) {
      best = l->src_end;
      x = (size_t)l->tgt_end;
    }
  }
  return x;
}

/* The target tokens aligned into source bytes [a, b): from the first to the last; else empty at anchor(a). */
static mk_range hull(const mk_block *b, int32_t a, int32_t e) {
  mk_range r = {0, 0, 0};
  int found = 0;
  for (int32_t k = 0; k < b->n_links; k++) {
    const xlat_markup_link *l = &b->links[k];
    if (l->src_begin < 0 || !(l->src_begin < e && a < l->src_end)) continue;
    if (!found || (size_t)l->tgt_begin < r.ts) r.ts = (size_t)l->tgt_begin;
    if (!found || (size_t)l->tgt_end > r.te) r.te = (size_t)l->tgt_end;
    found = 1;
  }
  if (!found) r.ts = r.te = anchor(b, a);
  return r;
}

static size_t clampz(size_t v, size_t lo, size_t hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Keeps span s inside its parent and off its earlier siblings, so that the ranges nest (a laminar family). */
static void fit_span(mk_range *r, const mk_span *spans, int32_t s) {
  mk_range *me = &r[s];
  int32_t p = spans[s].parent;
  if (p >= 0) {
    me->ts = clampz(me->ts, r[p].ts, r[p].te);
    me->te = clampz(me->te, r[p].ts, r[p].te);
  }
  if (me->te < me->ts) me->te = me->ts;
  for (int32_t j = 0; j < s; j++) {
    const mk_range *o = &r[j];
    if (spans[j].parent != p || o->ts == o->te) continue;
    if (me->ts == me->te) { /* a point strictly inside a sibling moves to its end */
      if (o->ts < me->ts && me->ts < o->te) me->ts = me->te = o->te;
    } else if (me->ts < o->te && o->ts < me->te) {
      if (me->ts >= o->ts) me->ts = o->te;
      else me->te = o->ts;
      if (me->te < me->ts) me->te = me->ts;
    }
  }
}

static int is_empty(const mk_placer *P, int32_t s) { return s >= 0 && P->r[s].ts == P->r[s].te; }

static int point_cmp(const void *a, const void *b) {
  const mk_point *p = a, *q = b;
  if (p->x != q->x) return p->x < q->x ? -1 : 1;
  return (p->order > q->order) - (p->order < q->order);
}

static int32_t point_owner(const mk_placer *P, const mk_point *pt) {
  return pt->is_span ? P->layout->spans[pt->idx].parent : P->layout->items[pt->idx].owner;
}

/* An empty span with everything inside it, or an item. */
static void emit_point(mk_placer *P, int32_t is_span, int32_t idx) {
  const mk_block *L = P->layout;
  if (!is_span) {
    if (L->items[idx].space_before && !P->last_space) P->sink->text(P->sink, " ", 1);
    P->last_space = 1;
    P->sink->item(P->sink, &L->items[idx]);
    return;
  }
  P->sink->open(P->sink, &L->spans[idx]);
  int32_t i = 0, s = idx + 1;
  for (;;) { /* children in document order: merge the two lists */
    while (i < L->n_items && L->items[i].owner != idx) i++;
    while (s < L->n_spans && L->spans[s].parent != idx) s++;
    if (i >= L->n_items && s >= L->n_spans) break;
    if (s >= L->n_spans || (i < L->n_items && L->items[i].order < L->spans[s].order)) emit_point(P, 0, i++);
    else emit_point(P, 1, s++);
  }
  P->sink->close(P->sink, &L->spans[idx]);
}

static int is_ancestor(const mk_span *spans, int32_t anc, int32_t s) {
  for (; s >= 0; s = spans[s].parent)
    if (s == anc) return 1;
  return 0;
}

static void push(mk_placer *P, int32_t s) {
  P->r[s].opened = 1;
  P->stack[P->sp++] = s;
  P->sink->open(P->sink, &P->layout->spans[s]);
}

static void pop(mk_placer *P) { P->sink->close(P->sink, &P->layout->spans[P->stack[--P->sp]]); }

static int top_closes(const mk_placer *P, size_t x) { return P->sp > 0 && P->r[P->stack[P->sp - 1]].te == x; }

/* Opens owner's not yet open ancestors (and owner) that start at x, outermost first, down from stack entry d. */
static void open_chain(mk_placer *P, int32_t owner, int32_t d, size_t x) {
  int32_t stop = d >= 0 ? P->stack[d] : -1, chain[64], n = 0;
  for (int32_t s = owner; s >= 0 && s != stop; s = P->layout->spans[s].parent)
    if (n < 64) chain[n++] = s;
  while (n-- > 0) {
    int32_t s = chain[n];
    if (!P->r[s].opened && P->r[s].ts == x && P->r[s].te > x) push(P, s);
  }
}

/* A point at x goes inside its owner: close what ends at x above the owner, open the owner if it starts at x. */
static void place_point(mk_placer *P, const mk_point *pt, size_t x) {
  int32_t owner = point_owner(P, pt), d = P->sp - 1;
  while (d >= 0 && !is_ancestor(P->layout->spans, P->stack[d], owner)) d--;
  while (P->sp - 1 > d && top_closes(P, x)) pop(P);
  if (P->sp - 1 == d && !top_closes(P, x)) open_chain(P, owner, d, x);
  emit_point(P, pt->is_span, pt->idx);
}

int mk_place(const mk_block *b, const mk_block *layout, mk_sink *sink) {
  int32_t ns = layout->n_spans, ni = layout->n_items, np = 0, no = 0;
  mk_placer P = {b, layout, sink, calloc((size_t)ns + 1, sizeof(mk_range)),
                 malloc(((size_t)ns + 1) * sizeof(int32_t)), 0, 1};
  mk_point *pts = malloc(((size_t)ns + (size_t)ni + 1) * sizeof *pts);
  int32_t *openers = malloc(((size_t)ns + 1) * sizeof *openers);
  if (!P.r || !P.stack || !pts || !openers) {
    free(P.r), free(P.stack), free(pts), free(openers);
    return -1;
  }
  for (int32_t s = 0; s < ns; s++) {
    P.r[s] = hull(b, layout->spans[s].a, layout->spans[s].b);
    fit_span(P.r, layout->spans, s);
  }
  for (int32_t s = 0; s < ns; s++) {
    if (is_empty(&P, s) && !is_empty(&P, layout->spans[s].parent))
      pts[np++] = (mk_point){P.r[s].ts, layout->spans[s].order, s, 1};
    if (!is_empty(&P, s)) openers[no++] = s; /* document order = start order among nesting ranges */
  }
  for (int32_t i = 0; i < ni; i++) {
    int32_t o = layout->items[i].owner;
    if (is_empty(&P, o)) continue;
    size_t x = anchor(b, layout->items[i].p);
    if (o >= 0) x = clampz(x, P.r[o].ts, P.r[o].te);
    pts[np++] = (mk_point){x, layout->items[i].order, i, 0};
  }
  qsort(pts, (size_t)np, sizeof *pts, point_cmp);
  /* openers by start: stable on document order, which nests equal starts outermost first */
  for (int32_t i = 1; i < no; i++)
    for (int32_t j = i; j > 0 && P.r[openers[j - 1]].ts > P.r[openers[j]].ts; j--) {
      int32_t t = openers[j];
      openers[j] = openers[j - 1];
      openers[j - 1] = t;
    }
  size_t cur = 0;
  int32_t pi = 0, oi = 0;
  for (;;) {
    size_t x = b->len;
    if (pi < np && pts[pi].x < x) x = pts[pi].x;
    if (oi < no && P.r[openers[oi]].ts < x) x = P.r[openers[oi]].ts;
    if (P.sp > 0 && P.r[P.stack[P.sp - 1]].te < x) x = P.r[P.stack[P.sp - 1]].te;
    if (x > cur) sink->text(sink, b->text + cur, x - cur), P.last_space = b->text[x - 1] == ' ';
    cur = x;
    for (; pi < np && pts[pi].x == x; pi++) place_point(&P, &pts[pi], x);
    while (top_closes(&P, x)) pop(&P);
    for (; oi < no && P.r[openers[oi]].ts == x; oi++)
      if (!P.r[openers[oi]].opened) push(&P, openers[oi]);
    if (x >= b->len && pi == np && oi == no) break;
  }
  while (P.sp > 0) pop(&P); /* unreachable for nesting ranges; keeps the output balanced regardless */
  free(P.r), free(P.stack), free(pts), free(openers);
  return 0;
}

/* ---- plain text: paragraphs are runs of non-blank lines ---------------------------------------------------------- */
static int blank(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!is_space((unsigned char)s[i])) return 0;
  return 1;
}

/* A paragraph's source bytes run from its first non-blank byte to its last one. */
static xlat_status text_parse(xlat_markup *m) {
  size_t i = 0, start = 0, end = 0;
  int in_par = 0;
  while (i <= m->len) {
    const char *nl = i < m->len ? memchr(m->doc + i, '\n', m->len - i) : NULL;
    size_t eol = nl ? (size_t)(nl - m->doc) : m->len, content = eol;
    if (content > i && m->doc[content - 1] == '\r') content--;
    int is_blank = blank(m->doc + i, content - i);
    if (!is_blank && !in_par) { /* the paragraph's indentation and trailing blanks stay around the translation */
      for (start = i; is_space((unsigned char)m->doc[start]);) start++;
      in_par = 1;
    }
    if (!is_blank)
      for (end = content; is_space((unsigned char)m->doc[end - 1]);) end--;
    if (in_par && (is_blank || !nl)) {
      int32_t k = mk_add_block(m);
      if (k < 0) return xlat_fail(XLAT_ERR_NOMEM, "markup: out of memory");
      mk_block *b = &m->blocks[k];
      b->src_begin = start, b->src_end = end;
      mk_block_text(b, m->doc + start, end - start);
      mk_block_finish(b);
      if (mk_block_oom(b)) return xlat_fail(XLAT_ERR_NOMEM, "markup: out of memory");
      in_par = 0;
    }
    if (!nl) break;
    i = eol + 1;
  }
  return XLAT_OK;
}

static void text_render(const xlat_markup *m, mk_buf *out) {
  size_t at = 0;
  for (int32_t k = 0; k < m->n_blocks; k++) {
    const mk_block *b = &m->blocks[k];
    if (!b->translated) continue;
    mk_put(out, m->doc + at, b->src_begin - at);
    mk_put(out, b->text, b->len);
    at = b->src_end;
  }
  mk_put(out, m->doc + at, m->len - at);
}

/* ---- API --------------------------------------------------------------------------------------------------------- */
xlat_status xlat_markup_parse(xlat_markup_format fmt, const char *doc, size_t len, xlat_markup **out) {
  *out = NULL;
  if (fmt != XLAT_MARKUP_TEXT && fmt != XLAT_MARKUP_MARKDOWN && fmt != XLAT_MARKUP_HTML)
    return xlat_fail(XLAT_ERR_ARG, "markup: unknown input format %d (expected text, markdown or html)", (int)fmt);
  if (!doc && len) return xlat_fail(XLAT_ERR_ARG, "markup: no document");
  xlat_markup *m = calloc(1, sizeof *m);
  if (!m || !(m->doc = malloc(len + 1))) {
    free(m);
    return xlat_fail(XLAT_ERR_NOMEM, "markup: out of memory for a document of %zu bytes", len);
  }
  if (len) memcpy(m->doc, doc, len);
  m->doc[len] = '\0';
  m->len = len;
  m->fmt = fmt;
  xlat_status st = fmt == XLAT_MARKUP_TEXT   ? text_parse(m)
                   : fmt == XLAT_MARKUP_HTML ? mk_html_parse(m)
                                             : mk_md_parse(m);
  if (st != XLAT_OK) {
    xlat_markup_free(m);
    return st;
  }
  *out = m;
  return XLAT_OK;
}

int32_t xlat_markup_blocks(const xlat_markup *m) { return m->n_blocks; }

const char *xlat_markup_block(const xlat_markup *m, int32_t i, size_t *len) {
  if (i < 0 || i >= m->n_blocks) {
    if (len) *len = 0;
    return NULL;
  }
  if (len) *len = m->blocks[i].plain.n;
  return m->blocks[i].plain.p;
}

static xlat_status check_links(const mk_block *b, size_t len, const xlat_markup_link *links, int32_t n) {
  int64_t prev_end = 0;
  for (int32_t k = 0; k < n; k++) {
    const xlat_markup_link *l = &links[k];
    if (l->tgt_begin < prev_end || l->tgt_end < l->tgt_begin || (size_t)l->tgt_end > len)
      return xlat_fail(XLAT_ERR_ARG,
                       "markup: link %d has target bytes [%d, %d): expected sorted, non-overlapping ranges within the "
                       "%zu-byte translation", (int)k, (int)l->tgt_begin, (int)l->tgt_end, len);
    if (l->src_begin >= 0 && (l->src_end < l->src_begin || (size_t)l->src_end > b->plain.n))
      return xlat_fail(XLAT_ERR_ARG, "markup: link %d has source bytes [%d, %d): expected a range within the %zu-byte "
                       "block", (int)k, (int)l->src_begin, (int)l->src_end, b->plain.n);
    prev_end = l->tgt_end;
  }
  return XLAT_OK;
}

xlat_status xlat_markup_set(xlat_markup *m, int32_t i, const char *text, size_t len, const xlat_markup_link *links,
                            int32_t n_links) {
  if (i < 0 || i >= m->n_blocks)
    return xlat_fail(XLAT_ERR_ARG, "markup: block %d does not exist (the document has %d)", (int)i, (int)m->n_blocks);
  if (n_links < 0 || (n_links && !links) || (len && !text))
    return xlat_fail(XLAT_ERR_ARG, "markup: block %d: no translation or links given", (int)i);
  if (len >= INT32_MAX) return xlat_fail(XLAT_ERR_ARG, "markup: block %d: translation of %zu bytes", (int)i, len);
  size_t nul = xlat_nul_at(text, len);
  if (nul < len) return xlat_fail(XLAT_ERR_ARG, "markup: block %d: translation has a NUL byte at %zu", (int)i, nul);
  mk_block *b = &m->blocks[i];
  xlat_status st = check_links(b, len, links, n_links);
  if (st != XLAT_OK) return st;
  char *t = malloc(len + 1);
  xlat_markup_link *l = malloc(((size_t)n_links + 1) * sizeof *l);
  if (!t || !l) {
    free(t), free(l);
    return xlat_fail(XLAT_ERR_NOMEM, "markup: out of memory");
  }
  if (len) memcpy(t, text, len);
  t[len] = '\0';
  if (n_links) memcpy(l, links, (size_t)n_links * sizeof *l);
  free(b->text), free(b->links);
  b->text = t, b->len = len, b->links = l, b->n_links = n_links, b->translated = 1;
  return XLAT_OK;
}

xlat_status xlat_markup_render(const xlat_markup *m, char **out, size_t *len) {
  mk_buf buf = {0};
  xlat_status st = XLAT_OK;
  *out = NULL;
  if (m->fmt == XLAT_MARKUP_TEXT) text_render(m, &buf);
  else st = m->fmt == XLAT_MARKUP_HTML ? mk_html_render(m, &buf) : mk_md_render(m, &buf);
  mk_put(&buf, "", 0);
  if (st == XLAT_OK && buf.oom) st = xlat_fail(XLAT_ERR_NOMEM, "markup: out of memory rendering the document");
  if (st != XLAT_OK) {
    free(buf.p);
    return st;
  }
  *out = buf.p;
  if (len) *len = buf.n;
  return XLAT_OK;
}

void xlat_markup_free(xlat_markup *m) {
  if (!m) return;
  for (int32_t i = 0; i < m->n_blocks; i++) mk_block_clear(&m->blocks[i]);
  free(m->blocks);
  if (m->fmt == XLAT_MARKUP_HTML) mk_html_free(m);
  free(m->doc);
  free(m);
}

/* markup_html.c - HTML documents for markup.h, parsed with libgumbo (Debian libgumbo-dev).
 *
 * Why gumbo: it is a complete HTML5 parser (the WHATWG tree construction browsers use), so malformed input (unclosed
 * or stray tags, unterminated comments, truncated files, invalid UTF-8) is repaired exactly as a browser would and
 * never fails; and every node keeps pointers to its original bytes (original_tag, original_end_tag, original_text),
 * so all markup is written back byte for byte - attributes, entities, comments, <script>/<style>/<pre>/<code> and
 * their content. libxml2's HTML parser follows HTML4-era rules of its own and loses the original spelling.
 *
 * The document is written back by walking gumbo's tree: what is not translated comes out as its original bytes,
 * tags the parser implied (<html>, <tbody>) stay implied, and end tags the source omitted are written, so the output
 * is well-formed even when the input was not. Whitespace the parser drops between tags (before <head>, after
 * </body>) is restored from the source gaps. Inside a block element, each maximal run of inline content (text,
 * <b>/<a>/<span>..., items such as <br>, <img>, inline <code>, comments) is one translatable block; an inline
 * element holding a block element is treated as a block element itself. Attribute values (title, alt) are kept
 * untouched, not translated, in this first version. */
#include <gumbo.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "markup_internal.h"

typedef enum { K_BLOCK, K_OPAQUE, K_INLINE, K_ITEM, K_TEXT } kind;

static kind tag_kind(GumboTag t) {
  switch (t) {
  case GUMBO_TAG_A: case GUMBO_TAG_ABBR: case GUMBO_TAG_ACRONYM: case GUMBO_TAG_B: case GUMBO_TAG_BDI:
  case GUMBO_TAG_BDO: case GUMBO_TAG_BIG: case GUMBO_TAG_BLINK: case GUMBO_TAG_CITE: case GUMBO_TAG_DATA:
  case GUMBO_TAG_DEL: case GUMBO_TAG_DFN: case GUMBO_TAG_EM: case GUMBO_TAG_FONT: case GUMBO_TAG_I:
  case GUMBO_TAG_INS: case GUMBO_TAG_LABEL: case GUMBO_TAG_MARK: case GUMBO_TAG_NOBR: case GUMBO_TAG_Q:
  case GUMBO_TAG_RB: case GUMBO_TAG_RP: case GUMBO_TAG_RT: case GUMBO_TAG_RTC: case GUMBO_TAG_RUBY:
  case GUMBO_TAG_S: case GUMBO_TAG_SMALL: case GUMBO_TAG_SPAN: case GUMBO_TAG_STRIKE: case GUMBO_TAG_STRONG:
  case GUMBO_TAG_SUB: case GUMBO_TAG_SUP: case GUMBO_TAG_TIME: case GUMBO_TAG_TT: case GUMBO_TAG_U:
  case GUMBO_TAG_UNKNOWN:
    return K_INLINE;
  /* kept whole inside a sentence, never translated */
  case GUMBO_TAG_BR: case GUMBO_TAG_WBR: case GUMBO_TAG_IMG: case GUMBO_TAG_IMAGE: case GUMBO_TAG_INPUT:
  case GUMBO_TAG_CODE: case GUMBO_TAG_KBD: case GUMBO_TAG_SAMP: case GUMBO_TAG_VAR: case GUMBO_TAG_SCRIPT:
  case GUMBO_TAG_STYLE: case GUMBO_TAG_IFRAME: case GUMBO_TAG_EMBED: case GUMBO_TAG_OBJECT: case GUMBO_TAG_VIDEO:
  case GUMBO_TAG_AUDIO: case GUMBO_TAG_CANVAS: case GUMBO_TAG_MATH: case GUMBO_TAG_SVG: case GUMBO_TAG_TEXTAREA:
  case GUMBO_TAG_NOSCRIPT:
    return K_ITEM;
  /* blocks whose content is never translated */
  case GUMBO_TAG_PRE: case GUMBO_TAG_LISTING: case GUMBO_TAG_XMP: case GUMBO_TAG_PLAINTEXT: case GUMBO_TAG_TEMPLATE:
    return K_OPAQUE;
  default:
    return K_BLOCK;
  }
}

static int is_void(GumboTag t) {
  switch (t) {
  case GUMBO_TAG_AREA: case GUMBO_TAG_BASE: case GUMBO_TAG_BASEFONT: case GUMBO_TAG_BGSOUND: case GUMBO_TAG_BR:
  case GUMBO_TAG_COL: case GUMBO_TAG_EMBED: case GUMBO_TAG_FRAME: case GUMBO_TAG_HR: case GUMBO_TAG_IMAGE:
  case GUMBO_TAG_IMG: case GUMBO_TAG_INPUT: case GUMBO_TAG_KEYGEN: case GUMBO_TAG_LINK: case GUMBO_TAG_MENUITEM:
  case GUMBO_TAG_META: case GUMBO_TAG_PARAM: case GUMBO_TAG_SOURCE: case GUMBO_TAG_TRACK: case GUMBO_TAG_WBR:
    return 1;
  default:
    return 0;
  }
}

static int is_element(const GumboNode *n) { return n->type == GUMBO_NODE_ELEMENT || n->type == GUMBO_NODE_TEMPLATE; }

static kind node_kind(const GumboNode *n);

/* An inline element holding a block element (<a><div>..</div></a>) cannot sit inside a sentence. */
static int holds_block(const GumboNode *n) {
  const GumboVector *c = &n->v.element.children;
  for (unsigned i = 0; i < c->length; i++) {
    kind k = node_kind(c->data[i]);
    if (k == K_BLOCK || k == K_OPAQUE) return 1;
  }
  return 0;
}

static kind node_kind(const GumboNode *n) {
  if (n->type == GUMBO_NODE_COMMENT) return K_ITEM;
  if (!is_element(n)) return K_TEXT;
  if (n->v.element.tag_namespace != GUMBO_NAMESPACE_HTML) return K_ITEM;
  kind k = tag_kind(n->v.element.tag);
  return k == K_INLINE && holds_block(n) ? K_BLOCK : k;
}

/* ---- writing ----------------------------------------------------------------------------------------------------- */
/* NORMAL: source bytes go out and advance last_end, whitespace gaps before them are restored; DRY: nothing goes out,
 * the source range touched is measured; RAW: bytes go out, the source position is left alone (a translated block). */
typedef enum { NORMAL, DRY, RAW } mode;

typedef struct {
  xlat_markup *m;
  const GumboOutput *g;
  mk_buf *out; /* NULL while parsing */
  mode mode;
  int started;
  size_t last_end, dry_first, dry_end;
  int32_t next_block;
  xlat_status st;
} walker;

static void put(walker *w, const char *s, size_t n) {
  if (w->mode != DRY) mk_put(w->out, s, n);
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

/* The source between the last bytes written and off: the doctype and what surrounds it at the start, else only the
 * whitespace right before off (the parser drops whitespace in some places; the tags in a gap were dropped too). */
static void gap_fill(walker *w, size_t off) {
  if (off <= w->last_end) return;
  size_t from = w->last_end;
  if (w->started || !w->g->document->v.document.has_doctype) {
    from = off;
    while (from > w->last_end && is_space(w->m->doc[from - 1])) from--;
  }
  mk_put(w->out, w->m->doc + from, off - from);
  w->started = 1;
  w->last_end = off;
}

/* Source bytes from off are being written (or replaced) at this point of the output. */
static void begin_src(walker *w, size_t off) {
  if (w->mode == DRY && off < w->dry_first) w->dry_first = off;
  if (w->mode == NORMAL) gap_fill(w, off);
}

/* ... up to end. */
static void end_src(walker *w, size_t end) {
  if (w->mode == DRY && end > w->dry_end) w->dry_end = end;
  if (w->mode == NORMAL && end > w->last_end) w->last_end = end;
  if (w->mode == NORMAL) w->started = 1;
}

static int in_source(const walker *w, const char *p, size_t n) {
  return p >= w->m->doc && n <= w->m->len && p <= w->m->doc + w->m->len - n;
}

static void emit_src(walker *w, const char *p, size_t n) {
  if (!n) return;
  if (!in_source(w, p, n)) { /* not the source's bytes: never seen, kept anyway */
    put(w, p, n);
    return;
  }
  begin_src(w, (size_t)(p - w->m->doc));
  put(w, p, n);
  end_src(w, (size_t)(p - w->m->doc) + n);
}

/* HTML text escaping: the only hand-written output rule. */
static void put_escaped(walker *w, const char *s, size_t n) {
  size_t from = 0;
  for (size_t i = 0; i < n; i++) {
    const char *e = s[i] == '&' ? "&amp;" : s[i] == '<' ? "&lt;" : s[i] == '>' ? "&gt;" : NULL;
    if (!e) continue;
    put(w, s + from, i - from);
    put(w, e, strlen(e));
    from = i + 1;
  }
  put(w, s + from, n - from);
}

static void start_tag(walker *w, const GumboNode *n) {
  emit_src(w, n->v.element.original_tag.data, n->v.element.original_tag.length);
}

/* Whether end tag t names element n: gumbo records as an element's end tag whichever tag closed it (</table> for an
 * implied <tbody>, </ul> for an open <li>). */
static int same_name(const GumboNode *n, GumboStringPiece t) {
  const GumboElement *e = &n->v.element;
  gumbo_tag_from_original_text(&t);
  if (!e->original_tag.length) return gumbo_tagn_enum(t.data, (unsigned)t.length) == e->tag;
  GumboStringPiece s = e->original_tag;
  gumbo_tag_from_original_text(&s);
  return s.length == t.length && !strncasecmp(s.data, t.data, t.length);
}

/* The source's end tag, or one written when the source omitted it (never for void, self-closed foreign or implied
 * elements, nor for "</p>" read as "<p>"). */
static void end_tag(walker *w, const GumboNode *n) {
  const GumboElement *e = &n->v.element;
  if (e->original_end_tag.length && same_name(n, e->original_end_tag)) {
    emit_src(w, e->original_end_tag.data, e->original_end_tag.length);
    return;
  }
  const GumboStringPiece *t = &e->original_tag;
  if (!t->length || is_void(e->tag) || (n->parse_flags & GUMBO_INSERTION_CONVERTED_FROM_END_TAG)) return;
  if (e->tag_namespace != GUMBO_NAMESPACE_HTML && t->length >= 2 && t->data[t->length - 2] == '/') return;
  GumboStringPiece name = *t;
  gumbo_tag_from_original_text(&name);
  put(w, "</", 2);
  put(w, name.data, name.length);
  put(w, ">", 1);
}

/* Elements whose content the tokenizer reads as text up to their own end tag: their text is exactly its bytes. */
static int raw_text(const GumboNode *n) {
  if (!n || !is_element(n)) return 0;
  switch (n->v.element.tag) {
  case GUMBO_TAG_SCRIPT: case GUMBO_TAG_STYLE: case GUMBO_TAG_XMP: case GUMBO_TAG_IFRAME: case GUMBO_TAG_NOEMBED:
  case GUMBO_TAG_NOFRAMES: case GUMBO_TAG_NOSCRIPT: case GUMBO_TAG_PLAINTEXT: case GUMBO_TAG_TEXTAREA:
  case GUMBO_TAG_TITLE:
    return 1;
  default:
    return 0;
  }
}

/* A text node's original bytes run from its first character to the next tag the parser acted on, so they may hold
 * tags it ignored (a stray </div>, </body> before trailing whitespace): whitespace is written up to the first such
 * tag (the gaps restore the rest), other text decoded and escaped again. */
static void emit_text(walker *w, const GumboNode *n) {
  const GumboText *t = &n->v.text;
  const char *o = t->original_text.data, *lt = o ? memchr(o, '<', t->original_text.length) : NULL;
  if (!t->original_text.length || !in_source(w, o, t->original_text.length)) {
    put_escaped(w, t->text, strlen(t->text)); /* made by the parser */
  } else if (!lt || n->type == GUMBO_NODE_COMMENT || n->type == GUMBO_NODE_CDATA || raw_text(n->parent)) {
    emit_src(w, o, t->original_text.length);
    size_t k = t->original_text.length;
    if (n->type == GUMBO_NODE_COMMENT && (k < 7 || memcmp(o + k - 3, "-->", 3) != 0))
      put(w, "-->", 3); /* an unterminated comment (it ran to the end) would swallow what follows it here */
  } else if (n->type == GUMBO_NODE_WHITESPACE) {
    emit_src(w, o, (size_t)(lt - o));
  } else {
    begin_src(w, (size_t)(o - w->m->doc));
    put_escaped(w, t->text, strlen(t->text));
    end_src(w, (size_t)(o - w->m->doc) + t->original_text.length);
  }
}

/* A node exactly as in the source. */
static void emit_node(walker *w, const GumboNode *n) {
  if (!is_element(n)) {
    emit_text(w, n);
    return;
  }
  start_tag(w, n);
  const GumboVector *c = &n->v.element.children;
  for (unsigned i = 0; i < c->length; i++) emit_node(w, c->data[i]);
  end_tag(w, n);
}

/* ---- blocks ------------------------------------------------------------------------------------------------------ */
/* Text nodes next to each other in the tree but not in the source (text moved out of a table) read as two words.
 * *prev: where the source of the text node just read ended (NULL after anything else). */
static void read_inline(mk_block *b, GumboNode *n, const char **prev) {
  const GumboText *t = &n->v.text;
  switch (node_kind(n)) {
  case K_TEXT:
    if (*prev && t->original_text.data != *prev) mk_block_text(b, " ", 1);
    mk_block_text(b, t->text, strlen(t->text));
    *prev = t->original_text.length ? t->original_text.data + t->original_text.length : NULL;
    return;
  case K_ITEM: mk_block_item(b, n, n->type != GUMBO_NODE_COMMENT); break;
  default: /* K_INLINE: a run holds no block */
    mk_block_open(b, n);
    for (unsigned i = 0; i < n->v.element.children.length; i++) read_inline(b, n->v.element.children.data[i], prev);
    mk_block_close(b);
  }
  *prev = NULL;
}

static void parse_run(walker *w, GumboNode **nodes, unsigned n) {
  int32_t k = mk_add_block(w->m);
  if (k < 0) {
    w->st = XLAT_ERR_NOMEM;
    return;
  }
  mk_block *b = &w->m->blocks[k];
  b->first = nodes[0];
  const char *prev = NULL;
  for (unsigned i = 0; i < n; i++) read_inline(b, nodes[i], &prev);
  if (mk_block_oom(b)) w->st = XLAT_ERR_NOMEM;
  if (!mk_block_finish(b)) { /* no text: not a block */
    mk_block_clear(b);
    w->m->n_blocks--;
  }
}

/* The translated block's pieces: text escaped, tags and items as in the source. */
typedef struct {
  mk_sink base;
  walker *w;
} html_sink;

static void sink_text(mk_sink *s, const char *p, size_t n) { put_escaped(((html_sink *)s)->w, p, n); }
static void sink_open(mk_sink *s, const mk_span *e) { start_tag(((html_sink *)s)->w, e->node); }
static void sink_close(mk_sink *s, const mk_span *e) { end_tag(((html_sink *)s)->w, e->node); }
static void sink_item(mk_sink *s, const mk_item *e) { emit_node(((html_sink *)s)->w, e->node); }

static void render_translated(walker *w, const mk_block *b, GumboNode **nodes, unsigned n) {
  w->mode = DRY; /* the source range the block replaces */
  w->dry_first = SIZE_MAX, w->dry_end = 0;
  for (unsigned i = 0; i < n; i++) emit_node(w, nodes[i]);
  w->mode = NORMAL;
  if (w->dry_first != SIZE_MAX) gap_fill(w, w->dry_first);
  put(w, b->lead.p, b->lead.n);
  w->mode = RAW;
  html_sink sink = {{sink_text, sink_open, sink_close, sink_item}, w};
  if (mk_place(b, b, &sink.base)) w->st = XLAT_ERR_NOMEM;
  w->mode = NORMAL;
  put(w, b->trail.p, b->trail.n);
  if (w->dry_end > w->last_end) w->last_end = w->dry_end;
}

static void run(walker *w, GumboNode **nodes, unsigned n) {
  if (!w->out) {
    parse_run(w, nodes, n);
    return;
  }
  const mk_block *b = w->next_block < w->m->n_blocks ? &w->m->blocks[w->next_block] : NULL;
  if (b && b->first == nodes[0]) {
    w->next_block++;
    if (b->translated) {
      render_translated(w, b, nodes, n);
      return;
    }
  }
  for (unsigned i = 0; i < n; i++) emit_node(w, nodes[i]);
}

/* Whitespace the parser moved into this element from after its end tag (after </body>): written from the gap. */
static int moved_space(const GumboNode *parent, const GumboNode *c) {
  if (c->type != GUMBO_NODE_WHITESPACE || !is_element(parent)) return 0;
  const GumboElement *e = &parent->v.element;
  return e->original_end_tag.length && c->v.text.original_text.length &&
         c->v.text.original_text.data > e->original_end_tag.data;
}

static void walk_block(walker *w, GumboNode *n);

/* A block element's children: block children recursively, each maximal run of the others as one block. */
static void walk_children(walker *w, GumboNode *parent, const GumboVector *c) {
  unsigned i = 0;
  while (i < c->length && w->st == XLAT_OK) {
    GumboNode *n = c->data[i];
    kind k = node_kind(n);
    if (k == K_BLOCK || k == K_OPAQUE) {
      if (k == K_BLOCK) walk_block(w, n);
      else if (w->out) emit_node(w, n);
      i++;
      continue;
    }
    unsigned j = i;
    while (j < c->length && node_kind(c->data[j]) != K_BLOCK && node_kind(c->data[j]) != K_OPAQUE &&
           !moved_space(parent, c->data[j]))
      j++;
    if (j > i) run(w, (GumboNode **)c->data + i, j - i);
    i = j > i ? j : j + 1; /* a moved space is skipped */
  }
}

static void walk_block(walker *w, GumboNode *n) {
  if (w->out) start_tag(w, n);
  walk_children(w, n, &n->v.element.children);
  if (w->out) end_tag(w, n);
}

static GumboOptions options(void) {
  GumboOptions o = kGumboDefaultOptions;
  o.max_errors = 0; /* the parse errors are not used: do not collect them */
  return o;
}

xlat_status mk_html_parse(xlat_markup *m) {
  if (m->len >= UINT32_MAX)
    return xlat_fail(XLAT_ERR_ARG, "markup: HTML document of %zu bytes (4 GiB at most)", m->len);
  GumboOptions o = options();
  GumboOutput *g = gumbo_parse_with_options(&o, m->doc, m->len);
  if (!g) return xlat_fail(XLAT_ERR_NOMEM, "markup: out of memory parsing HTML");
  m->tree = g;
  walker w = {m, g, NULL, NORMAL, 0, 0, 0, 0, 0, XLAT_OK};
  walk_children(&w, g->document, &g->document->v.document.children);
  if (w.st != XLAT_OK) return xlat_fail(w.st, "markup: out of memory reading HTML");
  return XLAT_OK;
}

xlat_status mk_html_render(const xlat_markup *m, mk_buf *out) {
  const GumboOutput *g = m->tree;
  walker w = {(xlat_markup *)m, g, out, NORMAL, 0, 0, 0, 0, 0, XLAT_OK};
  walk_children(&w, g->document, &g->document->v.document.children);
  gap_fill(&w, m->len);
  if (w.st != XLAT_OK) return xlat_fail(w.st, "markup: out of memory writing HTML");
  return XLAT_OK;
}

void mk_html_free(xlat_markup *m) {
  if (!m->tree) return;
  GumboOptions o = options();
  gumbo_destroy_output(&o, m->tree);
  m->tree = NULL;
}

/* markup_md.c - Markdown documents for markup.h, parsed and written with cmark (Debian libcmark-dev), the CommonMark
 * reference implementation.
 *
 * Why cmark: it parses any input (invalid UTF-8 becomes U+FFFD with CMARK_OPT_VALIDATE_UTF8) into an AST whose
 * inline nodes can be replaced, and cmark_render_commonmark writes the AST back with text escaped wherever it would
 * otherwise become markup. The document's structure (headings, lists, block quotes, links, emphasis, code spans,
 * fenced code kept verbatim) is preserved; its spelling is normalised (e.g. "*" list bullets may become "-").
 * Tables are not CommonMark and stay text; images' alt text and raw HTML blocks are not translated.
 *
 * Each paragraph and heading is a block. Emphasis, strong emphasis and links are spans carried to the aligned target
 * words; code spans, inline HTML, hard line breaks and images are items kept whole. Rendering parses the source
 * again (cmark's parse is deterministic), rebuilds the inline children of each translated block from the
 * translation, reusing the fresh tree's own span and item nodes, and renders the tree. */
#include <cmark.h>
#include <stdlib.h>
#include <string.h>

#include "markup_internal.h"

#define MD_OPTIONS CMARK_OPT_VALIDATE_UTF8

static void read_inline(mk_block *b, cmark_node *n) {
  switch (cmark_node_get_type(n)) {
  case CMARK_NODE_TEXT: {
    const char *t = cmark_node_get_literal(n);
    mk_block_text(b, t, strlen(t));
    return;
  }
  case CMARK_NODE_SOFTBREAK: mk_block_text(b, " ", 1); return;
  case CMARK_NODE_EMPH: case CMARK_NODE_STRONG: case CMARK_NODE_LINK:
    mk_block_open(b, n);
    for (cmark_node *c = cmark_node_first_child(n); c; c = cmark_node_next(c)) read_inline(b, c);
    mk_block_close(b);
    return;
  default: /* code span, inline HTML, hard break, image, custom */
    mk_block_item(b, n, cmark_node_get_type(n) != CMARK_NODE_HTML_INLINE);
  }
}

/* Block b read from paragraph or heading n; 1 when it has text to translate. */
static int read_block(mk_block *b, cmark_node *n) {
  for (cmark_node *c = cmark_node_first_child(n); c; c = cmark_node_next(c)) read_inline(b, c);
  return mk_block_finish(b);
}

/* The document's paragraphs and headings in document order (malloc'ed array, *n of them; NULL when out of memory). */
static cmark_node **text_blocks(cmark_node *doc, size_t *n) {
  size_t cap = 16;
  cmark_node **v = malloc(cap * sizeof *v);
  cmark_iter *it = cmark_iter_new(doc);
  *n = 0;
  if (!v || !it) {
    free(v), cmark_iter_free(it);
    return NULL;
  }
  cmark_event_type ev;
  while ((ev = cmark_iter_next(it)) != CMARK_EVENT_DONE) {
    cmark_node *c = cmark_iter_get_node(it);
    cmark_node_type t = cmark_node_get_type(c);
    if (ev != CMARK_EVENT_ENTER || (t != CMARK_NODE_PARAGRAPH && t != CMARK_NODE_HEADING)) continue;
    if (*n == cap) {
      cmark_node **w = realloc(v, 2 * cap * sizeof *v);
      if (!w) {
        free(v), cmark_iter_free(it);
        return NULL;
      }
      v = w, cap *= 2;
    }
    v[(*n)++] = c;
  }
  cmark_iter_free(it);
  return v;
}

xlat_status mk_md_parse(xlat_markup *m) {
  cmark_node *doc = cmark_parse_document(m->doc, m->len, MD_OPTIONS);
  size_t n = 0;
  cmark_node **nodes = doc ? text_blocks(doc, &n) : NULL;
  xlat_status st = nodes ? XLAT_OK : XLAT_ERR_NOMEM;
  for (size_t i = 0; i < n && st == XLAT_OK; i++) {
    int32_t k = mk_add_block(m);
    if (k < 0) {
      st = XLAT_ERR_NOMEM;
      break;
    }
    int has_text = read_block(&m->blocks[k], nodes[i]);
    if (mk_block_oom(&m->blocks[k])) st = XLAT_ERR_NOMEM;
    if (!has_text) mk_block_clear(&m->blocks[k]), m->n_blocks--;
  }
  free(nodes);
  if (doc) cmark_node_free(doc);
  return st == XLAT_OK ? XLAT_OK : xlat_fail(st, "markup: out of memory reading Markdown");
}

/* ---- rebuilding a translated block ------------------------------------------------------------------------------- */
typedef struct {
  mk_sink base;
  cmark_node *stack[256]; /* deeper nesting goes to the deepest level kept */
  int sp, oom;
} md_sink;

static cmark_node *md_top(md_sink *s) { return s->stack[s->sp - 1]; }

static void md_text(mk_sink *base, const char *p, size_t n) {
  md_sink *s = (md_sink *)base;
  char *t = malloc(n + 1);
  cmark_node *c = cmark_node_new(CMARK_NODE_TEXT);
  if (!t || !c) {
    free(t), s->oom = 1;
    if (c) cmark_node_free(c);
    return;
  }
  for (size_t i = 0; i < n; i++) t[i] = p[i] == '\n' || p[i] == '\r' ? ' ' : p[i]; /* a block is one paragraph */
  t[n] = '\0';
  if (!cmark_node_set_literal(c, t) || !cmark_node_append_child(md_top(s), c)) s->oom = 1, cmark_node_free(c);
  free(t);
}

static void md_open(mk_sink *base, const mk_span *e) {
  md_sink *s = (md_sink *)base;
  cmark_node_append_child(md_top(s), e->node);
  if (s->sp < 256) s->stack[s->sp++] = e->node;
}

static void md_close(mk_sink *base, const mk_span *e) {
  md_sink *s = (md_sink *)base;
  if (md_top(s) == e->node) s->sp--;
}

static void md_item(mk_sink *base, const mk_item *e) { cmark_node_append_child(md_top((md_sink *)base), e->node); }

static void free_children(cmark_node *n) {
  cmark_node *c;
  while ((c = cmark_node_first_child(n))) cmark_node_free(c);
}

/* Takes the spans and items (layout, read from node) out of node, drops the source text and builds node's inline
 * children from block b's translation. */
static int rebuild(cmark_node *node, const mk_block *b, const mk_block *layout) {
  for (int32_t i = 0; i < layout->n_items; i++) cmark_node_unlink(layout->items[i].node);
  for (int32_t i = 0; i < layout->n_spans; i++) cmark_node_unlink(layout->spans[i].node);
  for (int32_t i = 0; i < layout->n_spans; i++) free_children(layout->spans[i].node);
  free_children(node);
  md_sink s = {{md_text, md_open, md_close, md_item}, {node}, 1, 0};
  return mk_place(b, layout, &s.base) || s.oom ? -1 : 0;
}

xlat_status mk_md_render(const xlat_markup *m, mk_buf *out) {
  cmark_node *doc = cmark_parse_document(m->doc, m->len, MD_OPTIONS);
  size_t n = 0;
  cmark_node **nodes = doc ? text_blocks(doc, &n) : NULL;
  int oom = !nodes;
  int32_t k = 0;
  for (size_t i = 0; i < n && !oom && k < m->n_blocks; i++) {
    mk_block layout;
    memset(&layout, 0, sizeof layout);
    mk_block_clear(&layout);
    int has_text = read_block(&layout, nodes[i]);
    oom = mk_block_oom(&layout);
    if (has_text && !oom && m->blocks[k++].translated) oom = rebuild(nodes[i], &m->blocks[k - 1], &layout) != 0;
    mk_block_clear(&layout);
  }
  char *text = oom ? NULL : cmark_render_commonmark(doc, MD_OPTIONS, 0);
  if (text) mk_puts(out, text);
  free(text), free(nodes);
  if (doc) cmark_node_free(doc);
  return text ? XLAT_OK : xlat_fail(XLAT_ERR_NOMEM, "markup: out of memory writing Markdown");
}

/* test_markup.c - markup.h without a model: fake translations (every word upper-cased with the identity alignment,
 * or the words reversed) show where text, inline tags and items land; real-world-shaped, malformed and truncated
 * HTML, Markdown and plain text; the output re-parsed to check its element structure against the input's. */
#include <cmark.h>
#include <ctype.h>
#include <gumbo.h>
#include <string.h>

#include "markup.h"
#include "test.h"

/* ---- fake translations ------------------------------------------------------------------------------------------- */
enum { IDENTITY, REVERSED };

/* Block i translated: its words upper-cased (ASCII), in order or reversed, one link per word. */
static void fake_translate(xlat_markup *m, int32_t i, int how) {
  size_t n;
  const char *s = xlat_markup_block(m, i, &n);
  int32_t wb[512], we[512], nw = 0;
  for (size_t k = 0; k < n && nw < 512;) {
    while (k < n && s[k] == ' ') k++;
    if (k == n) break;
    wb[nw] = (int32_t)k;
    while (k < n && s[k] != ' ') k++;
    we[nw++] = (int32_t)k;
  }
  char *t = malloc(n + 1);
  xlat_markup_link links[512];
  size_t len = 0;
  for (int32_t j = 0; j < nw; j++) {
    int32_t w = how == REVERSED ? nw - 1 - j : j;
    if (j) t[len++] = ' ';
    links[j] = (xlat_markup_link){(int32_t)len, (int32_t)(len + (size_t)(we[w] - wb[w])), wb[w], we[w]};
    for (int32_t c = wb[w]; c < we[w]; c++) t[len++] = (char)(s[c] >= 'a' && s[c] <= 'z' ? s[c] - 32 : s[c]);
  }
  CHECK(xlat_markup_set(m, i, t, len, links, nw) == XLAT_OK);
  free(t);
}

/* The document parsed, every block translated (how < 0: none), rendered; NULL on failure. Caller frees. */
static char *render(xlat_markup_format fmt, const char *doc, size_t len, int how) {
  xlat_markup *m;
  if (xlat_markup_parse(fmt, doc, len, &m) != XLAT_OK) return NULL;
  for (int32_t i = 0; how >= 0 && i < xlat_markup_blocks(m); i++) fake_translate(m, i, how);
  char *out = NULL;
  size_t n = 0;
  CHECK(xlat_markup_render(m, &out, &n) == XLAT_OK);
  CHECK(out && strlen(out) == n);
  xlat_markup_free(m);
  return out;
}

static int md_word_byte(char c) { return isalnum((unsigned char)c) || (unsigned char)c >= 0x80; }

/* Every word of every block appears upper-cased (HTML-escaped when html) in out: no text was lost. Markdown's
 * renderer escapes punctuation that would be markup, so there a word is a run of letters and digits. */
static int all_words_kept(xlat_markup_format fmt, const char *doc, size_t len, const char *out) {
  xlat_markup *m;
  if (xlat_markup_parse(fmt, doc, len, &m) != XLAT_OK) return 0;
  int ok = 1;
  for (int32_t i = 0; i < xlat_markup_blocks(m); i++) {
    const char *s = xlat_markup_block(m, i, NULL);
    char word[4096];
    while (*s && ok) {
      size_t k = 0;
      for (; *s && *s != ' ' && k + 6 < sizeof word; s++) {
        if (fmt == XLAT_MARKUP_MARKDOWN && !md_word_byte(*s)) break;
        const char *e = fmt != XLAT_MARKUP_HTML ? NULL
                        : *s == '&'             ? "&amp;"
                        : *s == '<'             ? "&lt;"
                        : *s == '>'             ? "&gt;"
                                                : NULL;
        if (e) memcpy(word + k, e, strlen(e)), k += strlen(e);
        else word[k++] = (char)(*s >= 'a' && *s <= 'z' ? *s - 32 : *s);
      }
      word[k] = '\0';
      if (k && !strstr(out, word)) {
        fprintf(stderr, "word '%s' of block %d lost in:\n%s\n", word, (int)i, out);
        ok = 0;
      }
      while (*s == ' ' || (fmt == XLAT_MARKUP_MARKDOWN && *s && !md_word_byte(*s))) s++;
    }
  }
  xlat_markup_free(m);
  return ok;
}

/* ---- element structure: "depth:name " for each element in document order ---------------------------------------- */
static void tags_of(const GumboNode *n, int depth, char *out, size_t cap) {
  if (n->type != GUMBO_NODE_ELEMENT && n->type != GUMBO_NODE_TEMPLATE) return;
  const GumboElement *e = &n->v.element;
  size_t at = strlen(out);
  const char *name = e->tag == GUMBO_TAG_UNKNOWN ? "?" : gumbo_normalized_tagname(e->tag);
  snprintf(out + at, cap - at, "%d:%s ", depth, name);
  for (unsigned i = 0; i < e->children.length; i++) tags_of(e->children.data[i], depth + 1, out, cap);
}

static char *tag_structure(const char *html, size_t len) {
  static char buf[2][1 << 16];
  static int k;
  k ^= 1;
  buf[k][0] = '\0';
  GumboOutput *g = gumbo_parse_with_options(&kGumboDefaultOptions, html, len);
  tags_of(g->root, 0, buf[k], sizeof buf[k]);
  gumbo_destroy_output(&kGumboDefaultOptions, g);
  return buf[k];
}

static int same_structure(const char *a, size_t na, const char *b) {
  const char *x = tag_structure(a, na), *y = tag_structure(b, strlen(b));
  if (strcmp(x, y)) fprintf(stderr, "structure differs:\n  in:  %s\n  out: %s\n", x, y);
  return !strcmp(x, y);
}

/* The HTML rendering of one translated paragraph, for exact comparisons. */
static int html_is(const char *doc, int how, const char *expected) {
  char *out = render(XLAT_MARKUP_HTML, doc, strlen(doc), how);
  int ok = out && !strcmp(out, expected);
  if (!ok) fprintf(stderr, "html:     %s\n got:     %s\n expected %s\n", doc, out ? out : "(null)", expected);
  free(out);
  return ok;
}

/* ---- tests ------------------------------------------------------------------------------------------------------- */
static const char page[] =
    "<!DOCTYPE html>\n"
    "<html lang=\"en\">\n"
    "<head>\n"
    "  <meta charset=\"utf-8\">\n"
    "  <title>Fish &amp; chips</title>\n"
    "  <style>p > b { color: red; } /* <p>not text</p> */</style>\n"
    "  <script>if (a < b && c) { document.write(\"<p>x</p>\"); }</script>\n"
    "</head>\n"
    "<body>\n"
    "<!-- navigation bar -->\n"
    "<h1 class=\"title\">Welcome to the <em>new</em> site</h1>\n"
    "<p>Read the <a href=\"https://example.org/?a=1&amp;b=2\" title=\"Docs &amp; more\">full manual</a> and\n"
    "   the <b>release notes</b>&nbsp;today. It&#x27;s free.</p>\n"
    "<ul>\n"
    "  <li>First item</li>\n"
    "  <li>Second item\n"
    "    <ol><li>Nested <i>one</i></li><li>Nested two</li></ol>\n"
    "  </li>\n"
    "</ul>\n"
    "<table>\n"
    "  <tr><th>Name</th><th>Price</th></tr>\n"
    "  <tr><td>Tea</td><td>2 &euro;</td></tr>\n"
    "</table>\n"
    "<p>Line one<br>line two <img src=\"a.png\" alt=\"An image\"> after the image.</p>\n"
    "<p>Call <code>make &amp;&amp; make test</code> to build.</p>\n"
    "<pre>  keep   this\n  <b>exactly</b> as is</pre>\n"
    "</body>\n"
    "</html>\n";

static void test_html_page(void) {
  xlat_markup *m;
  CHECK(xlat_markup_parse(XLAT_MARKUP_HTML, page, sizeof page - 1, &m) == XLAT_OK);
  const char *expect[] = {"Fish & chips", "Welcome to the new site",
                          "Read the full manual and the release notes\xC2\xA0today. It's free.", "First item",
                          "Second item", "Nested one", "Nested two", "Name", "Price", "Tea", "2 \xE2\x82\xAC",
                          "Line one line two after the image.", "Call to build."};
  int32_t n = (int32_t)(sizeof expect / sizeof *expect);
  CHECK(xlat_markup_blocks(m) == n);
  for (int32_t i = 0; i < n && i < xlat_markup_blocks(m); i++) {
    const char *b = xlat_markup_block(m, i, NULL);
    if (strcmp(b, expect[i])) fprintf(stderr, "block %d: '%s', expected '%s'\n", (int)i, b, expect[i]);
    CHECK(!strcmp(b, expect[i]));
  }
  CHECK(xlat_markup_block(m, n, NULL) == NULL);
  xlat_markup_free(m);

  char *same = render(XLAT_MARKUP_HTML, page, sizeof page - 1, -1); /* untranslated: the page itself */
  CHECK(same && !strcmp(same, page));
  if (same && strcmp(same, page)) fprintf(stderr, "untranslated page:\n%s\n", same);
  free(same);

  char *out = render(XLAT_MARKUP_HTML, page, sizeof page - 1, IDENTITY);
  CHECK(out != NULL);
  if (!out) return;
  CHECK(same_structure(page, sizeof page - 1, out));
  CHECK(all_words_kept(XLAT_MARKUP_HTML, page, sizeof page - 1, out));
  const char *verbatim[] = {"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n  <meta charset=\"utf-8\">\n",
                            "<style>p > b { color: red; } /* <p>not text</p> */</style>",
                            "<script>if (a < b && c) { document.write(\"<p>x</p>\"); }</script>",
                            "<!-- navigation bar -->", "<code>make &amp;&amp; make test</code>",
                            "<pre>  keep   this\n  <b>exactly</b> as is</pre>", "</body>\n</html>\n"};
  for (size_t i = 0; i < sizeof verbatim / sizeof *verbatim; i++) {
    if (!strstr(out, verbatim[i])) fprintf(stderr, "not kept verbatim: %s\n", verbatim[i]);
    CHECK(strstr(out, verbatim[i]) != NULL);
  }
  const char *translated[] = {
      "<title>FISH &amp; CHIPS</title>",
      "<h1 class=\"title\">WELCOME TO THE <em>NEW</em> SITE</h1>",
      /* the fake tokens are split at ASCII spaces only: "notes&nbsp;today." is one, wrapped whole */
      "<a href=\"https://example.org/?a=1&amp;b=2\" title=\"Docs &amp; more\">FULL MANUAL</a> AND THE <b>RELEASE "
      "NOTES\xC2\xA0TODAY.</b> IT'S FREE.</p>",
      "<li>NESTED <i>ONE</i></li>",
      "<td>2 \xE2\x82\xAC</td>",
      "<p>LINE ONE<br> LINE TWO <img src=\"a.png\" alt=\"An image\"> AFTER THE IMAGE.</p>",
      "<p>CALL <code>make &amp;&amp; make test</code> TO BUILD.</p>",
  };
  for (size_t i = 0; i < sizeof translated / sizeof *translated; i++) {
    if (!strstr(out, translated[i])) fprintf(stderr, "not found: %s\n", translated[i]);
    CHECK(strstr(out, translated[i]) != NULL);
  }
  free(out);
}

static void test_html_placement(void) {
  /* tags follow their words when the order changes */
  CHECK(html_is("<p>one <b>two</b> three</p>", REVERSED, "<p>THREE <b>TWO</b> ONE</p>"));
  CHECK(html_is("<p><i>a b</i> c <b>d</b></p>", REVERSED, "<p><b>D</b> C <i>B A</i></p>"));
  CHECK(html_is("<p><a href=x>a <b>b</b></a> c</p>", REVERSED, "<p>C <a href=x><b>B</b> A</a></p>"));
  /* crossing hulls are clamped: nested elements stay nested */
  CHECK(html_is("<p><a href=x>a <b>b c</b></a> d</p>", IDENTITY, "<p><a href=x>A <b>B C</b></a> D</p>"));
  CHECK(html_is("<p><b>one</b> two <i>three</i></p>", IDENTITY, "<p><b>ONE</b> TWO <i>THREE</i></p>"));
  /* items stay with their owner; an image inside a link stays inside it */
  CHECK(html_is("<p><a href=x><img src=y> click</a> here</p>", IDENTITY, "<p><a href=x><img src=y>CLICK</a> HERE</p>"));
  CHECK(html_is("<p><b>word<br></b> next</p>", IDENTITY, "<p><b>WORD<br></b> NEXT</p>"));
  /* whitespace around a block keeps its layout; inner whitespace collapses */
  CHECK(html_is("<div>\n  Hello\n  <b>big</b>   world\n</div>", IDENTITY, "<div>\n  HELLO <b>BIG</b> WORLD\n</div>"));
  /* escaping of the translation */
  CHECK(html_is("<p>a &lt;b&gt; &amp; c</p>", IDENTITY, "<p>A &lt;B&gt; &amp; C</p>"));

  /* no alignment at all: every tag kept (empty, at the start) */
  xlat_markup *m;
  CHECK(xlat_markup_parse(XLAT_MARKUP_HTML, "<p>a <b>b</b> <!--c--> d</p>", 27, &m) == XLAT_OK);
  CHECK(xlat_markup_set(m, 0, "X Y", 3, NULL, 0) == XLAT_OK);
  char *out;
  CHECK(xlat_markup_render(m, &out, NULL) == XLAT_OK);
  CHECK(!strcmp(out, "<p><b></b><!--c-->X Y</p>"));
  free(out);
  /* a token aligned to nothing, and a span whose words vanished: stays after the token aligned before it */
  xlat_markup_link l[2] = {{0, 1, 0, 1}, {2, 3, -1, 0}};
  CHECK(xlat_markup_set(m, 0, "A Z", 3, l, 2) == XLAT_OK);
  CHECK(xlat_markup_render(m, &out, NULL) == XLAT_OK);
  CHECK(!strcmp(out, "<p>A<b></b> <!--c--> Z</p>")); /* the comment keeps the space before it */
  free(out);
  xlat_markup_free(m);
}

static const char *malformed[] = {
    "<p>unclosed <b>bold <i>both</p><p>next para",
    "<div>stray</div></div> end tag</span> here",
    "<p>before <!-- unterminated comment with words",
    "<p class=a title=b c>unquoted attributes</p>",
    "<b>x<p>misnested</b> formatting</p>",
    "<table>foster parented<tr><td>cell</td>text</tr></table>",
    "<p>bad \xFF\xFE bytes and \xC3( half</p>",
    "<p>a nul \0 inside</p>",
    "<ul><li>one<li>two<li>three</ul>",
    "plain text with no tags at all",
    "</p>close first",
    "<a href='x'>link <a href='y'>nested link</a></a>",
    "<p>&am &amp &#99999999; &#x; entities</p>",
    "",
};
static const size_t malformed_len[] = {0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0, 0, 0, 0};

static void check_html_robust(const char *doc, size_t len, int structure) {
  char *out = render(XLAT_MARKUP_HTML, doc, len, IDENTITY);
  CHECK(out != NULL);
  if (!out) return;
  CHECK(all_words_kept(XLAT_MARKUP_HTML, doc, len, out));
  if (structure) CHECK(same_structure(doc, len, out));
  free(out);
  out = render(XLAT_MARKUP_HTML, doc, len, REVERSED);
  CHECK(out != NULL);
  if (structure && out) { /* the same elements, possibly in another order: compare counts */
    const char *a = tag_structure(doc, len), *b = tag_structure(out, strlen(out));
    CHECK(strlen(a) == strlen(b));
  }
  free(out);
}

static void test_html_malformed(void) {
  xlat_markup *m;
  CHECK(xlat_markup_parse(XLAT_MARKUP_HTML, malformed[6], strlen(malformed[6]), &m) == XLAT_OK);
  const char *b = xlat_markup_blocks(m) == 1 ? xlat_markup_block(m, 0, NULL) : "";
  CHECK(xlat_utf8_valid(b, strlen(b)));
  CHECK(strstr(b, "bad \xEF\xBF\xBD") != NULL);
  xlat_markup_free(m);
  /* text moved out of a table does not run into its neighbour */
  CHECK(xlat_markup_parse(XLAT_MARKUP_HTML, malformed[5], strlen(malformed[5]), &m) == XLAT_OK);
  CHECK(xlat_markup_blocks(m) == 2 && !strcmp(xlat_markup_block(m, 0, NULL), "foster parented text"));
  xlat_markup_free(m);
  for (size_t i = 0; i < sizeof malformed / sizeof *malformed; i++) {
    size_t len = malformed_len[i] ? malformed_len[i] : strlen(malformed[i]);
    check_html_robust(malformed[i], len, 1);
  }
  /* every prefix of the page: never a crash, never a lost word */
  for (size_t n = 0; n <= sizeof page - 1; n++) check_html_robust(page, n, 0);
}

static const char md[] = "# A heading with `code`\n"
                         "\n"
                         "Some **bold** text and _emphasis_ with a [link](https://example.org \"Title\").\n"
                         "Soft broken line.\n"
                         "\n"
                         "- first item\n"
                         "- second item\n"
                         "  - nested *item*\n"
                         "\n"
                         "```c\n"
                         "int main(void) { return 0; } /* not text */\n"
                         "```\n"
                         "\n"
                         "> quoted words\n";

static char *md_html(const char *s) { return cmark_markdown_to_html(s, strlen(s), CMARK_OPT_DEFAULT); }

static void test_markdown(void) {
  xlat_markup *m;
  CHECK(xlat_markup_parse(XLAT_MARKUP_MARKDOWN, md, sizeof md - 1, &m) == XLAT_OK);
  const char *expect[] = {"A heading with", "Some bold text and emphasis with a link. Soft broken line.",
                          "first item", "second item", "nested item", "quoted words"};
  int32_t n = (int32_t)(sizeof expect / sizeof *expect);
  CHECK(xlat_markup_blocks(m) == n);
  for (int32_t i = 0; i < n && i < xlat_markup_blocks(m); i++) {
    if (strcmp(xlat_markup_block(m, i, NULL), expect[i]))
      fprintf(stderr, "md block %d: '%s'\n", (int)i, xlat_markup_block(m, i, NULL));
    CHECK(!strcmp(xlat_markup_block(m, i, NULL), expect[i]));
  }
  xlat_markup_free(m);

  char *same = render(XLAT_MARKUP_MARKDOWN, md, sizeof md - 1, -1);
  char *h1 = md_html(md), *h2 = same ? md_html(same) : NULL;
  CHECK(h2 && !strcmp(h1, h2)); /* untranslated: the same document, perhaps spelled differently */
  free(same), free(h1), free(h2);

  char *out = render(XLAT_MARKUP_MARKDOWN, md, sizeof md - 1, IDENTITY);
  CHECK(out != NULL);
  if (!out) return;
  /* the fake translation's tokens are words with their punctuation: "link." is one token, wrapped whole */
  const char *want[] = {"# A HEADING WITH `code`\n",
                        "SOME **BOLD** TEXT AND *EMPHASIS* WITH A [LINK.](https://example.org \"Title\") SOFT "
                        "BROKEN LINE.",
                        "- NESTED *ITEM*", "``` c\nint main(void) { return 0; } /* not text */\n```\n",
                        "> QUOTED WORDS"};
  for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
    if (!strstr(out, want[i])) fprintf(stderr, "markdown: not found '%s' in:\n%s\n", want[i], out);
    CHECK(strstr(out, want[i]) != NULL);
  }
  CHECK(all_words_kept(XLAT_MARKUP_MARKDOWN, md, sizeof md - 1, out));
  h1 = md_html(md), h2 = md_html(out); /* same element structure once both are HTML */
  CHECK(same_structure(h1, strlen(h1), h2));
  free(h1), free(h2), free(out);

  out = render(XLAT_MARKUP_MARKDOWN, "one **two** three\n", 18, REVERSED);
  CHECK(out && !strcmp(out, "THREE **TWO** ONE\n"));
  free(out);
  /* text that would be markup is escaped by the renderer */
  CHECK(xlat_markup_parse(XLAT_MARKUP_MARKDOWN, "plain\n", 6, &m) == XLAT_OK);
  CHECK(xlat_markup_set(m, 0, "*not emphasis*", 14, NULL, 0) == XLAT_OK);
  CHECK(xlat_markup_render(m, &out, NULL) == XLAT_OK);
  h1 = md_html(out);
  CHECK(strstr(h1, "<em>") == NULL);
  free(h1), free(out);
  xlat_markup_free(m);
  /* invalid bytes and every prefix: no crash, no lost word */
  out = render(XLAT_MARKUP_MARKDOWN, "bad \xFF bytes \xC3\n", 14, IDENTITY);
  CHECK(out && strstr(out, "BAD \xEF\xBF\xBD BYTES"));
  free(out);
  for (size_t k = 0; k <= sizeof md - 1; k++) {
    out = render(XLAT_MARKUP_MARKDOWN, md, k, IDENTITY);
    CHECK(out && all_words_kept(XLAT_MARKUP_MARKDOWN, md, k, out));
    free(out);
  }
}

static void test_text(void) {
  const char doc[] = "First line\nof one paragraph.\n\n\n  Second\tparagraph.  \r\n\r\nThird";
  xlat_markup *m;
  CHECK(xlat_markup_parse(XLAT_MARKUP_TEXT, doc, sizeof doc - 1, &m) == XLAT_OK);
  CHECK(xlat_markup_blocks(m) == 3);
  CHECK(!strcmp(xlat_markup_block(m, 0, NULL), "First line of one paragraph."));
  CHECK(!strcmp(xlat_markup_block(m, 1, NULL), "Second paragraph."));
  CHECK(!strcmp(xlat_markup_block(m, 2, NULL), "Third"));
  char *out;
  CHECK(xlat_markup_render(m, &out, NULL) == XLAT_OK);
  CHECK(!strcmp(out, doc));
  free(out);
  for (int32_t i = 0; i < 3; i++) fake_translate(m, i, IDENTITY);
  CHECK(xlat_markup_render(m, &out, NULL) == XLAT_OK);
  CHECK(!strcmp(out, "FIRST LINE OF ONE PARAGRAPH.\n\n\n  SECOND PARAGRAPH.  \r\n\r\nTHIRD"));
  free(out);
  xlat_markup_free(m);
  out = render(XLAT_MARKUP_TEXT, "a \xFF b\n", 6, -1);
  CHECK(out && !memcmp(out, "a \xFF b\n", 6));
  free(out);
}

static void test_errors(void) {
  xlat_markup *m;
  CHECK(xlat_markup_parse((xlat_markup_format)7, "x", 1, &m) == XLAT_ERR_ARG && m == NULL);
  CHECK(xlat_markup_parse(XLAT_MARKUP_HTML, "<p>ab cd</p>", 12, &m) == XLAT_OK);
  xlat_markup_link bad_tgt = {0, 9, 0, 2}, bad_src = {0, 2, 0, 6}, l[2] = {{0, 2, 0, 2}, {1, 2, 3, 5}};
  CHECK(xlat_markup_set(m, 1, "AB", 2, NULL, 0) == XLAT_ERR_ARG);
  CHECK(xlat_markup_set(m, 0, "AB", 2, &bad_tgt, 1) == XLAT_ERR_ARG);
  CHECK(xlat_markup_set(m, 0, "AB", 2, &bad_src, 1) == XLAT_ERR_ARG);
  CHECK(xlat_markup_set(m, 0, "AB CD", 5, l, 2) == XLAT_ERR_ARG); /* overlapping */
  CHECK(strstr(xlat_last_error(), "link 1") != NULL);
  CHECK(xlat_markup_set(m, 0, "A\0B", 3, NULL, 0) == XLAT_ERR_ARG);
  xlat_markup_free(m);
  xlat_markup_free(NULL);
}

int main(void) {
  test_html_page();
  test_html_placement();
  test_html_malformed();
  test_markdown();
  test_text();
  test_errors();
  TEST_END();
}

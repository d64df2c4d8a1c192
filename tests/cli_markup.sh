#!/bin/bash
# cli_markup.sh - documents with markup end to end (xlat-decode --input-format html|markdown, the service's format
# "html") on the real-world-shaped pages of tests/markup/: the output parses and keeps every tag with its attributes
# in order, script / style / pre / code / comments byte for byte, every text block translated; malformed HTML never
# crashes and keeps every tag it had; Markdown keeps headings, lists, links, code spans and fenced code; the service
# answers what xlat-decode writes.
#
# Needs a trained model: harness.sh's tiny_model.
. "$(dirname "$0")/harness.sh"
. "$SRC/tests/server.sh"
DEC="$BIN/xlat-decode"
PAGES=$SRC/tests/markup
tiny_model

# html_check IN OUT STRICT: OUT parses; its tags (name and attributes) are IN's in order (STRICT=1: exactly, void ones
# like <br> as a multiset; else IN's start tags are a subsequence of OUT's: a repaired page gains tags); raw content
# kept; text blocks not empty
html_check() {
  python3 - "$1" "$2" "$3" <<'EOF'
import sys
from html.parser import HTMLParser
class Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.raw, self.comments, self.blocks, self.open = [], [], [], [], []
    def handle_starttag(self, tag, attrs):
        self.tags.append(("<", tag, tuple(attrs)))
        self.open.append(tag)
    def handle_endtag(self, tag):
        self.tags.append(("</", tag))
        if tag in self.open:
            del self.open[len(self.open) - 1 - self.open[::-1].index(tag):]
    def handle_data(self, data):
        where = self.open[-1] if self.open else ""
        if where in ("script", "style", "pre", "code"):
            self.raw.append((where, data))
        elif data.strip():
            self.blocks.append(data.strip())
    def handle_comment(self, data):
        self.comments.append(data)
def parse(path):
    p = Page()
    p.feed(open(path, encoding="utf-8").read())
    p.close()
    return p
a, b, strict = parse(sys.argv[1]), parse(sys.argv[2]), sys.argv[3] == "1"
starts = lambda p: [t for t in p.tags if t[0] == "<"]
void = lambda t: t[1] in ("br", "img", "wbr", "hr", "input")
if strict:  # void elements move with their aligned words, even past a sibling void element: compared as a multiset
    solid = lambda p: [t for t in p.tags if not void(t)]
    assert solid(a) == solid(b), "tags differ:\n%s\n%s" % (solid(a), solid(b))
    assert sorted(filter(void, a.tags)) == sorted(filter(void, b.tags)), "void elements differ"
else:
    it = iter(starts(b))
    missing = [t for t in starts(a) if not any(t == u for u in it)]
    assert not missing, "tags lost: %s" % missing
assert a.raw == b.raw, "raw content changed:\n%s\n%s" % (a.raw, b.raw)
if strict:  # (a repaired page closes an unterminated comment)
    assert [c.strip() for c in a.comments] == [c.strip() for c in b.comments], "comments changed"
assert len(b.blocks) >= len(a.blocks) // 2 and all(b.blocks), "text blocks lost: %s" % b.blocks
EOF
}

# ---- HTML -----------------------------------------------------------------------------------------------------
"$DEC" --model "$MODEL" --input-format html --input "$PAGES/article.html" --output "$T/article.out.html" \
  2>"$T/err" || fail "article.html: exit $? $(cat "$T/err")"
html_check "$PAGES/article.html" "$T/article.out.html" 1 || fail "article.html: tags, raw content or text not kept"
grep -q 'href="/news?id=3&amp;page=2"' "$T/article.out.html" || fail "article.html: an attribute changed"
cmp -s <(sed -n '/<h1>/p' "$PAGES/article.html") <(sed -n '/<h1>/p' "$T/article.out.html") &&
  fail "article.html: the heading was not translated"
# the same through standard input and output, with other batching: the same document
"$DEC" --model "$MODEL" --input-format html --threads 1 --batch-size 3 <"$PAGES/article.html" >"$T/article.2.html" &&
  cmp -s "$T/article.out.html" "$T/article.2.html" || fail "article.html: depends on batching or stdin"

"$DEC" --model "$MODEL" --input-format html --input "$PAGES/malformed.html" >"$T/malformed.out.html" 2>"$T/err" ||
  fail "malformed.html: exit $? $(cat "$T/err")"
html_check "$PAGES/malformed.html" "$T/malformed.out.html" 0 || fail "malformed.html: tags or text lost"
# every prefix of a page cut at a tag, an entity or a character: no crash, always a document
for cut in 37 120 211 333 499 777; do
  head -c "$cut" "$PAGES/article.html" >"$T/cut.html"
  "$DEC" --model "$MODEL" --input-format html --input "$T/cut.html" >"$T/cut.out" 2>"$T/err" ||
    fail "article.html cut at $cut bytes: exit $? $(cat "$T/err")"
done
printf '<p>A dog \xff\x01 runs</p>\n' | "$DEC" --model "$MODEL" --input-format html >"$T/bad.out" 2>"$T/err" ||
  fail "invalid UTF-8 in HTML: exit $?"

# ---- Markdown -------------------------------------------------------------------------------------------------
"$DEC" --model "$MODEL" --input-format markdown --input "$PAGES/notes.md" >"$T/notes.out.md" 2>"$T/err" ||
  fail "notes.md: exit $? $(cat "$T/err")"
[ "$(grep -c '^#' "$T/notes.out.md")" -eq 2 ] || fail "notes.md: headings: $(grep '^#' "$T/notes.out.md")"
[ "$(grep -cE '^ *- ' "$T/notes.out.md")" -eq 3 ] && [ "$(grep -cE '^ *[0-9]+\. ' "$T/notes.out.md")" -eq 2 ] ||
  fail "notes.md: list items: $(cat "$T/notes.out.md")"
grep -q '](https://example.org/sea "the sea")' "$T/notes.out.md" && grep -q '`book`' "$T/notes.out.md" &&
  grep -qF 'xlat-decode --help   # not translated' "$T/notes.out.md" && grep -q '^> ' "$T/notes.out.md" ||
  fail "notes.md: link, code span, fenced code or quote lost: $(cat "$T/notes.out.md")"

# ---- the service's format "html" ------------------------------------------------------------------------------
start_server || fail "the service did not start"
python3 -c "
import json, sys
print(json.dumps({'q': open(sys.argv[1], encoding='utf-8').read(), 'format': 'html', 'target': 'de'}))" \
  "$PAGES/article.html" >"$T/req.json"
curl -s -H 'Content-Type: application/json' --data-binary @"$T/req.json" "$URL/translate" >"$T/answer.json"
python3 -c "
import json, sys
got = json.load(open(sys.argv[1]))['translatedText']
assert got == open(sys.argv[2], encoding='utf-8').read(), 'differs'" "$T/answer.json" "$T/article.out.html" ||
  fail "service format html: $(head -c 300 "$T/answer.json")"
stop_server || fail "service: exit $?"

# ---- usage ----------------------------------------------------------------------------------------------------
"$DEC" --model "$MODEL" --input-format pdf </dev/null 2>/dev/null
[ $? -eq 2 ] || fail "--input-format pdf: expected exit 2"
"$DEC" --model "$MODEL" --input-format html --score "$PAGES/article.html" </dev/null 2>/dev/null
[ $? -eq 2 ] || fail "--input-format html with --score: expected exit 2"

finish cli_markup

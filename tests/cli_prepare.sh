#!/usr/bin/env bash
# cli_prepare.sh - corpora/prepare.sh end to end on small inputs written for it (tests/prepare/: Tatoeba TSV with the
# attribution column, WMT SGML and XML samples, an exclusion list) plus lines made here (CRLF, invalid UTF-8 bytes),
# and on the shipped Multi30k gzip files: exact report counts and exact outputs, the seeded held-out draw, --overlap,
# determinism (two runs, cmp), errors that name file:line, exit statuses, and outputs left intact by a failed run.
# Needs only the repository (no shared corpora).
. "$(dirname "$0")/harness.sh"
prep="$SRC/corpora/prepare.sh"
cd "$T"
mkdir in
cp "$SRC"/tests/prepare/* in/
A='CC-BY 2.0 (France) Attribution: tatoeba.org #1 (sample) & #2 (sample)'
cp in/small.tsv in/tatoeba.tsv
printf 'Thanks.\tDanke.\t%s\r\n' "$A" >>in/tatoeba.tsv                 # CRLF
printf 'Thanks.\tDanke. \t%s\r\n' "$A" >>in/tatoeba.tsv                # the same pair once whitespace is normalised
printf 'Bad \377 byte.\tSchlecht.\t%s\n' "$A" >>in/tatoeba.tsv         # invalid UTF-8: a byte that never occurs
printf 'Cut.\tAbgeschnitten \303\t%s\n' "$A" >>in/tatoeba.tsv          # invalid UTF-8: a sequence cut short

# expect_file FILE: FILE's content must equal stdin
expect_file() { diff -u - "$1" >"$T/diff" || fail "$1 differs from what was expected: $(cat "$T/diff")"; }

# --- all four readers, every reason to drop, a held-out set --------------------------------------------------------
args=(--tsv tatoeba=in/tatoeba.tsv --sgml in/news.src.en.sgm,in/news.ref.de.sgm --xml in/news.de-en.xml
  --plain m30k="$SRC/corpora/multi30k/val.en.gz,$SRC/corpora/multi30k/val.de.gz"
  --exclude in/exclude.en,in/exclude.de --max-chars 40 --holdout dev=3 --holdout-from tatoeba,news.src.en --seed 7)
bash "$prep" --out out "${args[@]}" 2>err || fail "prepare.sh failed: $(cat err)"
# (the table, column by column: read = empty + bad-utf8 + too-long + excluded + duplicate + held-out + train)
sed "s|$SRC|SRC|g" out/prepare.log >log
expect_file log <<'EOF'
prepare.sh: en-de, --overlap pair, --max-chars 40, --seed 7
     read     empty  bad-utf8  too-long  excluded duplicate  held-out     train  input
       14         1         2         1         1         3         1         5  tatoeba (tsv in/tatoeba.tsv); CC-BY attribution column on every line
        6         1         0         0         1         1         2         1  news.src.en (sgml in/news.src.en.sgm,in/news.ref.de.sgm)
        3         0         0         0         0         0         0         3  news.de-en (xml in/news.de-en.xml)
     1014         0         0       977         0         0         0        37  m30k (plain SRC/corpora/multi30k/val.en.gz,SRC/corpora/multi30k/val.de.gz)
     1037         2         2       978         2         4         3        46  all inputs
held out: dev, 3 pairs drawn at random (--seed 7) from tatoeba,news.src.en
excluded: pairs that occur (--overlap pair) in in/exclude.en,in/exclude.de
wrote train.en and train.de: 46 pairs
EOF
grep -q '^prepare.sh: 1037 pairs in ' err || fail "stderr lacks the timing line: $(tail -1 err)"
head -c "$(wc -c <out/prepare.log)" err | cmp -s - out/prepare.log || fail "stderr does not start with the report"
expect_file out/dev.en <<'EOF'
Hi.
Prices rose by 5 & more.
Tags like <b> stay text.
EOF
expect_file out/dev.de <<'EOF'
Hallo!
Die Preise stiegen um 5 & mehr.
Tags wie <b> bleiben Text.
EOF
head -n 9 out/train.en >train9.en
head -n 9 out/train.de >train9.de
expect_file train9.en <<'EOF'
Run!
Wow!
I see.
Greetings from Cologne and Munich!
Thanks.
He said: "It's over."
Good morning & welcome.
That is 'good'.
Two < three.
EOF
expect_file train9.de <<'EOF'
Lauf!
Donnerwetter!
Ich verstehe.
Grüße aus Köln, München und Düsseldorf!!
Danke.
Er sagte: "Es ist vorbei."
Guten Morgen & willkommen.
Das ist 'gut'.
Zwei < drei.
EOF
# the Multi30k part: val without the 977 pairs that have a side over 40 characters (characters, not bytes), in order,
# whitespace normalised
tail -n 37 out/train.en >m.en
tail -n 37 out/train.de >m.de
python3 - "$SRC/corpora/multi30k/val" <<'PY' || fail "the Multi30k part is not val minus the pairs over 40 characters"
import gzip, re, sys
def norm(l): return re.sub(r"[ \t\r\v\f]+", " ", l.rstrip("\n")).strip(" ")
en = [norm(l) for l in gzip.open(sys.argv[1] + ".en.gz", "rt", encoding="utf-8")]
de = [norm(l) for l in gzip.open(sys.argv[1] + ".de.gz", "rt", encoding="utf-8")]
want = [(e, d) for e, d in zip(en, de) if len(e) <= 40 and len(d) <= 40]
got = list(zip(open("m.en", encoding="utf-8").read().splitlines(), open("m.de", encoding="utf-8").read().splitlines()))
sys.exit(0 if want == got and len(got) == 37 else 1)
PY
for f in out/*.en out/*.de; do
  LC_ALL=C.UTF-8 grep -qaxv '.*' "$f" && fail "$f has invalid UTF-8"
  grep -q $'\r\|\t\|^ \| $\|  \|^$' "$f" && fail "$f has CR, TAB, an empty line or unnormalised spaces"
done
[ "$(wc -l <out/train.en)" = "$(wc -l <out/train.de)" ] || fail "train.en and train.de differ in length"
[ -z "$(ls -A out | grep -v '^\(train\|dev\)\.\(en\|de\)$\|^prepare.log$')" ] || fail "stray files in out: $(ls -A out)"

# --- determinism: the same run again gives the same bytes; another seed another draw ------------------------------
bash "$prep" --out again "${args[@]}" 2>/dev/null || fail "second run failed"
for f in train.en train.de dev.en dev.de; do cmp -s "out/$f" "again/$f" || fail "$f differs between two runs"; done
cmp -s out/prepare.log again/prepare.log || fail "prepare.log differs between two runs"
bash "$prep" --out other "${args[@]/7/8}" 2>/dev/null || fail "run with --seed 8 failed"
cmp -s out/dev.en other/dev.en && fail "--seed 8 drew the same held-out set as --seed 7"
grep -q -- '--seed 8' other/prepare.log || fail "the report does not name --seed 8"

# --- --overlap src: a held-out or excluded English sentence leaves training with all its translations ---------------
printf 'Hi.\tHallo!\n' >in/a.tsv
printf 'Hi.\nRun!\nWalk.\n' >in/b.en
printf 'Grüß Gott!\nLauf!\nGeh.\n' >in/b.de
printf 'Walk.\n' >in/x.en
printf 'Spazier.\n' >in/x.de
for mode in pair src; do
  bash "$prep" --out ov-$mode --tsv in/a.tsv --plain in/b.en,in/b.de --holdout dev=1 --holdout-from a \
    --exclude in/x.en,in/x.de --overlap $mode 2>/dev/null || fail "--overlap $mode failed"
done
printf 'Hi.\nRun!\nWalk.\n' | expect_file ov-pair/train.en
printf 'Run!\n' | expect_file ov-src/train.en
printf 'Hallo!\n' | expect_file ov-src/dev.de
grep -q '^        3         0         0         0         2         0         0         1  b ' ov-src/prepare.log ||
  fail "--overlap src: input b's row is wrong: $(grep ' b ' ov-src/prepare.log)"

# --- errors: file, line, what was expected; exit 1 for bad input, 2 for usage ------------------------------------
# expect_error STATUS PATTERN ARGS...: prepare.sh exits with STATUS and its stderr matches PATTERN (grep -E)
expect_error() {
  local want=$1 pattern=$2 rc=0
  shift 2
  bash "$prep" "$@" 2>err >/dev/null || rc=$?
  [ "$rc" -eq "$want" ] || fail "prepare.sh $*: exit $rc, expected $want ($(cat err))"
  grep -Eq -- "$pattern" err || fail "prepare.sh $*: stderr does not match '$pattern': $(cat err)"
}
printf 'Hi.\tHallo!\nRun!\tLauf!\nno tab here\n' >in/notab.tsv
expect_error 1 '^prepare.sh: in/notab.tsv:3: expected English<TAB>German\[<TAB>attribution\], found no TAB in "no tab here"$' \
  --out bad --tsv in/notab.tsv
printf 'Hi.\tHallo!\t%s\nRun!\tLauf!\tby somebody\n' "$A" >in/noattr.tsv
expect_error 1 '^prepare.sh: in/noattr.tsv:2: expected a CC-BY attribution in the third field, found "by somebody"$' \
  --out bad --tsv in/noattr.tsv
printf 'Hi.\tHallo!\nRun!\tLauf!\t%s\n' "$A" >in/cols.tsv
expect_error 1 '^prepare.sh: in/cols.tsv:2: expected 2 TAB-separated fields like line 1, found 3$' --out bad --tsv in/cols.tsv
sed '7s|</seg>||' in/news.ref.de.sgm >in/open.de.sgm
expect_error 1 '^prepare.sh: in/open.de.sgm:7: <seg> not closed: expected <seg id="2">TEXT</seg> on one line' \
  --out bad --sgml in/news.src.en.sgm,in/open.de.sgm
sed '8s|id="3"|id="4"|' in/news.ref.de.sgm >in/ids.de.sgm
expect_error 1 '^prepare.sh: in/ids.de.sgm:8: expected segment alpha:3 to pair with in/news.src.en.sgm:8, found segment alpha:4$' \
  --out bad --sgml in/news.src.en.sgm,in/ids.de.sgm
head -n 2 in/b.de >in/short.de
expect_error 1 '^prepare.sh: in/short.de:3: expected a line to pair with in/b.en:3, found the end of the file$' \
  --out bad --plain in/b.en,in/short.de
expect_error 1 '^prepare.sh: in/short.de:3: expected a line to pair with in/b.en:3, found the end of the file$' \
  --out bad --plain in/short.de,in/b.en
sed 's/lang="en"/lang="fr"/' in/news.de-en.xml >in/fr.xml
expect_error 1 '^prepare.sh: in/fr.xml:4: expected a <src> or <ref lang="en"> in document gamma, found none$' --out bad --xml in/fr.xml
expect_error 1 '^prepare.sh: in/b.en: expected <seg id="N">TEXT</seg> elements, found none$' --out bad --sgml in/b.en,in/b.de
expect_error 1 '^prepare.sh: --holdout asks for 5 pairs, but only 3 clean unique pairs are eligible$' \
  --out bad --plain in/b.en,in/b.de --holdout dev=2,test=3
expect_error 1 '^prepare.sh: in/none.tsv: no such file' --out bad --tsv in/none.tsv
expect_error 2 "unknown argument '--bogus'" --out bad --tsv in/a.tsv --bogus
expect_error 2 '^prepare.sh: --out DIR is required$' --tsv in/a.tsv
expect_error 2 "--holdout expects NAME=N" --out bad --tsv in/a.tsv --holdout dev
expect_error 2 "--holdout-from: no input is named 'c'" --out bad --tsv in/a.tsv --holdout dev=1 --holdout-from c
expect_error 2 "--plain expects SOURCE,TARGET" --out bad --plain in/b.en
[ ! -e bad/train.en ] || fail "a failed run wrote bad/train.en"
[ -z "$(ls -A bad 2>/dev/null)" ] || fail "a failed run left files behind: $(ls -A bad)"

# a failed run leaves the previous outputs as they were
cp -r ov-src keep
expect_error 1 'no TAB' --out ov-src --tsv in/notab.tsv
diff -r keep ov-src >/dev/null || fail "a failed run changed the previous outputs"
bash "$prep" --help | grep -q -- '--holdout NAME=N' || fail "--help does not describe --holdout"
finish cli_prepare

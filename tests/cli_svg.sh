#!/bin/bash
# cli_svg.sh - the pictures end to end: `xlat-train plot` draws two real runs' train.tsv (a Transformer and a GRU
# trained for a few dozen updates) as one chart, xlat-train keeps train.svg (four charts), and `xlat-decode
# --attention-svg` draws the attention of the first line with text with each model, or of every segment into a
# directory. Every SVG must parse as XML (python3's xml.etree.ElementTree) and hold what was
# asked: one line per run with a marker per dev value, the legend's names (escaped text read back unescaped), the
# metric's title; as many heatmap rows as output pieces plus "</s>", the source's pieces as columns, one cell per
# pair, rows that sum to 1. Bad input: a malformed row or a missing file names the file (and line), exit 1; usage
# errors exit 2.
. "$(dirname "$0")/harness.sh"
TRAIN="$BIN/xlat-train"
DEC="$BIN/xlat-decode"

# ---- two tiny runs (a few seconds each) ----------------------------------------------------------------------------
multi30k_slice 600 20
common=(--train-tgt "$T/train.de" --valid-src "$T/val.en" --valid-tgt "$T/val.de" --max-steps 30
  --valid-freq 10 --log-freq 5 --save-freq 30 --max-tokens 1024 --warmup-steps 10 --lr 2e-3 --seed 1 --threads 2)
if ! "$TRAIN" --train-src "$T/train.en" "${common[@]}" --vocab-size 400 --preset tiny --d-model 64 --d-ff 128 \
  --heads 2 --enc-layers 1 --dec-layers 1 --out "$T/tf" >"$T/tf.log" 2>&1; then
  cat "$T/tf.log" >&2
  fail "could not train the tiny Transformer"
  finish cli_svg
fi
if ! "$TRAIN" --train-src "$T/train.en" "${common[@]}" --spm "$T/tf/spm.model" --arch gru --d-model 32 \
  --out "$T/gru" >"$T/gru.log" 2>&1; then
  cat "$T/gru.log" >&2
  fail "could not train the tiny GRU"
  finish cli_svg
fi

# check_chart FILE TITLE N_MARKERS NAME... : well-formed, the title, one series per name (in order, with its markers)
check_chart() {
  python3 - "$@" <<'EOF'
import sys, xml.etree.ElementTree as E
path, title, markers, names = sys.argv[1], sys.argv[2], [int(m) for m in sys.argv[3].split(',')], sys.argv[4:]
ns = {'s': 'http://www.w3.org/2000/svg'}
root = E.parse(path).getroot()
assert root.tag == '{http://www.w3.org/2000/svg}svg', root.tag
got = [t.text for t in root.iterfind('s:text', ns) if t.get('class') == 'title']
assert got == [title], ('title', got, title)
series = [g for g in root.iterfind('s:g', ns) if g.get('class') == 'series']
assert [g.find('s:title', ns).text for g in series] == names, ('series', [g.find('s:title', ns).text for g in series])
for g, m in zip(series, markers):
    assert g.find('s:path', ns).get('d').startswith('M'), 'a series without a line'
    assert len(g.findall('s:circle', ns)) == m, ('markers', len(g.findall('s:circle', ns)), m)
legend = [g for g in root.iterfind('s:g', ns) if g.get('class') == 'legend'][0]
assert [t.text for t in legend.iterfind('s:text', ns)] == names, 'legend'
colours = {g.find('s:path', ns).get('stroke') for g in series}
assert len(colours) == len(series), ('colours', colours)
EOF
}

# ---- xlat-train plot -------------------------------------------------------------------------------------------
# dev values: the rows of train.tsv with a dev_bleu cell (validations at 10, 20, 30)
bleu_rows() { awk -F'\t' 'NR > 1 && $5 != "" && $5 != "nan" && $5 != "-"' "$1/train.tsv" | wc -l; }
ntf=$(bleu_rows "$T/tf") ngru=$(bleu_rows "$T/gru")
[ "$ntf" -eq 3 ] && [ "$ngru" -eq 3 ] || fail "expected 3 dev rows per run in train.tsv, got $ntf and $ngru"
"$TRAIN" plot --output "$T/bleu.svg" "$T/tf" "$T/gru/=GRU <h 32> & co" 2>"$T/plot.err" ||
  fail "plot: exit $?: $(cat "$T/plot.err")"
check_chart "$T/bleu.svg" "dev BLEU" "$ntf,$ngru" tf "GRU <h 32> & co" || fail "dev BLEU chart"
[ ! -e "$T/bleu.svg.tmp" ] || fail "plot left bleu.svg.tmp"
nloss=$(awk -F'\t' 'NR > 1 && $3 != ""' "$T/tf/train.tsv" | wc -l)
"$TRAIN" plot --metric train_loss --title "loss: tf" --output "$T/loss.svg" "$T/tf/train.tsv" 2>/dev/null ||
  fail "plot train_loss: exit $?"
check_chart "$T/loss.svg" "loss: tf" "$nloss" tf || fail "train_loss chart of a TSV file given directly"
"$TRAIN" plot --metric dev_loss --output "$T/dloss.svg" "$T/gru=g" 2>/dev/null &&
  check_chart "$T/dloss.svg" "dev loss" "$ngru" g || fail "dev_loss chart"
# train.svg, redrawn by xlat-train at each validation: four charts (loss and dev BLEU, against updates and minutes),
# each line with as many points as train.tsv has values
python3 - "$T/tf/train.svg" "$nloss" "$ntf" <<'EOF' || fail "train.svg"
import sys, xml.etree.ElementTree as E
ns = {"s": "http://www.w3.org/2000/svg"}
root = E.parse(sys.argv[1]).getroot()
charts = root.findall("s:g[@class='chart']", ns)
titles = [c.find("s:text[@class='title']", ns).text for c in charts]
assert titles == ["Loss against updates", "Dev BLEU against updates", "Loss against training minutes",
                  "Dev BLEU against training minutes"], titles
points = [[len(g.findall("s:circle", ns)) for g in c.findall("s:g[@class='series']", ns)] for c in charts]
n_loss, n_dev = int(sys.argv[2]), int(sys.argv[3])
assert points == [[n_loss, n_dev], [n_dev], [n_loss, n_dev], [n_dev]], points
EOF
[ ! -e "$T/tf/train.svg.tmp" ] || fail "train.svg.tmp left behind"

# bad input names the file and line; usage errors exit 2
mkdir -p "$T/bad"
{ head -n 3 "$T/tf/train.tsv"; printf '40\t12.5\tx7\t\t\t\t1e-3\t100\t0.5\n'; } >"$T/bad/train.tsv"
"$TRAIN" plot --metric train_loss --output "$T/bad.svg" "$T/bad" 2>"$T/bad.err"
rc=$?
[ $rc -eq 1 ] && grep -q "bad/train.tsv:4: train_loss is \"x7\"" "$T/bad.err" ||
  fail "malformed value: exit $rc, $(cat "$T/bad.err")"
{ head -n 2 "$T/tf/train.tsv"; printf '40\t12.5\n'; } >"$T/bad/train.tsv"
"$TRAIN" plot --output "$T/bad.svg" "$T/bad" 2>"$T/bad.err"
rc=$?
[ $rc -eq 1 ] && grep -q "bad/train.tsv:3: 2 tab-separated fields, expected 9" "$T/bad.err" ||
  fail "short row: exit $rc, $(cat "$T/bad.err")"
"$TRAIN" plot --output "$T/bad.svg" "$T/nosuch" 2>"$T/bad.err"
rc=$?
[ $rc -eq 1 ] && grep -q "nosuch/train.tsv" "$T/bad.err" || fail "missing run: exit $rc, $(cat "$T/bad.err")"
[ ! -e "$T/bad.svg" ] || fail "a failed plot wrote bad.svg"
"$TRAIN" plot --output "$T/x.svg" --metric bleu "$T/tf" 2>/dev/null
[ $? -eq 2 ] || fail "--metric bleu: expected exit 2"
"$TRAIN" plot "$T/tf" 2>/dev/null
[ $? -eq 2 ] || fail "plot without --output: expected exit 2"

# ---- xlat-decode --attention-svg -----------------------------------------------------------------------------
printf '\nA man is riding a bike.\nTwo dogs.\n' >"$T/in.en"
for run in tf gru; do
  "$DEC" --model "$T/$run/last.xlat" --input "$T/in.en" --format ids --beam 2 >"$T/$run.plain" 2>/dev/null
  "$DEC" --model "$T/$run/last.xlat" --input "$T/in.en" --format ids --beam 2 --output "$T/$run.ids" \
    --attention-svg "$T/$run.svg" 2>"$T/dec.err" || fail "$run: --attention-svg: exit $?: $(cat "$T/dec.err")"
  cmp -s "$T/$run.plain" "$T/$run.ids" || fail "$run: --attention-svg changed the translations"
  sed -n 2p "$T/in.en" | "$BIN/xlat-spm" encode --model "$T/tf/spm.model" >"$T/src.pieces"
  python3 - "$T/$run.svg" "$T/$run.ids" "$T/src.pieces" "$T/tf/spm.vocab" <<'EOF' || fail "$run: attention heatmap"
import sys, xml.etree.ElementTree as E
ns = {'s': 'http://www.w3.org/2000/svg'}
root = E.parse(sys.argv[1]).getroot()
assert root.tag == '{http://www.w3.org/2000/svg}svg', root.tag
vocab = [l.split('\t')[0] for l in open(sys.argv[4], encoding='utf-8').read().splitlines()]
out = [vocab[int(i)] for i in open(sys.argv[2]).read().splitlines()[1].split()] + ['</s>']
src = open(sys.argv[3], encoding='utf-8').read().split()
groups = {g.get('class'): g for g in root.iterfind('s:g', ns)}
rows = [t.text for t in groups['rows'].iterfind('s:text', ns)]
cols = [t.text for t in groups['columns'].iterfind('s:text', ns)]
assert rows == out, ('rows', rows, out)
assert cols == src, ('columns', cols, src)
cells = groups['cells'].findall('s:rect', ns)
assert len(cells) == len(rows) * len(cols), ('cells', len(cells))
title = [t.text for t in root.iterfind('s:text', ns) if t.get('class') == 'title'][0]
assert 'line 2 of' in title, title
for r in range(len(rows)):  # each row a distribution over the source (3 decimals in the tooltip)
    vals = [float(c.find('s:title', ns).text.rsplit(': ', 1)[1]) for c in cells[r * len(cols):(r + 1) * len(cols)]]
    assert abs(sum(vals) - 1) < 0.01 and min(vals) >= 0, ('row', r, vals)
EOF
done
printf '\n\n' | "$DEC" --model "$T/tf/last.xlat" --attention-svg "$T/none.svg" >/dev/null 2>"$T/dec.err"
rc=$?
[ $rc -eq 1 ] && grep -q "no line with text" "$T/dec.err" && [ ! -e "$T/none.svg" ] ||
  fail "blank input: exit $rc, $(cat "$T/dec.err")"
echo "A dog." | "$DEC" --model "$T/tf/last.xlat" --attention-svg "$T/nodir/a.svg" >/dev/null 2>"$T/dec.err"
rc=$?
[ $rc -eq 1 ] && grep -q "nodir/a.svg" "$T/dec.err" || fail "missing directory: exit $rc, $(cat "$T/dec.err")"
# DIR/: one heatmap per segment of every line with text (line 4 has two sentences), translations unchanged; the same
# pictures from 1 and 2 threads
printf '\nA man is riding a bike.\nTwo dogs.\nA dog runs. A cat sleeps.\n' >"$T/in4.en"
"$DEC" --model "$T/tf/last.xlat" --input "$T/in4.en" --split-sentences >"$T/plain4.de" 2>/dev/null
"$DEC" --model "$T/tf/last.xlat" --input "$T/in4.en" --split-sentences --attention-svg "$T/att/" >"$T/att4.de" \
  2>"$T/dec.err" || fail "--attention-svg DIR/: exit $?: $(cat "$T/dec.err")"
cmp -s "$T/plain4.de" "$T/att4.de" || fail "--attention-svg DIR/ changed the translations"
[ "$(cd "$T/att" && ls | tr '\n' ' ')" = "line-2.svg line-3.svg line-4-2.svg line-4.svg " ] ||
  fail "--attention-svg DIR/: $(ls "$T/att")"
python3 -c "
import sys, xml.etree.ElementTree as E
for p in sys.argv[1:]: assert E.parse(p).getroot().tag.endswith('svg'), p" "$T"/att/*.svg || fail "DIR/ heatmaps"
mkdir "$T/att1"
"$DEC" --model "$T/tf/last.xlat" --input "$T/in4.en" --split-sentences --threads 1 --attention-svg "$T/att1" \
  >/dev/null 2>&1 || fail "--attention-svg into an existing directory named without /"
for f in "$T"/att/*.svg; do cmp -s "$f" "$T/att1/$(basename "$f")" || fail "$(basename "$f") differs with 1 thread"; done

finish cli_svg

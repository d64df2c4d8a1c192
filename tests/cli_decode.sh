#!/bin/bash
# cli_decode.sh - xlat-decode end to end: one output line per input line whatever the input (blank lines, invalid
# UTF-8, control characters, over-long lines, no final newline), input order kept, output independent of batch size,
# window and threads, printed scores equal forced decoding (--score), beam 5 scores at least as well as beam 1 on
# average, n-best / JSON / alignment formats, --split-sentences, atomic output files, exit codes.
#
# Needs a trained model: harness.sh's tiny_model.
. "$(dirname "$0")/harness.sh"
DEC="$BIN/xlat-decode"

# ---- a model ----------------------------------------------------------------------------------------------------
tiny_model
D() { "$DEC" --model "$MODEL" --quiet "$@"; }

# ---- inputs ----------------------------------------------------------------------------------------------------
zcat "$SRC/corpora/multi30k/test_2016_flickr.en.gz" | head -n 120 >"$T/test.en"
{
  echo "A man is riding a bike."
  echo
  echo "   "
  printf 'Invalid \xff\xfe bytes and a \x01 control character.\n'
  printf 'A tab\there and a carriage return\r\n'
  python3 -c "print(' '.join(['a dog runs on the grass.'] * 80))"               # over-long, many sentences
  python3 -c "print('x' * 3000)"                                                # over-long, one "word"
  echo "Two dogs play. A woman sings! Is it raining?"
  echo
  printf 'The last line has no newline.'
} >"$T/edge.txt"
edge_lines=10

# ---- one line out per line in, blank lines kept --------------------------------------------------------------------
D --input "$T/edge.txt" >"$T/edge.out" 2>"$T/edge.err" || fail "edge input: exit $?"
[ "$(wc -l <"$T/edge.out")" -eq "$edge_lines" ] || fail "edge input: $(wc -l <"$T/edge.out") output lines, expected $edge_lines"
for n in 2 3 9; do
  [ -z "$(sed -n "${n}p" "$T/edge.out")" ] || fail "edge input: line $n is blank but its output is not"
done
for n in 1 4 5 6 7 8 10; do
  [ -n "$(sed -n "${n}p" "$T/edge.out")" ] || fail "edge input: line $n has text but its output is empty"
done
python3 -c "import sys; open(sys.argv[1], encoding='utf-8').read()" "$T/edge.out" || fail "edge output is not valid UTF-8"
"$DEC" --model "$MODEL" --input "$T/edge.txt" >/dev/null 2>"$T/warn.err"
grep -q "line 4: .*invalid UTF-8" "$T/warn.err" || fail "no warning naming line 4 (invalid UTF-8)"
grep -q "line 6: " "$T/warn.err" || fail "no warning naming line 6 (over-long line)"
grep -q "line 7: .*cut" "$T/warn.err" || fail "no warning naming line 7 (cut at the token limit)"
# the same through stdin
D <"$T/edge.txt" >"$T/edge.stdin" || fail "stdin input: exit $?"
cmp -s "$T/edge.out" "$T/edge.stdin" || fail "stdin and --input give different output"

# ---- order and independence: each line alone, batch 1 vs 64, 1 vs 2 threads, windows --------------------------------
D --input "$T/test.en" --format scores --batch-size 64 --threads 2 >"$T/b64.out" || fail "batch 64: exit $?"
D --input "$T/test.en" --format scores --batch-size 1 --threads 1 >"$T/b1.out" || fail "batch 1: exit $?"
D --input "$T/test.en" --format scores --batch-size 7 --threads 2 --window 5 >"$T/b7.out" || fail "batch 7: exit $?"
cmp -s "$T/b64.out" "$T/b1.out" || fail "batch size 64 on 2 threads and batch size 1 on 1 thread differ: $(diff "$T/b64.out" "$T/b1.out" | head -4)"
cmp -s "$T/b64.out" "$T/b7.out" || fail "batch size 7, window 5 differs from batch size 64"
head -n 8 "$T/test.en" | while IFS= read -r line; do printf '%s\n' "$line" | D --format scores; done >"$T/alone.out"
cmp -s "$T/alone.out" <(head -n 8 "$T/b64.out") || fail "lines translated alone differ from the batch (order or neighbours)"
D --input "$T/edge.txt" --batch-size 1 --threads 1 >"$T/edge.b1" && cmp -s "$T/edge.out" "$T/edge.b1" ||
  fail "edge input: batch size 1 on 1 thread differs"

# ---- printed score == forced decoding of the same output -----------------------------------------------------------
# The output text is re-encoded by --score; where SentencePiece gives back the very ids the search produced, the
# scores must be equal as printed. (Re-encoding a detokenized output may choose another segmentation.)
D --input "$T/test.en" --format ids >"$T/ids.out" || fail "--format ids: exit $?"
cut -f2- "$T/b64.out" >"$T/hyp.txt"
SPM=$(dirname "$MODEL")/spm.model
[ -f "$SPM" ] || SPM=$(ls "$(dirname "$MODEL")"/*.model | head -n 1)
"$BIN/xlat-spm" encode --model "$SPM" --output-format id "$T/hyp.txt" >"$T/reenc.txt" || fail "xlat-spm encode"
D --input "$T/test.en" --score "$T/hyp.txt" >"$T/forced.out" || fail "--score: exit $?"
[ "$(wc -l <"$T/forced.out")" -eq 120 ] || fail "--score: $(wc -l <"$T/forced.out") lines, expected 120"
cut -f1 "$T/b64.out" >"$T/beam.scores"
read -r comparable differ < <(paste -d'|' "$T/ids.out" "$T/reenc.txt" "$T/beam.scores" "$T/forced.out" |
  awk -F'|' '$1 == $2 { n++; if ($3 != $4) d++ } END { print n + 0, d + 0 }')
[ "$comparable" -ge 60 ] || fail "only $comparable of 120 outputs re-encode to their own ids"
[ "$differ" -eq 0 ] || fail "$differ of $comparable printed scores differ from --score of the same output"

# ---- beam 5 scores at least as well as beam 1 on average ------------------------------------------------------------
D --input "$T/test.en" --format scores --beam 1 >"$T/greedy.out" || fail "beam 1: exit $?"
python3 - "$T/b64.out" "$T/greedy.out" <<'EOF' || fail "beam 5 scores worse than beam 1 on average"
import sys
b5 = [float(l.split("\t")[0]) for l in open(sys.argv[1], encoding="utf-8")]
b1 = [float(l.split("\t")[0]) for l in open(sys.argv[2], encoding="utf-8")]
print(f"mean score beam 5 {sum(b5) / len(b5):.4f}, beam 1 {sum(b1) / len(b1):.4f}", file=sys.stderr)
sys.exit(0 if sum(b5) >= sum(b1) else 1)
EOF

# ---- n-best, JSON, alignments, ids ----------------------------------------------------------------------------------
head -n 20 "$T/test.en" >"$T/t20.en"
D --input "$T/t20.en" --n-best 3 >"$T/nbest.out" || fail "--n-best: exit $?"
python3 - "$T/nbest.out" "$T/b64.out" <<'EOF' || fail "n-best output malformed"
import sys
rows = [l.rstrip("\n").split(" ||| ") for l in open(sys.argv[1], encoding="utf-8")]
best = [l.rstrip("\n").split("\t", 1) for l in open(sys.argv[2], encoding="utf-8")][:20]
assert all(len(r) == 3 for r in rows), "fields"
ids = [int(r[0]) for r in rows]
assert ids == sorted(ids) and set(ids) == set(range(20)), "ids"
for i in range(20):
    mine = [r for r in rows if int(r[0]) == i]
    assert 1 <= len(mine) <= 3
    scores = [float(r[2]) for r in mine]
    assert scores == sorted(scores, reverse=True), "order"
    assert mine[0][1] == best[i][1] and mine[0][2] == best[i][0], f"first entry of {i} is not the 1-best"
EOF
D --input "$T/edge.txt" --format json --n-best 2 >"$T/json.out" || fail "--format json: exit $?"
python3 - "$T/json.out" "$edge_lines" <<'EOF' || fail "JSON Lines output malformed"
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
assert len(objs) == int(sys.argv[2])
assert [o["line"] for o in objs] == list(range(1, len(objs) + 1))
assert objs[1]["translation"] == "" and objs[1]["ids"] == []
for o in objs:
    assert len(o["alignment"]) == len(o["ids"])
EOF
D --input "$T/t20.en" --format align >"$T/align.out" || fail "--format align: exit $?"
grep -Eqv '^.* \|\|\| ([0-9]+-[0-9]+( [0-9]+-[0-9]+)*)?$' "$T/align.out" && fail "alignment lines malformed"
D --input "$T/t20.en" --format ids | python3 -c "
import sys
for l in sys.stdin:
    assert all(int(x) > 3 or int(x) == 1 for x in l.split()), l
" || fail "ids output holds special tokens"

# ---- --split-sentences keeps one line per paragraph and equals the sentences translated alone -----------------------
printf 'Two dogs play. A woman sings! Is it raining?\n\nA man sleeps.\n' >"$T/para.txt"
D --input "$T/para.txt" --split-sentences >"$T/para.out" || fail "--split-sentences: exit $?"
[ "$(wc -l <"$T/para.out")" -eq 3 ] || fail "--split-sentences: $(wc -l <"$T/para.out") lines, expected 3"
printf 'Two dogs play.\nA woman sings!\nIs it raining?\n' | D | paste -sd' ' >"$T/sent.out"
[ "$(head -n 1 "$T/para.out")" = "$(cat "$T/sent.out")" ] || fail "--split-sentences: paragraph differs from its sentences joined"

# ---- output files appear only when complete; errors and exit codes ---------------------------------------------------
head -n 3 "$T/t20.en" >"$T/t3.en"
D --input "$T/t20.en" --output "$T/out.txt" || fail "--output: exit $?"
[ "$(wc -l <"$T/out.txt")" -eq 20 ] || fail "--output: wrong line count"
ls "$T"/out.txt.tmp* >/dev/null 2>&1 && fail "--output left a temporary file"
# an interrupt (SIGINT, SIGTERM, SIGHUP) leaves the previous output and no temporary file
for i in $(seq 1 40); do cat "$T/test.en"; done >"$T/long.en"
cp "$T/out.txt" "$T/out.keep"
for sig in INT TERM HUP; do
  # env execs the decoder (so $! is its pid) with SIGINT at its default: bash starts background jobs ignoring it
  env --default-signal=INT "$DEC" --model "$MODEL" --quiet --input "$T/long.en" --output "$T/out.txt" --threads 1 &
  pid=$!
  for i in $(seq 1 100); do [ -e "$T/out.txt.tmp" ] && break; sleep 0.05; done
  sleep 0.3
  kill -s $sig $pid
  wait $pid
  rc=$?
  [ $rc -ne 0 ] || fail "SIG$sig: the interrupted run exited 0"
  [ -e "$T/out.txt.tmp" ] && fail "SIG$sig left out.txt.tmp behind"
  cmp -s "$T/out.txt" "$T/out.keep" || fail "SIG$sig changed the previous --output file"
done
# a file-size limit (a full disk's EFBIG): exit 1 naming the file and the reason, the previous file kept
(ulimit -f 4 && exec "$DEC" --model "$MODEL" --quiet --input "$T/long.en" --output "$T/out.txt") 2>"$T/fsz.err"
rc=$?
[ $rc -eq 1 ] && grep -q "out.txt.*File too large" "$T/fsz.err" || fail "file-size limit: exit $rc, $(cat "$T/fsz.err")"
cmp -s "$T/out.txt" "$T/out.keep" && [ ! -e "$T/out.txt.tmp" ] || fail "file-size limit: output changed or .tmp left"
# an --output that is a directory is refused before any translation
D --input "$T/long.en" --output "$T" 2>"$T/dir.err"
rc=$?
[ $rc -eq 1 ] && grep -q "is a directory" "$T/dir.err" || fail "--output DIR: exit $rc, $(cat "$T/dir.err")"
# a SentencePiece model with spm_train's default special ids (unk 0, bos 1, eos 2) is refused, not misread
if command -v spm_train >/dev/null; then
  spm_train --input "$T/test.en" --model_prefix "$T/defids" --vocab_size 100 --model_type bpe --minloglevel 2 >/dev/null 2>&1
  D --spm "$T/defids.model" --input "$T/t3.en" 2>"$T/ids.err" >/dev/null
  rc=$?
  [ $rc -eq 1 ] && grep -q "special ids pad -1, unk 0, bos 1, eos 2" "$T/ids.err" ||
    fail "spm_train default ids: exit $rc, $(cat "$T/ids.err")"
fi
D --input "$T/t20.en" --output "$T/no/such/dir/out.txt" 2>/dev/null
[ $? -eq 1 ] || fail "unwritable output: expected exit 1"
D --input "$T/missing.txt" 2>/dev/null
[ $? -eq 1 ] || fail "missing input: expected exit 1"
"$DEC" --model "$T/missing.xlat" --input "$T/t20.en" 2>/dev/null
[ $? -eq 1 ] || fail "missing model: expected exit 1"
printf 'not a model' >"$T/bad.xlat"
"$DEC" --model "$T/bad.xlat" --spm /dev/null --input "$T/t20.en" 2>/dev/null
[ $? -eq 1 ] || fail "corrupt model: expected exit 1"
D --beam 0 </dev/null 2>/dev/null
[ $? -eq 2 ] || fail "--beam 0: expected exit 2"
D --n-best 6 --beam 5 </dev/null 2>/dev/null
[ $? -eq 2 ] || fail "--n-best over --beam: expected exit 2"
"$DEC" --input "$T/t20.en" 2>/dev/null
[ $? -eq 2 ] || fail "no --model: expected exit 2"
D --frobnicate </dev/null 2>/dev/null
[ $? -eq 2 ] || fail "unknown flag: expected exit 2"
D --input "$T/t20.en" --score "$T/t3.en" >/dev/null 2>&1
[ $? -eq 1 ] || fail "--score with fewer target lines: expected exit 1"
# a checkpoint that allows 4096-token inputs still cuts a long line into 512-token segments by default
# (attention's cost grows with the square of a segment's length)
SPM_OF_MODEL=$(dirname "$MODEL")/spm.model
head -n 50 "$T/test.en" >"$T/s50.en"
"$BIN/xlat-train" --train-src "$T/s50.en" --train-tgt "$T/s50.en" --spm "$SPM_OF_MODEL" --preset tiny --max-len 4096 \
  --max-length 64 --max-tokens 1024 --out "$T/long_model" --max-steps 1 >/dev/null 2>&1 || fail "training a max-len 4096 model"
python3 -c "print(' '.join(['a dog runs on the grass'] * 400))" >"$T/longline.en"
"$DEC" --model "$T/long_model/last.xlat" --beam 1 --input "$T/longline.en" >"$T/longline.out" 2>"$T/longline.err"
grep -q "longer than 512 tokens" "$T/longline.err" && [ "$(wc -l <"$T/longline.out")" -eq 1 ] ||
  fail "default segment limit: $(head -c 300 "$T/longline.err")"
# --score: a warning names the file it is about, once
printf 'A bad \xff byte.\n' >"$T/badsrc.en"
printf 'Ein Byte.\n' >"$T/goodtgt.de"
"$DEC" --model "$MODEL" --input "$T/badsrc.en" --score "$T/goodtgt.de" 2>"$T/score.err" >/dev/null
[ "$(grep -c "invalid UTF-8 byte(s) in $T/badsrc.en" "$T/score.err")" -eq 1 ] ||
  fail "--score warning: $(cat "$T/score.err")"
"$DEC" --help | grep -q -- "--n-best" || fail "--help"
# progress: a live line on a terminal (script(1) gives one), none on a pipe
script -qec "$DEC --model $MODEL --input $T/test.en --window 16 --output $T/tty.de" /dev/null >"$T/tty.log" 2>&1 ||
  fail "on a terminal: exit $?"
grep -q "line 120/120 (100%)" "$T/tty.log" || fail "no progress line on a terminal: $(tr '\r' '\n' <"$T/tty.log" | tail -2)"
"$DEC" --model "$MODEL" --input "$T/test.en" --window 16 >/dev/null 2>"$T/pipe.log"
[ ! -s "$T/pipe.log" ] || fail "progress written to a pipe: $(head -c 200 "$T/pipe.log")"

finish cli_decode

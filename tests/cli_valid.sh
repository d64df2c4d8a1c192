#!/bin/bash
# cli_valid.sh - xlat-train's validation end to end (tiny Transformer, a few dozen updates on a Multi30k slice):
#  1. --valid-metrics chrf bleu: best.xlat is the save of the step with the highest dev_chrf of train.tsv (compared
#     byte for byte with --keep-last's step-N.xlat), every validation's log line shows loss, chrF and BLEU, train.tsv
#     has dev_chrf (0..100) and grad_norm (positive, finite) columns, and chrF and BLEU equal xlat-bleu's on the
#     written translations;
#  2. --valid-translation-output FILE with {U}: one file per validation, one line per dev sentence; the last equals
#     xlat-decode of last.xlat with the validation's beam and length penalty;
#  3. --valid-metrics loss chrf (and the --valid-metrics=a,b form): the loss decides, chrF is logged, BLEU is not;
#     usage errors;
#  4. a train.tsv of an older xlat-train (7 columns, no dev_chrf / grad_norm) is still plotted, and --resume rewrites
#     it with today's columns, its rows kept.
. "$(dirname "$0")/harness.sh"
TRAIN="$BIN/xlat-train"

multi30k_slice 3000 60
"$BIN/xlat-spm" train --input "$T/train.en,$T/train.de" --model-prefix "$T/spm" --vocab-size 500 >/dev/null 2>&1 ||
  fail "xlat-spm train"
COMMON=(--train-src "$T/train.en" --train-tgt "$T/train.de" --valid-src "$T/val.en" --valid-tgt "$T/val.de"
  --spm "$T/spm.model" --preset tiny --max-tokens 1024 --threads 1 --lr 6e-3 --warmup-steps 20 --log-freq 10 --seed 1)
# col NAME FILE: the column number of NAME in FILE's header
col() { awk -F'\t' -v n="$1" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == n) print i; exit }' "$2"; }

# ---- 1. chrF decides -------------------------------------------------------------------------------------------
# a high learning rate makes the dev scores go up and down, so the best chrF is not simply the last validation
"$TRAIN" "${COMMON[@]}" --out "$T/a" --max-steps 100 --valid-freq 10 --save-freq 10 --keep-last 100 \
  --valid-metrics chrf bleu --valid-beam 3 --valid-length-penalty 1.0 --valid-translation-output "$T/a/dev.{U}.txt" \
  >"$T/a.log" 2>&1 || fail "--valid-metrics chrf bleu: exit $? ($(tail -n 3 "$T/a.log"))"
TSV=$T/a/train.tsv
[ "$(head -n 1 "$TSV")" = "$(printf 'step\twall_s\ttrain_loss\tdev_loss\tdev_bleu\tdev_chrf\tlr\ttokens_per_s\tgrad_norm')" ] ||
  fail "train.tsv header: $(head -n 1 "$TSV")"
nvalid=$(grep -c "^validation [0-9]* at step [0-9]*: dev loss [0-9.]* (best [0-9.]*), dev chrF [0-9.]* (best [0-9.]*), dev BLEU [0-9.]*" "$T/a.log")
[ "$nvalid" -eq 10 ] || fail "expected 10 validation lines with loss, chrF (best) and BLEU, got $nvalid: $(grep -m 1 '^validation' "$T/a.log")"
grep -q "^epoch 1 step 10 loss [0-9.]* lr [0-9.e-]* gnorm [0-9.]* tok/s" "$T/a.log" || fail "no gradient norm in the log line"
grep -q "^best dev chrF " "$T/a.log" || fail "the closing line does not name chrF"
# values: dev columns on the 10 validation rows, chrF and BLEU in 0..100, the gradient norm and lr positive and finite
awk -F'\t' 'NR > 1 {
    if ($4 == "" || $5 == "" || $6 == "") { print "row " $1 ": a dev cell is empty"; bad = 1 }
    if ($6 < 0 || $6 > 100 || $5 < 0 || $5 > 100) { print "row " $1 ": chrF " $6 ", BLEU " $5; bad = 1 }
    if (!($9 > 0 && $9 < 1e30) || $9 ~ /nan|inf/) { print "row " $1 ": grad_norm \"" $9 "\""; bad = 1 }
    if (!($7 > 0)) { print "row " $1 ": lr " $7; bad = 1 }
    n++
  }
  END { if (n != 10) { print n " rows, expected 10"; bad = 1 }; exit bad }' "$TSV" || fail "train.tsv values"
# the save of the best step: byte for byte one of --keep-last's step-N.xlat
best_step=""
for f in "$T"/a/step-*.xlat; do cmp -s "$f" "$T/a/best.xlat" && best_step=$(basename "$f" .xlat | cut -d- -f2); done
chrf_step=$(awk -F'\t' 'NR > 1 && (best == "" || $6 + 0 > best + 0) { best = $6; s = $1 } END { print s }' "$TSV")
bleu_step=$(awk -F'\t' 'NR > 1 && (best == "" || $5 + 0 > best + 0) { best = $5; s = $1 } END { print s }' "$TSV")
echo "cli_valid: best.xlat is step ${best_step:-none}; highest dev chrF at $chrf_step, highest dev BLEU at $bleu_step"
[ -n "$best_step" ] && [ "$best_step" = "$chrf_step" ] ||
  fail "best.xlat is the save of step ${best_step:-none}, but the highest dev_chrf is at step $chrf_step"
grep -q "at step $chrf_step: .*saved best.xlat" "$T/a.log" || fail "the log does not say best.xlat was saved at $chrf_step"

# ---- 2. the dev translations ---------------------------------------------------------------------------------
for s in 10 20 30 40 50 60 70 80 90 100; do
  [ -f "$T/a/dev.$s.txt" ] && [ "$(wc -l <"$T/a/dev.$s.txt")" -eq 60 ] ||
    fail "dev.$s.txt: missing or not 60 lines ($(wc -l <"$T/a/dev.$s.txt" 2>/dev/null))"
done
[ -z "$(ls "$T/a" | grep '\.tmp')" ] || fail "a temporary file left: $(ls "$T/a" | grep '\.tmp')"
"$BIN/xlat-decode" --model "$T/a/last.xlat" --beam 3 --length-penalty 1.0 --input "$T/val.en" --output "$T/dec.txt" \
  --quiet 2>"$T/dec.err" || fail "xlat-decode: $(tail -n 2 "$T/dec.err")"
cmp -s "$T/dec.txt" "$T/a/dev.100.txt" || fail "dev.100.txt differs from xlat-decode --model last.xlat --beam 3: $(diff "$T/dec.txt" "$T/a/dev.100.txt" | head -n 4)"
# the scores of train.tsv are xlat-bleu's (sacreBLEU's) of the written translations
row=$(awk -F'\t' '$1 == 100' "$TSV")
bleu=$("$BIN/xlat-bleu" "$T/val.de" -i "$T/a/dev.100.txt" -b -w 2 2>/dev/null)
chrf=$("$BIN/xlat-bleu" "$T/val.de" -i "$T/a/dev.100.txt" -m chrf -b -w 2 2>/dev/null)
awk -v b="$bleu" -v c="$chrf" -v tb="$(cut -f5 <<<"$row")" -v tc="$(cut -f6 <<<"$row")" \
  'BEGIN { exit !(b != "" && c != "" && (b - tb) ^ 2 < 1e-4 && (c - tc) ^ 2 < 1e-4) }' ||
  fail "step 100: train.tsv has BLEU $(cut -f5 <<<"$row"), chrF $(cut -f6 <<<"$row"); xlat-bleu says $bleu, $chrf"
# plots of the new columns; train.svg has BLEU and chrF
"$TRAIN" plot --metric dev_chrf --output "$T/chrf.svg" "$T/a" 2>/dev/null && grep -q "dev chrF" "$T/chrf.svg" ||
  fail "plot --metric dev_chrf"
"$TRAIN" plot --metric grad_norm --output "$T/gn.svg" "$T/a" 2>/dev/null || fail "plot --metric grad_norm"
grep -q "Dev BLEU and chrF against updates" "$T/a/train.svg" || fail "train.svg has no BLEU and chrF chart"

# ---- 3. the loss decides; other spellings; usage errors ----------------------------------------------------------
"$TRAIN" "${COMMON[@]}" --out "$T/b" --max-steps 40 --valid-freq 10 --save-freq 10 --keep-last 100 \
  --valid-metrics=loss,chrf >"$T/b.log" 2>&1 || fail "--valid-metrics=loss,chrf: exit $?"
best_step=""
for f in "$T"/b/step-*.xlat; do cmp -s "$f" "$T/b/best.xlat" && best_step=$(basename "$f" .xlat | cut -d- -f2); done
loss_step=$(awk -F'\t' 'NR > 1 && (best == "" || $4 + 0 < best + 0) { best = $4; s = $1 } END { print s }' "$T/b/train.tsv")
[ -n "$best_step" ] && [ "$best_step" = "$loss_step" ] || fail "loss decides: best.xlat is step $best_step, lowest loss at $loss_step"
awk -F'\t' 'NR > 1 && ($5 != "" || $6 == "") { bad = 1 } END { exit bad }' "$T/b/train.tsv" ||
  fail "--valid-metrics loss chrf: expected chrF cells and no BLEU"
grep -q "dev chrF [0-9.]*, saved\|dev chrF [0-9.]*$" "$T/b.log" && ! grep -q "dev BLEU" "$T/b.log" ||
  fail "--valid-metrics loss chrf: log lines $(grep -m 1 '^validation' "$T/b.log")"
grep -q "^best dev loss " "$T/b.log" || fail "the closing line does not name the loss"
"$TRAIN" "${COMMON[@]}" --out "$T/c" --max-steps 10 --valid-freq 10 --valid-metric chrf >"$T/c.log" 2>&1 &&
  grep -q "dev chrF [0-9.]* (best" "$T/c.log" || fail "--valid-metric chrf: $(tail -n 2 "$T/c.log")"
expect2() { # expect2 PATTERN args...: a usage error (exit 2) whose message matches PATTERN
  local pat=$1
  shift
  "$TRAIN" "$@" >"$T/err.log" 2>&1
  local got=$?
  [ $got -eq 2 ] && grep -q -- "$pat" "$T/err.log" || fail "xlat-train $*: exit $got, expected 2 and /$pat/: $(head -c 200 "$T/err.log")"
}
expect2 "--valid-metrics expects .*got bogus" "${COMMON[@]}" --out "$T/e" --valid-metrics bleu bogus
expect2 "--valid-metrics expects distinct" "${COMMON[@]}" --out "$T/e" --valid-metrics bleu chrf bleu
expect2 "--valid-metric expects bleu, chrf or loss" "${COMMON[@]}" --out "$T/e" --valid-metric bleu,chrf
expect2 "--valid-translation-output needs a dev set" --train-src "$T/train.en" --train-tgt "$T/train.de" \
  --spm "$T/spm.model" --out "$T/e" --valid-translation-output "$T/x.txt"
"$TRAIN" --help | grep -q -- "--valid-metrics M" && "$TRAIN" --help | grep -q -- "--valid-translation-output" ||
  fail "--help does not describe --valid-metrics and --valid-translation-output"

# ---- 4. a train.tsv of an older xlat-train ---------------------------------------------------------------------
# the columns before dev_chrf and grad_norm were added: step wall_s train_loss dev_loss dev_bleu lr tokens_per_s
cp -r "$T/b" "$T/old"
cut -f1-5,7,8 "$T/b/train.tsv" >"$T/old/train.tsv"
printf '45\t9.9\t5.0\t\t\t1e-3\t1000\n' >>"$T/old/train.tsv" # a row past the checkpoint: dropped by --resume
"$TRAIN" plot --metric dev_loss --output "$T/old.svg" "$T/old" 2>"$T/old.err" || fail "plot of an old train.tsv: $(cat "$T/old.err")"
"$TRAIN" plot --metric dev_chrf --output "$T/old2.svg" "$T/old" 2>"$T/old.err"
[ $? -eq 1 ] && grep -q "has no column dev_chrf" "$T/old.err" || fail "plot --metric dev_chrf of an old train.tsv: $(cat "$T/old.err")"
"$TRAIN" "${COMMON[@]}" --out "$T/old" --max-steps 60 --valid-freq 10 --save-freq 10 --keep-last 100 \
  --valid-metrics loss chrf --resume >"$T/old.log" 2>&1 || fail "--resume with an old train.tsv: $(tail -n 2 "$T/old.log")"
[ "$(head -n 1 "$T/old/train.tsv")" = "$(head -n 1 "$TSV")" ] || fail "the old train.tsv kept its header after --resume"
awk -F'\t' 'NF != 9 { bad = 1 } END { exit bad }' "$T/old/train.tsv" || fail "rows of another width after --resume"
[ "$(cut -f1 "$T/old/train.tsv" | tr '\n' ' ')" = "step 10 20 30 40 50 60 " ] ||
  fail "steps after --resume: $(cut -f1 "$T/old/train.tsv" | tr '\n' ' ')"
[ "$(awk -F'\t' '$1 == 30' "$T/old/train.tsv" | cut -f1-5,7,8)" = "$(awk -F'\t' '$1 == 30' "$T/b/train.tsv" | cut -f1-5,7,8)" ] &&
  [ -z "$(awk -F'\t' '$1 == 30 { print $6 $9 }' "$T/old/train.tsv")" ] ||
  fail "an old row was not moved to today's columns: $(awk -F'\t' '$1 == 30' "$T/old/train.tsv")"
awk -F'\t' '$1 == 60 && $6 != "" && $9 > 0 { ok = 1 } END { exit !ok }' "$T/old/train.tsv" ||
  fail "the resumed rows lack chrF or the gradient norm"
"$TRAIN" plot --metric dev_chrf --output "$T/old3.svg" "$T/old" 2>/dev/null || fail "plot of the rewritten train.tsv"

finish cli_valid

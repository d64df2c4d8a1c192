#!/bin/bash
# cli_kill.sh - kill -9 soak of xlat-train: a run saving after every update is killed at random moments
# (${XLAT_KILLS:-8} times; saves, validations and start-up included) and resumed each time. After each kill: last.xlat
# loads, --resume starts from it, at most one save interval (one update) is lost, and no temporary file is left once
# the resumed run has started. Set XLAT_KILLS for a longer campaign (the issue's note reports 30).
. "$(dirname "$0")/harness.sh"
TRAIN="$BIN/xlat-train"
kills=${XLAT_KILLS:-8}
multi30k_slice 2000 50
"$BIN/xlat-spm" train --input "$T/train.en,$T/train.de" --model-prefix "$T/spm" --vocab-size 500 >/dev/null 2>&1 ||
  fail "xlat-spm train"
OUT=$T/run
ARGS=(--train-src "$T/train.en" --train-tgt "$T/train.de" --valid-src "$T/val.en" --valid-tgt "$T/val.de"
  --spm "$T/spm.model" --preset tiny --d-model 64 --d-ff 128 --max-tokens 512 --threads 1 --save-freq 1
  --keep-last 2 --valid-freq 7 --valid-max-sentences 20 --early-stopping 0 --log-freq 1 --out "$OUT"
  --max-steps 100000 --seed 5)
# the last step train.tsv recorded (rows are written before the save of their step)
tsv_step() { awk -F'\t' 'NR > 1 { s = $1 } END { print s + 0 }' "$OUT/train.tsv" 2>/dev/null || echo 0; }

killed=0 mid_save=0
for k in $(seq 1 "$kills"); do
  resume=()
  [ -e "$OUT/last.xlat" ] && resume=(--resume)
  "$TRAIN" "${ARGS[@]}" "${resume[@]}" >"$T/run$k.log" 2>&1 &
  pid=$!
  sleep "$(awk -v s="$RANDOM" 'BEGIN { srand(s); printf "%.2f", 0.3 + 2.2 * rand() }')"
  kill -9 $pid 2>/dev/null && killed=$((killed + 1))
  wait $pid 2>/dev/null
  recorded=$(tsv_step)
  ls "$OUT" 2>/dev/null | grep -q '\.tmp' && mid_save=$((mid_save + 1)) # the kill landed inside a save
  [ -e "$OUT/last.xlat" ] || continue # killed before the first save
  "$TRAIN" average --output "$T/check.xlat" "$OUT/last.xlat" >/dev/null 2>"$T/load.err" ||
    { fail "kill $k: last.xlat does not load: $(cat "$T/load.err")"; break; }
  # resume for a moment: it must start from last.xlat, lose at most one update, and clear the leftovers
  "$TRAIN" "${ARGS[@]}" --resume --max-steps 1 >"$T/resume$k.log" 2>&1
  at=$(sed -n 's/.*resuming .* at step \([0-9]*\) .*/\1/p' "$T/resume$k.log")
  [ -n "$at" ] || { fail "kill $k: no resume: $(tail -n 2 "$T/resume$k.log")"; break; }
  [ "$at" -ge $((recorded - 1)) ] || fail "kill $k: train.tsv reached step $recorded but the resume started at $at"
  left=$(ls "$OUT" | grep '\.tmp' || true)
  [ -z "$left" ] || fail "kill $k: temporary files left after the resume started: $left"
done
echo "cli_kill: $killed kills ($mid_save inside a save), last.xlat at step ${at:-none}"
[ "$killed" -ge $((kills / 2)) ] || fail "only $killed of $kills runs were still alive to be killed"
"$TRAIN" "${ARGS[@]}" --resume --max-steps $(( ${at:-0} + 3 )) >"$T/final.log" 2>&1 ||
  fail "the final resume: $(tail -n 2 "$T/final.log")"
finish cli_kill

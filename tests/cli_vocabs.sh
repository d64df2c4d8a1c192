#!/bin/bash
# cli_vocabs.sh - separate source and target vocabularies end to end (tiny Transformer and GRU, a Multi30k slice):
#  1. xlat-train --separate-vocabs --vocab-size N trains OUT/spm.src.model on the source side only and
#     OUT/spm.tgt.model on the target side only, the model has vocabularies N and N and ties only the decoder's
#     embeddings (xlat-train info says so); --resume continues it; xlat-decode finds both models beside it and its
#     output equals decoding with them given (--spm, --tgt-spm); each model cuts its own side's text into fewer
#     pieces than the other's; forced decoding (--score) of its own translations gives the search's scores;
#  2. the same with models given (--spm S --tgt-spm T, sizes that differ), for a GRU; --finetune from it;
#  3. errors: mixing joint and separate (a joint model given --tgt-spm, a separate one given one model, swapped
#     models), --tgt-spm without --spm, --separate-vocabs without --vocab-size.
. "$(dirname "$0")/harness.sh"
TRAIN="$BIN/xlat-train" DECODE="$BIN/xlat-decode"

multi30k_slice 2000 20
DATA=(--train-src "$T/train.en" --train-tgt "$T/train.de" --valid-src "$T/val.en" --valid-tgt "$T/val.de")
RUN=(--max-tokens 512 --threads 1 --lr 3e-3 --warmup-steps 10 --log-freq 10 --valid-freq 20 --seed 1)
# expect STATUS PATTERN -- ARGS...: xlat-train ARGS exits with STATUS and says PATTERN
expect() {
  local want=$1 pattern=$2
  shift 3
  "$TRAIN" "$@" >"$T/err.log" 2>&1
  local rc=$?
  [ "$rc" -eq "$want" ] && grep -q -- "$pattern" "$T/err.log" ||
    fail "xlat-train $*: expected exit $want and '$pattern', got $rc: $(tail -n 2 "$T/err.log")"
}

# ---- 1. trained by xlat-train ------------------------------------------------------------------------------------
"$TRAIN" "${DATA[@]}" "${RUN[@]}" --preset tiny --separate-vocabs --vocab-size 400 --out "$T/a" --max-steps 150 \
  >"$T/a.log" 2>&1 || fail "--separate-vocabs: exit $? ($(tail -n 3 "$T/a.log"))"
[ -f "$T/a/spm.src.model" ] && [ -f "$T/a/spm.tgt.model" ] && [ ! -e "$T/a/spm.model" ] ||
  fail "expected spm.src.model and spm.tgt.model (and no spm.model): $(ls "$T/a")"
grep -q "trained a BPE model of 400 pieces on $T/train.en " "$T/a.log" &&
  grep -q "trained a BPE model of 400 pieces on $T/train.de " "$T/a.log" || fail "no word of the two tokenizers' training"
grep -q "^model: transformer .*, tied decoder embeddings, .*, vocabularies 400 (source) and 400 (target):" "$T/a.log" ||
  fail "the model line: $(grep '^model' "$T/a.log")"
# the source model learned English, the target's German: each cuts its own language into fewer pieces
pieces() { "$BIN/xlat-spm" encode --model "$1" "$2" | wc -w; }
[ "$(pieces "$T/a/spm.src.model" "$T/val.en")" -lt "$(pieces "$T/a/spm.tgt.model" "$T/val.en")" ] &&
  [ "$(pieces "$T/a/spm.tgt.model" "$T/val.de")" -lt "$(pieces "$T/a/spm.src.model" "$T/val.de")" ] ||
  fail "the tokenizers were not trained on their own sides"
"$TRAIN" info "$T/a/last.xlat" >"$T/info" 2>&1 || fail "info: exit $?"
grep -q "^  src-vocab-size *400$" "$T/info" && grep -q "^  vocab-size *400$" "$T/info" || fail "info: $(cat "$T/info")"
"$TRAIN" info --json "$T/a/last.xlat" | grep -q '"src-vocab-size": 400' || fail "info --json lacks src-vocab-size"
"$TRAIN" "${DATA[@]}" "${RUN[@]}" --preset tiny --separate-vocabs --vocab-size 400 --out "$T/a" --max-steps 160 --resume \
  >"$T/a2.log" 2>&1 || fail "--resume: exit $? ($(tail -n 3 "$T/a2.log"))"
grep -q "resuming .* at step 150" "$T/a2.log" || fail "--resume did not resume: $(head -n 3 "$T/a2.log")"
"$DECODE" --model "$T/a/last.xlat" --input "$T/val.en" --output "$T/a.found" --threads 1 --quiet ||
  fail "decode with the models found beside it: exit $?"
"$DECODE" --model "$T/a/last.xlat" --spm "$T/a/spm.src.model" --tgt-spm "$T/a/spm.tgt.model" --input "$T/val.en" \
  --output "$T/a.given" --threads 1 --quiet || fail "decode with --spm and --tgt-spm: exit $?"
[ "$(wc -l <"$T/a.found")" -eq 20 ] && cmp -s "$T/a.found" "$T/a.given" || fail "the decodings differ or are short"
# forced decoding encodes the target text with the target's model: its own translations score as the search found
# (all but those whose text encodes into other pieces than the search chose: at least half)
"$DECODE" --model "$T/a/last.xlat" --input "$T/val.en" --format scores --length-penalty 0 --threads 1 --quiet \
  --output "$T/a.scores" || fail "--format scores: exit $?"
cut -f 2- "$T/a.scores" >"$T/a.text"
[ "$(grep -c . "$T/a.text")" -ge 15 ] || fail "the model translates too few lines into words to test forced decoding"
"$DECODE" --model "$T/a/last.xlat" --input "$T/val.en" --score "$T/a.text" --length-penalty 0 --threads 1 --quiet \
  --output "$T/a.forced" || fail "--score: exit $?"
paste <(cut -f 1 "$T/a.scores") <(cut -f 1 "$T/a.forced") |
  awk '{ d = $1 - $2; if (d > -1e-3 && d < 1e-3) same++ } END { exit NR != 20 || 2 * same < NR }' ||
  fail "forced scores differ from the search's: $(paste "$T/a.scores" "$T/a.forced" | head -n 3)"
"$TRAIN" "${DATA[@]}" "${RUN[@]}" --preset tiny --vocab-size 400 --out "$T/a" --max-steps 40 --resume >"$T/err.log" 2>&1
[ $? -eq 2 ] && grep -q "it was trained with separate vocabularies" "$T/err.log" && [ ! -e "$T/a/spm.model" ] ||
  fail "resuming a separate run as joint: $(tail -n 2 "$T/err.log")"

# ---- 2. given models of different sizes, a GRU; fine-tuning from it --------------------------------------------------
"$BIN/xlat-spm" train --input "$T/train.en" --model-prefix "$T/en" --vocab-size 300 >/dev/null 2>&1 &&
  "$BIN/xlat-spm" train --input "$T/train.de" --model-prefix "$T/de" --vocab-size 500 >/dev/null 2>&1 ||
  fail "xlat-spm train"
"$TRAIN" "${DATA[@]}" "${RUN[@]}" --arch gru --d-model 32 --spm "$T/en.model" --tgt-spm "$T/de.model" --out "$T/b" \
  --max-steps 20 >"$T/b.log" 2>&1 || fail "gru with --spm and --tgt-spm: exit $? ($(tail -n 3 "$T/b.log"))"
cmp -s "$T/en.model" "$T/b/spm.src.model" && cmp -s "$T/de.model" "$T/b/spm.tgt.model" ||
  fail "the given models were not copied into the run"
grep -q "vocabularies 300 (source) and 500 (target)" "$T/b.log" || fail "gru model line: $(grep '^model' "$T/b.log")"
"$DECODE" --model "$T/b/last.xlat" --input "$T/val.en" --output "$T/b.out" --threads 1 --quiet --beam 3 &&
  [ "$(wc -l <"$T/b.out")" -eq 20 ] || fail "gru decoding"
"$TRAIN" "${DATA[@]}" "${RUN[@]}" --finetune "$T/b/last.xlat" --spm "$T/en.model" --tgt-spm "$T/de.model" \
  --out "$T/c" --max-steps 5 >"$T/c.log" 2>&1 || fail "--finetune: exit $? ($(tail -n 3 "$T/c.log"))"

# ---- 3. errors ---------------------------------------------------------------------------------------------------
tiny_joint() {
  "$BIN/xlat-spm" train --input "$T/train.en,$T/train.de" --model-prefix "$T/joint" --vocab-size 400 >/dev/null 2>&1
  "$TRAIN" "${DATA[@]}" "${RUN[@]}" --preset tiny --spm "$T/joint.model" --out "$T/j" --max-steps 2 >/dev/null 2>&1 ||
    fail "joint model"
}
tiny_joint
"$DECODE" --model "$T/j/last.xlat" --tgt-spm "$T/de.model" --input "$T/val.en" >/dev/null 2>"$T/err"
[ $? -eq 2 ] && grep -q "one joint vocabulary: drop --tgt-spm" "$T/err" || fail "joint + --tgt-spm: $(cat "$T/err")"
"$DECODE" --model "$T/b/last.xlat" --spm "$T/en.model" --input "$T/val.en" >/dev/null 2>"$T/err"
[ $? -eq 2 ] && grep -q "separate source and target vocabularies: give --tgt-spm too" "$T/err" ||
  fail "separate + one model: $(cat "$T/err")"
"$DECODE" --model "$T/b/last.xlat" --spm "$T/de.model" --tgt-spm "$T/en.model" --input "$T/val.en" >/dev/null 2>"$T/err"
[ $? -eq 1 ] && grep -q "another SentencePiece model than $T/de.model and $T/en.model" "$T/err" ||
  fail "swapped models: $(cat "$T/err")"
expect 2 "one joint vocabulary, but this run has two" -- "${DATA[@]}" "${RUN[@]}" --finetune "$T/j/last.xlat" \
  --spm "$T/en.model" --tgt-spm "$T/de.model" --out "$T/e1" --max-steps 1
expect 2 "separate source and target vocabularies, but this run has one" -- "${DATA[@]}" "${RUN[@]}" \
  --finetune "$T/b/last.xlat" --spm "$T/joint.model" --out "$T/e2" --max-steps 1
expect 2 "--tgt-spm goes with --spm" -- "${DATA[@]}" --vocab-size 400 --tgt-spm "$T/de.model" --out "$T/e3"
expect 2 "--separate-vocabs trains the two models with --vocab-size" -- "${DATA[@]}" --spm "$T/en.model" \
  --separate-vocabs --out "$T/e4"
finish cli_vocabs

#!/bin/bash
# cli_rnn.sh - the recurrent architectures end to end on a slice of Multi30k (about a minute on 2 cores):
#  1. learning: a short GRU run with additive attention brings the dev loss well below the unigram entropy of the
#     dev targets; xlat-decode translates with it (beam and n-best, one output line per input line), and the
#     checkpoint names its architecture;
#  2. exact resume: an LSTM with general attention, input feeding and dropout, 60 updates straight and 30 +
#     --resume + 30, gives bit-identical weights;
#  3. errors a user can act on: Transformer flags on a recurrent model and the reverse, a resume with another
#     architecture, inconsistent recurrent options (exit 2, naming the flag).
. "$(dirname "$0")/harness.sh"
TRAIN="$BIN/xlat-train"
tsv_last() { awk -F'\t' -v c="$1" 'NR > 1 && $c != "" { v = $c } END { print v }' "$2"; }

multi30k_slice 4000 200
DATA=(--train-src "$T/train.en" --train-tgt "$T/train.de" --valid-src "$T/val.en" --valid-tgt "$T/val.de")
"$BIN/xlat-spm" train --input "$T/train.en,$T/train.de" --model-prefix "$T/spm" --vocab-size 1000 >/dev/null 2>&1 ||
  fail "xlat-spm train"

# ---- 1. learning ---------------------------------------------------------------------------------------------
"$TRAIN" "${DATA[@]}" --spm "$T/spm.model" --arch gru --d-model 128 --out "$T/gru" --max-steps 250 --lr 3e-3 \
  --warmup-steps 50 --clip-norm 1 --max-tokens 2048 --valid-freq 125 --valid-max-sentences 100 --log-freq 50 \
  --threads 2 >"$T/gru.log" 2>&1 || fail "GRU training run: exit $? ($(tail -n 3 "$T/gru.log"))"
grep -q "model: gru, hidden 128, embeddings 128, 1+1 layers, bidirectional, additive attention" "$T/gru.log" ||
  fail "the log does not describe the recurrent model ($(grep model: "$T/gru.log"))"
entropy=$(sed -n 's/.*unigram entropy of the targets \([0-9.]*\) nats.*/\1/p' "$T/gru.log")
dev_loss=$(tsv_last 4 "$T/gru/train.tsv")
echo "GRU run: dev loss $dev_loss nats/token against unigram entropy $entropy; dev BLEU $(tsv_last 5 "$T/gru/train.tsv")"
awk -v l="${dev_loss:-99}" -v h="${entropy:-0}" 'BEGIN { exit !(h > 3 && l < h - 1.0) }' ||
  fail "dev loss ${dev_loss:-none} is not well below the targets' unigram entropy ${entropy:-none}"
printf 'A man is riding a bike.\n\nTwo dogs play in the snow.\n' >"$T/in.txt"
"$BIN/xlat-decode" --model "$T/gru/best.xlat" --input "$T/in.txt" --output "$T/hyp.txt" --beam 4 --quiet ||
  fail "xlat-decode with a GRU model: exit $?"
[ "$(wc -l <"$T/hyp.txt")" -eq 3 ] && [ -z "$(sed -n 2p "$T/hyp.txt")" ] && [ -n "$(sed -n 3p "$T/hyp.txt")" ] ||
  fail "decoding: expected 3 lines, the empty input line empty ($(cat "$T/hyp.txt"))"
"$BIN/xlat-decode" --model "$T/gru/best.xlat" --input "$T/in.txt" --output "$T/nbest.txt" --beam 4 --n-best 3 \
  --quiet || fail "n-best decoding: exit $?"
[ "$(grep -c '^0 ||| ' "$T/nbest.txt")" -eq 3 ] || fail "n-best: expected 3 hypotheses of sentence 0"
grep -aq "gru" "$T/gru/last.xlat" && grep -aq "additive" "$T/gru/last.xlat" ||
  fail "the checkpoint's config does not name the architecture and attention"

# ---- 2. exact resume -------------------------------------------------------------------------------------------
RES=("${DATA[@]}" --spm "$T/spm.model" --arch lstm --attention general --input-feeding 1 --bidirectional 0
  --d-model 64 --enc-layers 2 --dropout 0.2 --threads 1 --valid-freq 25 --valid-metric loss --save-freq 1000
  --max-tokens 1024 --lr 2e-3 --warmup-steps 20 --seed 5)
"$TRAIN" "${RES[@]}" --out "$T/straight" --max-steps 60 >"$T/straight.log" 2>&1 || fail "straight run: exit $?"
"$TRAIN" "${RES[@]}" --out "$T/split" --max-steps 30 >"$T/split1.log" 2>&1 || fail "first half: exit $?"
"$TRAIN" "${RES[@]}" --out "$T/split" --max-steps 60 --resume >"$T/split2.log" 2>&1 || fail "resumed half: exit $?"
grep -q "resuming .* at step 30 " "$T/split2.log" || fail "the resumed run did not start at step 30"
"$TRAIN" average --output "$T/straight.w" "$T/straight/last.xlat" 2>/dev/null &&
  "$TRAIN" average --output "$T/split.w" "$T/split/last.xlat" 2>/dev/null || fail "average of one checkpoint"
cmp -s "$T/straight.w" "$T/split.w" || fail "60 updates straight and 30 + resume + 30 differ"

# ---- 3. errors -------------------------------------------------------------------------------------------------
expect_usage() { # expect_usage NAME PATTERN ARGS...: exit 2 with PATTERN on stderr
  local name=$1 pattern=$2
  shift 2
  "$TRAIN" "${DATA[@]}" --spm "$T/spm.model" --out "$T/err" "$@" >"$T/err.log" 2>&1
  local rc=$?
  [ $rc -eq 2 ] && grep -q -- "$pattern" "$T/err.log" || fail "$name: exit $rc, $(head -c 300 "$T/err.log")"
}
expect_usage "--heads with --arch gru" "Transformer options" --arch gru --heads 4
expect_usage "--attention with a Transformer" "recurrent architectures" --attention dot
expect_usage "--preset with --arch lstm" "Transformer sizes" --arch lstm --preset small
expect_usage "unknown --arch" "transformer, rnn, gru or lstm" --arch cnn
expect_usage "input feeding with additive attention" "input feeding" --arch gru --input-feeding 1
expect_usage "tied embeddings of another size" "emb_dim (64) == d_model (128)" --arch gru --d-model 128 --emb-dim 64
expect_usage "resume with another attention" "attention" --arch lstm --attention dot --input-feeding 1 \
  --bidirectional 0 --d-model 64 --enc-layers 2 --out "$T/straight" --resume --max-steps 61
finish cli_rnn

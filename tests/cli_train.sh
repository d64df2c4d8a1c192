#!/bin/bash
# cli_train.sh - xlat-train end to end on a slice of Multi30k (tiny preset, a few minutes on 2 cores):
#  1. learning: a short run brings the dev loss well below the unigram entropy of the dev targets, writes
#     last.xlat, best.xlat, spm.model and a train.tsv with dev columns; xlat-decode translates with the result;
#  2. exact resume: 200 updates straight and 100 + --resume + 100 give bit-identical weights (one thread; dropout,
#     validation, gradient accumulation and EMA in play);
#  3. interrupt: SIGTERM mid-run saves last.xlat and exits 0, the checkpoint loads and --resume continues from it;
#     a second signal exits at once and leaves the last save intact; a full disk while saving keeps the old file;
#  4. fine-tuning, checkpoint averaging, and errors a user can act on (exit 1 / 2 with a message naming the file).
#  5. relative positions: a short run says so in its log, resumes bit-exactly, decodes; their flags' errors, and
#     --learned-positions still the alias of --positions learned.
. "$(dirname "$0")/harness.sh"
TRAIN="$BIN/xlat-train"
# tsv_last COLUMN FILE: the last non-empty value of a train.tsv column
tsv_last() { awk -F'\t' -v c="$1" 'NR > 1 && $c != "" { v = $c } END { print v }' "$2"; }

multi30k_slice 4000 200
DATA=(--train-src "$T/train.en" --train-tgt "$T/train.de" --valid-src "$T/val.en" --valid-tgt "$T/val.de")
"$BIN/xlat-spm" train --input "$T/train.en,$T/train.de" --model-prefix "$T/spm" --vocab-size 1000 >/dev/null 2>&1 ||
  fail "xlat-spm train"
TINY=(--preset tiny --spm "$T/spm.model" --max-tokens 1024 --seed 3)

# ---- 1. learning ---------------------------------------------------------------------------------------------
"$TRAIN" "${DATA[@]}" --vocab-size 1000 --preset tiny --out "$T/learn" --max-steps 300 --lr 2e-3 --warmup-steps 100 \
  --max-tokens 2048 --valid-freq 150 --valid-max-sentences 100 --log-freq 50 --threads 2 >"$T/learn.log" 2>&1 ||
  fail "short training run: exit $? ($(tail -n 3 "$T/learn.log"))"
for f in last.xlat best.xlat spm.model train.tsv; do [ -s "$T/learn/$f" ] || fail "short run wrote no $f"; done
entropy=$(sed -n 's/.*unigram entropy of the targets \([0-9.]*\) nats.*/\1/p' "$T/learn.log")
dev_loss=$(tsv_last 4 "$T/learn/train.tsv")
dev_bleu=$(tsv_last 5 "$T/learn/train.tsv")
echo "short run: dev loss $dev_loss nats/token against unigram entropy $entropy; dev BLEU $dev_bleu"
awk -v l="${dev_loss:-99}" -v h="${entropy:-0}" 'BEGIN { exit !(h > 3 && l < h - 1.5) }' ||
  fail "dev loss ${dev_loss:-none} is not well below the targets' unigram entropy ${entropy:-none}"
[ "$(awk -F'\t' 'NR > 1 && $4 != ""' "$T/learn/train.tsv" | wc -l)" -eq 2 ] || fail "train.tsv: expected 2 validation rows"
[ "$(head -n 1 "$T/learn/train.tsv")" = \
  "$(printf 'step\twall_s\ttrain_loss\tdev_loss\tdev_bleu\tdev_chrf\tlr\ttokens_per_s\tgrad_norm')" ] ||
  fail "train.tsv header"
grep -q "^epoch [0-9]* step 50 loss" "$T/learn.log" || fail "no plain log line at step 50 (stderr not a terminal)"
printf 'A man is riding a bike.\n' | "$BIN/xlat-decode" --model "$T/learn/best.xlat" --quiet >"$T/hyp.txt" 2>&1 &&
  [ "$(wc -l <"$T/hyp.txt")" -eq 1 ] || fail "xlat-decode cannot translate with best.xlat"
"$TRAIN" "${DATA[@]}" --vocab-size 1000 --preset tiny --out "$T/learn" --max-steps 400 >"$T/again.log" 2>&1
[ $? -eq 2 ] && grep -q -- "--resume" "$T/again.log" || fail "an existing last.xlat without --resume is not refused"

# ---- 2. exact resume ------------------------------------------------------------------------------------------
RES=("${DATA[@]}" "${TINY[@]}" --threads 1 --update-freq 2 --ema-decay 0.99 --valid-freq 70 --valid-metric loss
  --save-freq 1000 --lr 1e-3 --warmup-steps 50)
"$TRAIN" "${RES[@]}" --out "$T/straight" --max-steps 200 >"$T/straight.log" 2>&1 || fail "straight run: exit $?"
"$TRAIN" "${RES[@]}" --out "$T/split" --max-steps 100 >"$T/split1.log" 2>&1 || fail "first half: exit $?"
"$TRAIN" "${RES[@]}" --out "$T/split" --max-steps 200 --resume >"$T/split2.log" 2>&1 || fail "resumed half: exit $?"
grep -q "resuming .* at step 100 " "$T/split2.log" || fail "the resumed run did not start at step 100"
"$TRAIN" average --output "$T/straight.w" "$T/straight/last.xlat" 2>/dev/null &&
  "$TRAIN" average --output "$T/split.w" "$T/split/last.xlat" 2>/dev/null || fail "average of one checkpoint"
cmp -s "$T/straight.w" "$T/split.w" || fail "200 updates straight and 100 + resume + 100 differ"
cmp -s "$T/straight/best.xlat" "$T/split/best.xlat" || fail "best.xlat (EMA weights) differs after the resume"
[ "$(tail -n 1 "$T/straight/train.tsv" | cut -f1)" = 200 ] && [ "$(tail -n 1 "$T/split/train.tsv" | cut -f1)" = 200 ] ||
  fail "train.tsv does not end at step 200"

# ---- 3. interrupt ---------------------------------------------------------------------------------------------
INT=("${DATA[@]}" "${TINY[@]}" --threads 1 --log-freq 10 --valid-freq 100000 --save-freq 100000)
"$TRAIN" "${INT[@]}" --out "$T/int" --max-steps 100000 >"$T/int.log" 2>&1 &
pid=$!
for _ in $(seq 600); do
  [ "$(tail -n 1 "$T/int/train.tsv" 2>/dev/null | cut -f1)" = 30 ] && break
  kill -0 $pid 2>/dev/null || break
  sleep 0.1
done
kill -TERM $pid
wait $pid
rc=$?
[ $rc -eq 0 ] || fail "SIGTERM: exit $rc, expected 0 ($(tail -n 2 "$T/int.log"))"
grep -q "signal received" "$T/int.log" || fail "SIGTERM: no message"
stopped=$(sed -n 's/^stopping at step \([0-9]*\),.*/\1/p' "$T/int.log")
[ -n "$stopped" ] && [ "$stopped" -ge 30 ] || fail "SIGTERM: stopped at step '${stopped}'"
"$TRAIN" average --output "$T/int.w" "$T/int/last.xlat" 2>/dev/null || fail "the interrupted run's last.xlat does not load"
target=$((${stopped:-0} + 5))
"$TRAIN" "${INT[@]}" --out "$T/int" --max-steps $target --resume >"$T/int2.log" 2>&1 || fail "resume after SIGTERM: exit $?"
grep -q "resuming .* at step ${stopped} " "$T/int2.log" || fail "resume after SIGTERM did not start at step $stopped"
grep -q "^stopping at step $target," "$T/int2.log" || fail "resume after SIGTERM did not reach step $target"
cp "$T/int/last.xlat" "$T/int.saved"
"$TRAIN" "${INT[@]}" --out "$T/int" --max-steps 100000 --resume >"$T/int3.log" 2>&1 &
pid=$!
for _ in $(seq 600); do
  grep -q "^epoch .* step $((target + 10)) loss" "$T/int3.log" && break
  kill -0 $pid 2>/dev/null || break
  sleep 0.1
done
kill -INT $pid # two different signals, so that they cannot merge into one
kill -TERM $pid
wait $pid
rc=$?
[ $rc -eq 130 ] || [ $rc -eq 143 ] || fail "SIGINT + SIGTERM: exit $rc, expected 128 + the second signal's number"
grep -q "second signal" "$T/int3.log" || fail "SIGINT + SIGTERM: no second-signal message"
"$TRAIN" average --output "$T/int3.w" "$T/int/last.xlat" 2>/dev/null || fail "last.xlat damaged after two signals"

# a disk that fills up while saving: a file-size limit makes the write fail (EFBIG, as ENOSPC would); the run exits
# 1 naming the file, the previous last.xlat and best.xlat are unchanged and no temporary file is left behind
cp "$T/split/last.xlat" "$T/split.last"
cp "$T/split/best.xlat" "$T/split.best"
(ulimit -f 2048 && trap '' XFSZ && exec "$TRAIN" "${RES[@]}" --out "$T/split" --max-steps 205 --resume) \
  >"$T/full.log" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q "xlat: cannot write: File too large" "$T/full.log" ||
  fail "full disk: exit $rc, $(tail -n 1 "$T/full.log")"
cmp -s "$T/split/last.xlat" "$T/split.last" && cmp -s "$T/split/best.xlat" "$T/split.best" ||
  fail "full disk: a checkpoint changed"
[ -z "$(ls "$T/split" | grep -i tmp)" ] || fail "full disk: temporary files left: $(ls "$T/split")"

# ---- 4. fine-tuning, averaging, errors --------------------------------------------------------------------------
"$TRAIN" "${DATA[@]}" "${TINY[@]}" --out "$T/ft" --finetune "$T/straight/last.xlat" --max-steps 20 --lr 1e-5 \
  --warmup-steps 10 --valid-freq 20 --valid-metric loss --keep-last 3 --save-freq 5 --average-last 2 \
  --threads 2 >"$T/ft.log" 2>&1 || fail "fine-tuning: exit $?"
grep -q "model from $T/straight/last.xlat" "$T/ft.log" || fail "fine-tuning did not start from the given weights"
ft_loss=$(tsv_last 4 "$T/ft/train.tsv")
straight_loss=$(tsv_last 4 "$T/straight/train.tsv")
awk -v a="${ft_loss:-99}" -v b="${straight_loss:-0}" 'BEGIN { exit !(a < b + 0.5) }' ||
  fail "fine-tuning lost what the model knew: dev loss $ft_loss after, $straight_loss before"
[ "$(ls "$T/ft" | grep -c '^step-.*\.xlat$')" -eq 3 ] || fail "--keep-last 3 kept $(ls "$T/ft" | grep -c '^step-') files"
[ -s "$T/ft/average.xlat" ] && grep -q "averaged the last 2 saves" "$T/ft.log" || fail "--average-last 2"
"$TRAIN" average --output "$T/avg.xlat" "$T/ft/step-15.xlat" "$T/ft/step-20.xlat" 2>/dev/null &&
  cmp -s "$T/avg.xlat" "$T/ft/average.xlat" || fail "average subcommand and --average-last disagree"

expect() { # expect STATUS PATTERN -- args: the run exits STATUS and its stderr matches PATTERN
  local want=$1 pat=$2
  shift 3
  "$TRAIN" "$@" >"$T/err.log" 2>&1
  local got=$?
  [ $got -eq "$want" ] && grep -q -- "$pat" "$T/err.log" || fail "xlat-train $*: exit $got, expected $want and /$pat/: $(head -c 300 "$T/err.log")"
}
head -n 3999 "$T/train.de" >"$T/short.de"
"$BIN/xlat-spm" train --input "$T/val.en,$T/val.de" --model-prefix "$T/other" --vocab-size 500 >/dev/null 2>&1
expect 1 "$T/missing.en" -- --train-src "$T/missing.en" --train-tgt "$T/train.de" "${TINY[@]}" --out "$T/e1"
expect 1 "short.de" -- --train-src "$T/train.en" --train-tgt "$T/short.de" "${TINY[@]}" --out "$T/e2"
expect 1 "another SentencePiece model" -- "${DATA[@]}" --preset tiny --spm "$T/other.model" --out "$T/e3" \
  --finetune "$T/straight/last.xlat"
expect 2 "unknown argument --bogus" -- "${DATA[@]}" "${TINY[@]}" --out "$T/e4" --bogus
expect 2 "exactly one of --spm and --vocab-size" -- "${DATA[@]}" --out "$T/e5"
expect 2 "--lr expects" -- "${DATA[@]}" "${TINY[@]}" --out "$T/e6" --lr=-1
expect 2 "--average-last K needs --keep-last" -- "${DATA[@]}" "${TINY[@]}" --out "$T/e7" --average-last 2
# a SentencePiece model with spm_train's default ids (unk 0, bos 1, eos 2) is refused, not misread
spm_train --input "$T/val.de" --model_prefix "$T/defids" --vocab_size 200 --model_type bpe --minloglevel 2 >/dev/null 2>&1 ||
  fail "spm_train (Debian package sentencepiece)"
expect 1 "special ids pad -1, unk 0, bos 1, eos 2" -- "${DATA[@]}" --preset tiny --spm "$T/defids.model" --out "$T/ids"
# nothing lost, nothing silently ignored
cp "$T/learn/spm.model" "$T/learn.spm"
expect 1 "another SentencePiece model" -- "${DATA[@]}" --preset tiny --spm "$T/other.model" --out "$T/learn" --resume
cmp -s "$T/learn/spm.model" "$T/learn.spm" || fail "--resume --spm OTHER replaced the run's own spm.model"
mkdir -p "$T/stale" && cp "$T"/ft/step-*.xlat "$T/stale/"
expect 2 "step-N.xlat files of an earlier run" -- "${DATA[@]}" "${TINY[@]}" --out "$T/stale" --max-steps 5
expect 1 "is a directory" -- --train-src "$T" --train-tgt "$T/train.de" "${TINY[@]}" --out "$T/e8"
expect 2 "--enc-layers 3 .* differs from" -- "${RES[@]}" --enc-layers 3 --out "$T/split" --resume
cp -r "$T/split" "$T/lr"
"$TRAIN" "${RES[@]}" --out "$T/lr" --resume --lr 5e-4 --max-steps 201 >"$T/lr.log" 2>&1 &&
  grep -q "resuming with --lr 0.0005 (the checkpoint had 0.001)" "$T/lr.log" ||
  fail "--resume --lr: $(grep -i "lr\|error" "$T/lr.log" | head -n 3)"
# a 10 MB line is dropped as too long without being encoded whole (bounded memory); blank or invalid input is
# explained, and --skip-invalid-utf8 skips what it names
python3 -c "print(' '.join(['A dog runs over the meadow.'] * 370000))" >"$T/long.en"
python3 -c "print(' '.join(['Ein Hund läuft über die Wiese.'] * 330000))" >"$T/long.de"
cat "$T/train.en" >>"$T/long.en" && cat "$T/train.de" >>"$T/long.de"
(ulimit -v 800000 && exec "$TRAIN" --train-src "$T/long.en" --train-tgt "$T/long.de" "${TINY[@]}" --out "$T/long" \
  --max-steps 2 --threads 1) >"$T/long.log" 2>&1 && grep -q "too long 1," "$T/long.log" ||
  fail "a 10 MB training line: $(tail -n 2 "$T/long.log")"
printf ' \n\t\n' >"$T/blank.en" && printf '\n \n' >"$T/blank.de"
expect 1 "no training pair is left to train on: 2 pairs read, 0 kept (dropped: empty 2" -- --train-src "$T/blank.en" \
  --train-tgt "$T/blank.de" "${TINY[@]}" --out "$T/blank"
{ head -n 10 "$T/train.en"; printf 'Bad \xff byte\n'; sed -n '12,400p' "$T/train.en"; } >"$T/bad.en"
head -n 400 "$T/train.de" >"$T/bad.de"
expect 1 "bad.en:11: invalid UTF-8.*--skip-invalid-utf8" -- --train-src "$T/bad.en" --train-tgt "$T/bad.de" "${TINY[@]}" \
  --out "$T/bad"
"$TRAIN" --train-src "$T/bad.en" --train-tgt "$T/bad.de" "${TINY[@]}" --out "$T/bad" --max-steps 1 \
  --skip-invalid-utf8 >"$T/bad.log" 2>&1 && grep -q "invalid UTF-8 1)" "$T/bad.log" ||
  fail "--skip-invalid-utf8: $(tail -n 2 "$T/bad.log")"
# a full disk while writing the id cache: exit 1 naming it, the previous cache intact, no partial file
cp "$T/train.en" "$T/c.en" && cp "$T/train.de" "$T/c.de"
"$TRAIN" --train-src "$T/c.en" --train-tgt "$T/c.de" "${TINY[@]}" --out "$T/cache" --max-steps 1 >/dev/null 2>&1 ||
  fail "the cache run"
cp "$T/cache/c.en+c.de.ids" "$T/cache.keep"
echo "One more line." >>"$T/c.en" && echo "Noch eine Zeile." >>"$T/c.de"
rm "$T/cache/last.xlat"
(ulimit -f 64 && exec "$TRAIN" --train-src "$T/c.en" --train-tgt "$T/c.de" --preset tiny --spm "$T/cache/spm.model" \
  --max-tokens 1024 --out "$T/cache" --max-steps 1) >"$T/cache.log" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q "corpus cache: .*c.en+c.de.ids: cannot write: File too large" "$T/cache.log" ||
  fail "full disk while caching: exit $rc, $(tail -n 1 "$T/cache.log")"
cmp -s "$T/cache/c.en+c.de.ids" "$T/cache.keep" && [ -z "$(ls "$T/cache" | grep '\.tmp')" ] ||
  fail "full disk while caching: the previous cache changed or a temporary file was left"
# the id cache in shards of 2048 input pairs: one file each, the last at the end, read back on --resume; a full disk
# while writing one names it and leaves no partial file
"$TRAIN" --train-src "$T/c.en" --train-tgt "$T/c.de" "${TINY[@]}" --out "$T/shards" --max-steps 1 \
  --cache-shard-pairs 2048 >/dev/null 2>&1 &&
  "$TRAIN" --train-src "$T/c.en" --train-tgt "$T/c.de" "${TINY[@]}" --out "$T/shards" --max-steps 2 \
    --cache-shard-pairs 2048 --resume >"$T/shards.log" 2>&1 || fail "--cache-shard-pairs runs"
shards=$(( ($(wc -l <"$T/c.en") + 2047) / 2048 ))
[ "$(ls "$T/shards" | grep -c '^c\.en+c\.de\.ids\.[0-9]*$')" -eq "$shards" ] &&
  grep -q "from the cache" "$T/shards.log" ||
  fail "--cache-shard-pairs: expected $shards shard files read back: $(ls "$T/shards" | grep ids | xargs)"
(ulimit -f 64 && exec "$TRAIN" --train-src "$T/c.en" --train-tgt "$T/c.de" --preset tiny --spm "$T/cache/spm.model" \
  --max-tokens 1024 --out "$T/cache" --max-steps 1 --cache-shard-pairs 2048) >"$T/shards2.log" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q "corpus cache: .*c.en+c.de.ids.0: cannot write: File too large" "$T/shards2.log" &&
  [ -z "$(ls "$T/cache" | grep '\.tmp')" ] ||
  fail "full disk while caching a shard: exit $rc, $(tail -n 1 "$T/shards2.log")"
expect 2 "--vocab-size 900, but .* has 1000 pieces" -- "${DATA[@]}" --vocab-size 900 --preset tiny --out "$T/learn" \
  --resume --max-steps 1
expect 2 "can be read only once" -- --train-src <(cat "$T/train.en") --train-tgt <(cat "$T/train.de") \
  --vocab-size 500 --preset tiny --out "$T/pipes2"
# inputs that can be read only once (pipes) train without the cache
"$TRAIN" --train-src <(cat "$T/train.en") --train-tgt <(cat "$T/train.de") "${TINY[@]}" --out "$T/pipe" \
  --max-steps 3 >"$T/pipe.log" 2>&1 || fail "training from pipes: $(tail -n 2 "$T/pipe.log")"
[ -z "$(ls "$T/pipe" | grep '\.ids$')" ] || fail "training from pipes wrote a cache"

# ---- 5. relative positions (Shaw et al. 2018) ----------------------------------------------------------------
REL=("${DATA[@]}" "${TINY[@]}" --threads 1 --positions relative --relative-clip 8 --valid-freq 20
  --valid-max-sentences 50 --save-freq 1000 --lr 1e-3 --warmup-steps 20)
"$TRAIN" "${REL[@]}" --out "$T/rel" --max-steps 40 >"$T/rel.log" 2>&1 ||
  fail "relative positions: exit $? ($(tail -n 3 "$T/rel.log"))"
grep -q "relative positions (K 8)" "$T/rel.log" || fail "the log does not say relative positions (K 8)"
"$TRAIN" "${REL[@]}" --out "$T/rel2" --max-steps 20 >/dev/null 2>&1 &&
  "$TRAIN" "${REL[@]}" --out "$T/rel2" --max-steps 40 --resume >"$T/rel2.log" 2>&1 || fail "relative: resumed run"
"$TRAIN" average --output "$T/rel.w" "$T/rel/last.xlat" 2>/dev/null &&
  "$TRAIN" average --output "$T/rel2.w" "$T/rel2/last.xlat" 2>/dev/null && cmp -s "$T/rel.w" "$T/rel2.w" ||
  fail "relative positions: 40 updates straight and 20 + resume + 20 differ"
printf 'A man is riding a bike.\n' | "$BIN/xlat-decode" --model "$T/rel/last.xlat" --quiet >"$T/rel.txt" 2>&1 &&
  [ "$(wc -l <"$T/rel.txt")" -eq 1 ] || fail "xlat-decode cannot translate with a relative-position model"
expect 2 "--relative-clip 4 .* differs from .* which has 8" -- "${REL[@]}" --relative-clip 4 --out "$T/rel" --resume
expect 2 "--positions (0 sinusoidal, 1 learned, 2 relative) 0 .* differs from" -- "${DATA[@]}" "${TINY[@]}" \
  --out "$T/rel" --resume
expect 2 "--relative-clip needs --positions relative" -- "${DATA[@]}" "${TINY[@]}" --relative-clip 4 --out "$T/e9"
expect 2 "--positions expects sinusoidal, learned or relative, got absolute" -- "${DATA[@]}" "${TINY[@]}" \
  --positions absolute --out "$T/e9"
expect 2 "--positions and --learned-positions set the same thing" -- "${DATA[@]}" "${TINY[@]}" --positions relative \
  --learned-positions 0 --out "$T/e9"
expect 2 "are Transformer options" -- "${DATA[@]}" --spm "$T/spm.model" --arch gru --positions relative --out "$T/e9"
"$TRAIN" "${DATA[@]}" "${TINY[@]}" --learned-positions 1 --out "$T/lp" --max-steps 1 >"$T/lp.log" 2>&1 &&
  grep -q "ReLU, learned positions, tied" "$T/lp.log" || fail "--learned-positions 1: $(tail -n 2 "$T/lp.log")"
"$TRAIN" --help | grep -q -- "--relative-clip K" || fail "--help does not list --relative-clip"
"$TRAIN" --help | grep -q -- "--update-freq" || fail "--help does not list --update-freq"
"$TRAIN" --version | grep -q "^xlat-train " || fail "--version"

finish cli_train

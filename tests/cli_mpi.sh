#!/bin/bash
# cli_mpi.sh - data parallelism over Open MPI on this machine. Training: 2 ranks equal 1 process with --update-freq 2
# on the same batches (50 steps, no dropout: per-step training loss within 1e-5 relative; final weights 99% within
# 1e-4 and a relative L2 distance under 1e-3, the summation order being different; the loss also for a GRU, and for
# 2 ranks of --update-freq 2 against 1 process of 4); only rank 0 writes the output directory; a resume with the same
# number of ranks is bit-identical (dropout on), one with another number works;
# SIGTERM to mpirun saves once and stops both ranks.
# Decoding: 2 ranks write the same output as 1 process, one line per input line.
. "$(dirname "$0")/harness.sh"
TRAIN="$BIN/xlat-train"
command -v mpirun >/dev/null || { fail "mpirun not found (Debian package openmpi-bin)"; finish cli_mpi; }
MPI=(mpirun -np 2 --oversubscribe --bind-to none)
[ "$(id -u)" -eq 0 ] && MPI+=(--allow-run-as-root) # Open MPI refuses root unless told
M30=$SRC/corpora/multi30k
zcat "$M30/train.en.gz" | sed -n 1,2000p >"$T/train.en"
zcat "$M30/train.de.gz" | sed -n 1,2000p >"$T/train.de"
"$BIN/xlat-spm" train --input "$T/train.en,$T/train.de" --model-prefix "$T/spm" --vocab-size 500 >/dev/null 2>&1 ||
  fail "xlat-spm train"
ARGS=(--train-src "$T/train.en" --train-tgt "$T/train.de" --spm "$T/spm.model" --preset tiny --d-model 64 --d-ff 128
  --dropout 0 --max-tokens 512 --threads 1 --log-freq 1 --lr 2e-3 --warmup-steps 20 --seed 7)

"$TRAIN" "${ARGS[@]}" --update-freq 2 --max-steps 50 --out "$T/one" >"$T/one.log" 2>&1 || fail "1 process: exit $?"
"${MPI[@]}" "$TRAIN" "${ARGS[@]}" --max-steps 50 --out "$T/two" >"$T/two.log" 2>&1 ||
  fail "2 ranks: exit $? ($(tail -n 3 "$T/two.log"))"
grep -q "data-parallel over 2 ranks" "$T/two.log" || fail "the 2-rank run does not say it is data-parallel"
[ "$(grep -c '^epoch 1 step 10 ' "$T/two.log")" -eq 1 ] || fail "the 2-rank log is not written once (by rank 0)"
# same_loss NAME ONE/train.tsv TWO/train.tsv STEPS: the per-step training loss within 1e-5 relative
same_loss() {
  python3 - "$@" <<'PY' || fail "per-step training loss ($1): 2 ranks differ from 1 process"
import sys
name, steps = sys.argv[1], int(sys.argv[4])
rows = [[l.split("\t") for l in open(p).read().splitlines()[1:]] for p in sys.argv[2:4]]
a = {r[0]: float(r[2]) for r in rows[0]}
b = {r[0]: float(r[2]) for r in rows[1]}
assert len(a) == steps and a.keys() == b.keys(), (len(a), len(b))
worst = max(abs(a[k] - b[k]) / abs(a[k]) for k in a)
print(f"cli_mpi: {name}, {steps} steps, largest relative difference of the training loss {worst:.2e}")
sys.exit(worst > 1e-5)
PY
}
same_loss transformer "$T/one/train.tsv" "$T/two/train.tsv" 50
# a GRU (its backward hands the decoder's gradients, then each encoder layer's, to the all-reduce while it goes on),
# and 2 ranks of --update-freq 2 against 1 process of 4 (the buckets start during each rank's second batch only)
GRU=(--train-src "$T/train.en" --train-tgt "$T/train.de" --spm "$T/spm.model" --arch gru --d-model 32 --dropout 0
  --max-tokens 512 --threads 1 --log-freq 1 --lr 2e-3 --warmup-steps 20 --seed 7 --max-steps 20)
"$TRAIN" "${GRU[@]}" --update-freq 2 --out "$T/gru1" >/dev/null 2>&1 &&
  "${MPI[@]}" "$TRAIN" "${GRU[@]}" --out "$T/gru2" >/dev/null 2>&1 || fail "gru runs"
same_loss gru "$T/gru1/train.tsv" "$T/gru2/train.tsv" 20
"$TRAIN" "${ARGS[@]}" --update-freq 4 --max-steps 10 --out "$T/four" >/dev/null 2>&1 &&
  "${MPI[@]}" "$TRAIN" "${ARGS[@]}" --update-freq 2 --max-steps 10 --out "$T/twotwo" >/dev/null 2>&1 ||
  fail "--update-freq runs"
same_loss "update-freq 2 x 2 ranks" "$T/four/train.tsv" "$T/twotwo/train.tsv" 10
"$BIN/xlat-bench" export --model "$T/one/last.xlat" --output "$T/one.bin" >/dev/null 2>&1 &&
  "$BIN/xlat-bench" export --model "$T/two/last.xlat" --output "$T/two.bin" >/dev/null 2>&1 || fail "export"
python3 - "$T/one.bin" "$T/two.bin" <<'PY' || fail "final weights: 2 ranks differ from 1 process"
import array, sys
def weights(path):  # xlat-bench export: one JSON header line, then raw float32
    data = open(path, "rb").read()
    w = array.array("f")
    w.frombytes(data[data.index(b"\n") + 1:])
    return w
a, b = weights(sys.argv[1]), weights(sys.argv[2])
d = [abs(x - y) for x, y in zip(a, b)]
norm = sum(x * x for x in a) ** 0.5
rel = sum(x * x for x in d) ** 0.5 / norm
over = sum(x > 1e-4 for x in d)
print(f"cli_mpi: {len(a)} weights, largest difference {max(d):.2e}, {over} over 1e-4, relative L2 distance {rel:.2e}")
# Adam turns a gradient of rounding-noise size into a step of about lr whatever its sign, so the few weights whose
# gradients are that small may differ by a step; the rest must agree
sys.exit(len(a) != len(b) or rel > 1e-3 or over > len(a) // 100)
PY
# exact resume with the same number of ranks, dropout on (rank 1 draws its masks from seed, step and rank)
DROP=("${ARGS[@]}" --dropout 0.1 --save-freq 1000)
"${MPI[@]}" "$TRAIN" "${DROP[@]}" --max-steps 20 --out "$T/straight" >/dev/null 2>&1 &&
  "${MPI[@]}" "$TRAIN" "${DROP[@]}" --max-steps 10 --out "$T/split" >/dev/null 2>&1 &&
  "${MPI[@]}" "$TRAIN" "${DROP[@]}" --max-steps 20 --out "$T/split" --resume >/dev/null 2>&1 || fail "resume runs"
"$TRAIN" average --output "$T/straight.w" "$T/straight/last.xlat" 2>/dev/null &&
  "$TRAIN" average --output "$T/split.w" "$T/split/last.xlat" 2>/dev/null &&
  cmp -s "$T/straight.w" "$T/split.w" || fail "2 ranks: 20 steps straight and 10 + --resume + 10 differ"
# resume with another number of ranks: the corpus position counts global batches
"$TRAIN" "${ARGS[@]}" --update-freq 2 --max-steps 60 --out "$T/two" --resume >"$T/resume.log" 2>&1 &&
  grep -q "resuming .* at step 50 " "$T/resume.log" && grep -q "^stopping at step 60," "$T/resume.log" ||
  fail "resuming a 2-rank run in 1 process: $(tail -n 2 "$T/resume.log")"
# SIGTERM to mpirun: both ranks stop at one step, rank 0 saves last.xlat, and --resume continues
"${MPI[@]}" "$TRAIN" "${ARGS[@]}" --max-steps 100000 --out "$T/int" >"$T/int.log" 2>&1 &
pid=$!
for i in $(seq 1 100); do grep -q "^epoch 1 step 20 " "$T/int.log" 2>/dev/null && break; sleep 0.2; done
kill -TERM $pid
wait $pid
grep -q "signal received" "$T/int.log" && [ -s "$T/int/last.xlat" ] ||
  fail "SIGTERM to mpirun: $(tail -n 3 "$T/int.log")"
"${MPI[@]}" "$TRAIN" "${ARGS[@]}" --max-steps 30 --out "$T/int" --resume >"$T/int2.log" 2>&1 &&
  grep -q "resuming .* at step" "$T/int2.log" || fail "2-rank resume after SIGTERM: $(tail -n 3 "$T/int2.log")"
# decoding: the ranks take windows in turn, rank 0 writes them all in input order, the same as one process
{
  zcat "$M30/test_2016_flickr.en.gz" | sed -n 1,100p
  printf '\n   \nInvalid \xff byte.\n'
} >"$T/test.en"
DEC=("$BIN/xlat-decode" --model "$T/two/last.xlat" --beam 2 --max-length-a 1 --max-length-b 5 --quiet --threads 1)
"${DEC[@]}" --input "$T/test.en" --output "$T/one.out" || fail "decoding in 1 process: exit $?"
"${MPI[@]}" "${DEC[@]}" --window 7 --input "$T/test.en" --output "$T/two.out" >"$T/dec.log" 2>&1 ||
  fail "decoding on 2 ranks: exit $? ($(tail -n 2 "$T/dec.log"))"
[ "$(wc -l <"$T/two.out")" -eq 103 ] && cmp -s "$T/one.out" "$T/two.out" ||
  fail "decoding on 2 ranks: $(wc -l <"$T/two.out") lines, $(cmp "$T/one.out" "$T/two.out" 2>&1 | head -c 100)"
"${MPI[@]}" "${DEC[@]}" <"$T/test.en" >/dev/null 2>"$T/stdin.log"
[ $? -ne 0 ] && grep -q "give --input FILE" "$T/stdin.log" || fail "decoding standard input on 2 ranks is not refused"
finish cli_mpi

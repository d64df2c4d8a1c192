#!/usr/bin/env bash
# tsan.sh [BUILD_DIR] - the document pipeline (decode/document.c over the library's translator.c: reader, worker
# threads, ordered writer; the shared packed weights of the model) under ThreadSanitizer: xlat-decode built with
# -fsanitize=thread into BUILD_DIR (default build-tsan) translates edge-case and ordinary input with 1 to 3 workers,
# several batch sizes and windows, sentence splitting, n-best and forced decoding. Every output must equal the
# one-thread run's and no race or lock-order report may appear. (Interrupts are cli_decode.sh's: TSan defers signal
# handlers, which changes them.) Outputs are kept short (--max-length-a 0 --max-length-b 8): instrumented search is
# slow, and the threads' interplay does not depend on output length.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build-tsan}
bin=${XLAT_BIN_DIR:?set XLAT_BIN_DIR to the normal build bin directory}
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXLAT_TSAN=ON >/dev/null
cmake --build "$build" -j "$(nproc)" --target xlat-decode >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
M30=$src/corpora/multi30k
zcat "$M30/train.en.gz" | sed -n 1,2000p >"$work/train.en"
zcat "$M30/train.de.gz" | sed -n 1,2000p >"$work/train.de"
"$bin/xlat-train" --train-src "$work/train.en" --train-tgt "$work/train.de" --vocab-size 500 --preset tiny \
  --d-model 64 --d-ff 128 --out "$work/model" --max-steps 30 --seed 1 --threads 2 >"$work/train.log" 2>&1 ||
  { cat "$work/train.log" >&2; exit 1; }
{
  zcat "$M30/test_2016_flickr.en.gz" | sed -n 1,150p
  echo
  printf 'Invalid \xff bytes and a \x01 control.\n'
  python3 -c "print(' '.join(['a dog runs on the grass.'] * 60))"
  printf 'Two dogs play. A woman sings! Is it raining?\n'
} >"$work/in.en"
sed -n 1,150p "$work/in.en" >"$work/ref.de"
dec() { "$build/bin/xlat-decode" --model "$work/model/last.xlat" --quiet --max-length-a 0 --max-length-b 8 "$@"; }
export TSAN_OPTIONS="log_path=$work/tsan second_deadlock_stack=1" # one file per report, also from failing runs
fails=0
fail() { echo "tsan.sh: FAIL: $*" >&2; fails=$((fails + 1)); }
dec --threads 1 --input "$work/in.en" >"$work/one.out" || fail "one thread: exit $?"
for run in "--threads 2 --batch-size 1" "--threads 3 --batch-size 7 --window 16" "--threads 2 --window 1" \
  "--threads 3 --batch-tokens 64"; do
  dec $run --input "$work/in.en" >"$work/many.out" || fail "$run: exit $?"
  cmp -s "$work/one.out" "$work/many.out" || fail "$run: output differs from one thread's"
done
dec --threads 1 --split-sentences --n-best 2 --beam 2 --format json --input "$work/in.en" >"$work/s1.out"
dec --threads 3 --split-sentences --n-best 2 --beam 2 --format json --window 8 --input "$work/in.en" >"$work/s3.out"
cmp -s "$work/s1.out" "$work/s3.out" || fail "--split-sentences --n-best: output differs between 1 and 3 threads"
dec --threads 1 --input "$work/in.en" --score "$work/in.en" >"$work/f1.out" 2>/dev/null || true
dec --threads 3 --input "$work/in.en" --score "$work/in.en" >"$work/f3.out" 2>/dev/null || true
cmp -s "$work/f1.out" "$work/f3.out" || fail "--score: output differs between 1 and 3 threads"
for report in "$work"/tsan.*; do
  [ -e "$report" ] || continue
  echo "tsan.sh: ThreadSanitizer report:" >&2
  head -n 60 "$report" >&2
  fails=$((fails + 1))
done
[ $fails -eq 0 ] || exit 1
echo "tsan.sh: the document pipeline is clean under ThreadSanitizer ($(wc -l <"$work/in.en") lines, 1-3 workers)"

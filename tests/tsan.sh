#!/usr/bin/env bash
# tsan.sh [BUILD_DIR] - the document pipeline's end-to-end tests (cli_decode.sh: worker threads, windows, ordered
# output, interrupts) on a ThreadSanitizer build of xlat-decode and xlat-spm (into BUILD_DIR, default build-tsan). A
# data race or a lock-order problem is a failure. The tiny test model is trained by the uninstrumented build.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build-tsan}
bin=${XLAT_BIN_DIR:?set XLAT_BIN_DIR to the normal build bin directory}
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXLAT_TSAN=ON >/dev/null
cmake --build "$build" -j "$(nproc)" --target xlat-decode xlat-spm >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
M30=$src/corpora/multi30k
zcat "$M30/train.en.gz" | sed -n 1,4000p >"$work/train.en"
zcat "$M30/train.de.gz" | sed -n 1,4000p >"$work/train.de"
"$bin/xlat-train" --train-src "$work/train.en" --train-tgt "$work/train.de" --vocab-size 1000 --preset tiny \
  --out "$work/model" --max-steps 100 --seed 1 --threads 2 >"$work/train.log" 2>&1 ||
  { cat "$work/train.log" >&2; exit 1; }
# the tsan binaries, plus the normal xlat-train for the one model cli_decode.sh trains itself
mkdir "$work/bin"
cp "$build/bin/xlat-decode" "$build/bin/xlat-spm" "$work/bin/"
ln -s "$bin/xlat-train" "$work/bin/xlat-train"
# every report goes to a file of its own, so one inside a run the test expects to fail is not missed
export TSAN_OPTIONS="log_path=$work/tsan second_deadlock_stack=1"
rc=0
XLAT_BIN_DIR=$work/bin XLAT_TEST_MODEL=$work/model/last.xlat bash "$src/tests/cli_decode.sh" || rc=1
for report in "$work"/tsan.*; do
  [ -e "$report" ] || continue
  echo "tsan.sh: ThreadSanitizer report:" >&2
  head -n 60 "$report" >&2
  rc=1
done
[ $rc -eq 0 ] && echo "tsan.sh: cli_decode.sh clean under ThreadSanitizer"
exit $rc

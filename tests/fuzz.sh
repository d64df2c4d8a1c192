#!/usr/bin/env bash
# fuzz.sh [BUILD_DIR] - builds the libFuzzer harnesses of tests/fuzz with clang (everything under ASan and UBSan,
# into BUILD_DIR, default build-fuzz) and runs each for XLAT_FUZZ_SECONDS (default 15) from its committed seeds
# (tests/fuzz/seeds/NAME). A crash, a leak, a sanitizer report, a 10 s hang or 2 GB of memory fails the run and
# leaves the input in BUILD_DIR/findings. XLAT_FUZZ_SECONDS=600 is the longer campaign; XLAT_FUZZ_ONLY=NAME runs one.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build-fuzz}
seconds=${XLAT_FUZZ_SECONDS:-15}
command -v clang >/dev/null || { echo "fuzz.sh: needs clang (Debian package clang)" >&2; exit 1; }
names=(checkpoint lines corpus cache text spm bleu markup)
[ -n "${XLAT_FUZZ_ONLY:-}" ] && names=("$XLAT_FUZZ_ONLY")
CC=clang CXX=clang++ cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXLAT_FUZZ=ON >/dev/null
cmake --build "$build" -j "$(nproc)" --target xlat-spm "${names[@]/#/fuzz_}" >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work" /tmp/xlat-fuzz-*' EXIT
mkdir -p "$build/findings"

# what the encoding harnesses need: a small SentencePiece model and two small text files with their id cache
zcat "$src/corpora/multi30k/train.en.gz" | sed -n 1,300p >"$work/a.en" # sed reads to the end: no SIGPIPE
zcat "$src/corpora/multi30k/train.de.gz" | sed -n 1,300p >"$work/a.de"
"$build/bin/xlat-spm" train --input "$work/a.en,$work/a.de" --model-prefix "$work/spm" --vocab-size 400 2>/dev/null
export XLAT_FUZZ_SPM=$work/spm.model XLAT_FUZZ_CACHE_DIR=$work ASAN_OPTIONS=detect_leaks=1
: >"$work/empty"
if [[ " ${names[*]} " == *" cache "* ]]; then # an empty cache is rebuilt: the real one becomes a seed
  "$build/fuzz/fuzz_cache" -runs=1 "$work/empty" >/dev/null 2>&1
fi

status=0
for name in "${names[@]}"; do
  corpus=$work/corpus-$name
  mkdir -p "$corpus"
  cp "$src/tests/fuzz/seeds/$name"/* "$corpus/" 2>/dev/null || true
  [ "$name" = cache ] && cp "$work/cache/a.en+a.de.ids" "$corpus/real.ids"
  if [ "$name" = markup ]; then # the end-to-end test's pages, behind their format byte (2 HTML, 1 Markdown)
    for page in "$src"/tests/markup/*; do
      { case $page in *.md) printf '\1' ;; *) printf '\2' ;; esac; cat "$page"; } >"$corpus/$(basename "$page")"
    done
  fi
  if "$build/fuzz/fuzz_$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -artifact_prefix="$build/findings/$name-" "$corpus" >"$work/$name.log" 2>&1; then
    echo "fuzz_$name: $(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$work/$name.log") runs in ${seconds} s, nothing found"
  else
    echo "fuzz_$name FAILED:" >&2
    grep -A 30 -m 1 'ERROR\|SUMMARY\|deadly\|timeout\|out-of-memory' "$work/$name.log" >&2 || tail -n 40 "$work/$name.log" >&2
    status=1
  fi
done
exit $status

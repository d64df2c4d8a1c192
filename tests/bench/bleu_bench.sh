#!/usr/bin/env bash
# bleu_bench.sh - speed and peak memory of xlat-bleu on 1,000,000 segments (Multi30k train.de repeated), BLEU with
# the 13a tokenizer and one reference (target: 1.2 s on the 2-core development machine, at most 162 MB). The
# hypothesis is the reference with every third line replaced by another sentence and "ein" -> "eine" elsewhere, so
# n-grams partly match. Options after LINES go to xlat-bleu (e.g. --threads 1, -m chrf).
# Usage: tests/bench/bleu_bench.sh [BUILD_DIR] [LINES] [OPTION...]   (prints the score, wall time and peak RSS)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
lines=${2:-1000000}
shift $(($# < 2 ? $# : 2))
bin=$build/bin/xlat-bleu
[ -x "$bin" ] || { echo "bleu_bench.sh: $bin not built (cmake --build $build --target xlat-bleu)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bleu_bench.sh: needs /usr/bin/time (Debian package time)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
zcat corpora/multi30k/train.de.gz >"$tmp/src"
awk -v n="$lines" 'NR == FNR { s[c++] = $0; next } END { for (i = 0; i < n; i++) print s[i % c] }' "$tmp/src" "$tmp/src" >"$tmp/ref"
awk -v n="$lines" 'NR == FNR { s[c++] = $0; next }
  END { for (i = 0; i < n; i++) { if (i % 3 == 0) print s[(i * 7 + 3) % c]; else { l = s[i % c]; gsub(/ein/, "eine", l); print l } } }' \
  "$tmp/src" "$tmp/src" >"$tmp/hyp"
echo "bleu_bench.sh: $(wc -l <"$tmp/ref") segments, $(du -m "$tmp/ref" | cut -f1) MB of references"
/usr/bin/time -v "$bin" "$tmp/ref" -i "$tmp/hyp" -f text "$@" 2>"$tmp/time"
grep -E 'Elapsed \(wall clock\)|Maximum resident set size' "$tmp/time" | sed 's/^[ \t]*/bleu_bench.sh: /'

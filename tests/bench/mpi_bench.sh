#!/bin/bash
# mpi_bench.sh - data-parallel scaling of xlat-train on this machine, in one command: the same global batch (2 x
# TOKENS target-side tokens per update) trained by 1 process with 1 thread (--update-freq 2), by 2 MPI ranks with 1
# thread each, and by 1 process with 2 threads (--update-freq 2). Real Multi30k batches, the given preset, STEPS
# updates after WARM warm-up updates; RUNS interleaved runs, medians of the global target tokens/s. A benchmark, not
# a test.
#
#   tests/bench/mpi_bench.sh BIN_DIR SPM_MODEL      env: PRESET (small), TOKENS (1024), STEPS (30), WARM (30), RUNS (3)
#
# BASE=OTHER_BIN_DIR also times the 2 ranks of another build (say, before a change) in the same interleaved runs;
# KINDS (default "one_thread two_ranks two_threads", plus two_ranks_base with BASE) chooses what runs.
set -eu
BIN=${1:?usage: mpi_bench.sh BIN_DIR SPM_MODEL}
SPM=${2:?usage: mpi_bench.sh BIN_DIR SPM_MODEL}
SRC=$(cd "$(dirname "$0")/../.." && pwd)/corpora/multi30k
PRESET=${PRESET:-small} TOKENS=${TOKENS:-1024} STEPS=${STEPS:-30} WARM=${WARM:-30} RUNS=${RUNS:-3}
MPI=(mpirun -np 2 --bind-to none)
[ "$(id -u)" -eq 0 ] && MPI+=(--allow-run-as-root)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
total=$((WARM + STEPS))
ARGS=(--train-src "$SRC/train.en.gz" --train-tgt "$SRC/train.de.gz" --spm "$SPM" --preset "$PRESET"
  --max-tokens "$TOKENS" --lr 1e-3 --warmup-steps 600 --log-freq "$STEPS" --max-steps "$total" --seed 1)
# tokens/s of the log line at the last step: the STEPS updates after the warm-up (log-freq STEPS, total a multiple)
[ $((WARM % STEPS)) -eq 0 ] || { echo "mpi_bench.sh: WARM must be a multiple of STEPS" >&2; exit 2; }
rate() { sed -n "s/^epoch [0-9]* step $total loss .* tok\\/s \\([0-9]*\\) .*/\\1/p" "$1"; }
"$BIN/xlat-train" "${ARGS[@]}" --max-steps 1 --threads 1 --out "$T/cache" >/dev/null 2>&1 # builds the id cache once
KINDS=${KINDS:-one_thread two_ranks two_threads${BASE:+ two_ranks_base}}
declare -A all
for r in $(seq 1 "$RUNS"); do
  for kind in $KINDS; do
    rm -rf "$T/$kind" && mkdir -p "$T/$kind" && cp "$T/cache/"*.ids "$T/$kind/"
    case $kind in
    one_thread) "$BIN/xlat-train" "${ARGS[@]}" --threads 1 --update-freq 2 --out "$T/$kind" >"$T/log" 2>&1 ;;
    two_ranks) "${MPI[@]}" "$BIN/xlat-train" "${ARGS[@]}" --threads 1 --out "$T/$kind" >"$T/log" 2>&1 ;;
    two_threads) "$BIN/xlat-train" "${ARGS[@]}" --threads 2 --update-freq 2 --out "$T/$kind" >"$T/log" 2>&1 ;;
    two_ranks_base) "${MPI[@]}" "${BASE:?}/xlat-train" "${ARGS[@]}" --threads 1 --out "$T/$kind" >"$T/log" 2>&1 ;;
    *) echo "mpi_bench.sh: unknown kind '$kind' in KINDS" >&2; exit 2 ;;
    esac
    all[$kind]+="$(rate "$T/log") "
  done
done
median() { tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# one JSON object: the median of each kind that ran, the ratios of those present, and every run's figure
json="{\"preset\": \"$PRESET\", \"global_batch_tokens\": $((2 * TOKENS)), \"steps\": $STEPS, \"runs\": $RUNS"
names=(one_thread:one_process_one_thread two_ranks:two_ranks_one_thread_each two_threads:one_process_two_threads
  two_ranks_base:two_ranks_base_build)
for pair in "${names[@]}"; do
  kind=${pair%%:*}
  [ -n "${all[$kind]:-}" ] && json+=", \"${pair#*:}\": $(median "${all[$kind]}")"
done
ratio() { # ratio NAME A B: A's median over B's, when both ran
  [ -n "${all[$2]:-}" ] && [ -n "${all[$3]:-}" ] &&
    json+=", \"$1\": $(awk -v x="$(median "${all[$2]}")" -v y="$(median "${all[$3]}")" 'BEGIN { printf "%.2f", x / y }')"
  return 0
}
ratio two_ranks_over_one_thread two_ranks one_thread
ratio two_ranks_over_two_threads two_ranks two_threads
ratio two_ranks_over_base_build two_ranks two_ranks_base
json+=", \"all\": {"
sep=""
for kind in $KINDS; do
  json+="$sep\"$kind\": \"${all[$kind]% }\""
  sep=", "
done
echo "$json}}"

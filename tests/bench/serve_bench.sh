#!/bin/bash
# serve_bench.sh - throughput, latency and memory of `xlat-decode --serve` under concurrent clients. A benchmark,
# not a test (tests/cli_serve_load.sh is the suite's check).
#
#   tests/bench/serve_bench.sh BIN_DIR MODEL.xlat [INPUT]
#
# Starts BIN_DIR/xlat-decode --model MODEL --serve on a free loopback port, writes the expected translations with
# `xlat-decode --model MODEL --input INPUT`, runs serve_load.py against the server (every answer checked), then
# prints the server's peak RSS (VmHWM) and stops it with SIGTERM. INPUT (plain or gzip) defaults to Multi30k
# test_2016_flickr.en.gz. Env: CLIENTS (32), REQUESTS (10000), LIST (0: one sentence a request; K: lists of K),
# SERVE_ARGS (more flags for the server, e.g. "--threads 2"). Exit status: serve_load.py's, or 1 when the server
# does not start or does not exit 0 on SIGTERM.
set -u
BIN=${1:?usage: serve_bench.sh BIN_DIR MODEL.xlat [INPUT]}
MODEL=${2:?usage: serve_bench.sh BIN_DIR MODEL.xlat [INPUT]}
HERE=$(cd "$(dirname "$0")" && pwd)
INPUT=${3:-$HERE/../../corpora/multi30k/test_2016_flickr.en.gz}
T=$(mktemp -d)
. "$HERE/../server.sh"

"$BIN/xlat-decode" --version
zcat -f "$INPUT" >"$T/input.txt"
"$BIN/xlat-decode" --model "$MODEL" --quiet --input "$T/input.txt" --output "$T/expected.txt" ||
  { echo "serve_bench: xlat-decode on $INPUT failed" >&2; exit 1; }
# shellcheck disable=SC2086 # SERVE_ARGS is a list of flags
start_server ${SERVE_ARGS:-} || exit 1
echo "serve_bench: server pid $SERVER_PID at $URL (${SERVE_ARGS:-default flags}), $(wc -l <"$T/input.txt") input lines"
list=()
[ "${LIST:-0}" -gt 0 ] && list=(--list "$LIST")
python3 "$HERE/serve_load.py" "$URL" "$T/input.txt" "$T/expected.txt" --clients "${CLIENTS:-32}" \
  --requests "${REQUESTS:-10000}" "${list[@]}"
rc=$?
hwm=$(awk '/^VmHWM/ { print $2, $3 }' "/proc/$SERVER_PID/status")
echo "serve_bench: server peak RSS (VmHWM) $hwm"
stop_server
src=$?
[ $src -eq 0 ] || { echo "serve_bench: the server exited with status $src after SIGTERM" >&2; tail -n 20 "$T/server.log" >&2; rc=1; }
exit $rc

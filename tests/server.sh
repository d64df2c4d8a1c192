# server.sh - what the tests of `xlat-decode --serve` share; sourced, not run (by cli_browser.sh, cli_serve_load.sh
# and bench/serve_bench.sh). Needs $BIN (the programs) and $T (a temporary directory); test_model also needs $SRC.
#   test_model            sets MODEL: $XLAT_TEST_MODEL, or a tiny model trained as cli_decode.sh trains one
#   start_server [ARG...] starts $BIN/xlat-decode --model $MODEL --serve 127.0.0.1:$PORT ARG... on a free port, its
#                         output in $T/server.log; waits until GET /languages answers. Sets PORT, URL, SERVER_PID.
#                         Returns 1 (the log on stderr) when it exits or does not answer within 60 s.
#   stop_server           SIGTERM, waits at most 30 s (then SIGKILL); returns the server's exit status
# A server still running when the shell exits is killed.

test_model() {
  if [ -n "${XLAT_TEST_MODEL:-}" ]; then
    MODEL=$XLAT_TEST_MODEL
    return 0
  fi
  local m30=$SRC/corpora/multi30k
  zcat "$m30/train.en.gz" | head -n 4000 >"$T/train.en"
  zcat "$m30/train.de.gz" | head -n 4000 >"$T/train.de"
  zcat "$m30/val.en.gz" | head -n 100 >"$T/val.en"
  zcat "$m30/val.de.gz" | head -n 100 >"$T/val.de"
  if ! "$BIN/xlat-train" --train-src "$T/train.en" --train-tgt "$T/train.de" --valid-src "$T/val.en" \
    --valid-tgt "$T/val.de" --vocab-size 1000 --preset tiny --out "$T/model" --max-steps 400 --seed 1 \
    --threads 2 >"$T/train.log" 2>&1; then
    cat "$T/train.log" >&2
    echo "FAIL: could not train the tiny model for this test" >&2
    exit 1
  fi
  MODEL=$T/model/last.xlat
}

SERVER_PID=
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_server() {
  PORT=$(free_port)
  URL=http://127.0.0.1:$PORT
  "$BIN/xlat-decode" --model "$MODEL" --serve "127.0.0.1:$PORT" "$@" >"$T/server.log" 2>&1 &
  SERVER_PID=$!
  local i
  for i in $(seq 1 120); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      wait "$SERVER_PID"
      echo "xlat-decode --serve exited with status $? before answering:" >&2
      cat "$T/server.log" >&2
      SERVER_PID=
      return 1
    fi
    python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/languages", timeout=2).read()' \
      "$URL" 2>/dev/null && return 0
    sleep 0.5
  done
  echo "xlat-decode --serve did not answer GET $URL/languages within 60 s:" >&2
  cat "$T/server.log" >&2
  return 1
}

stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  local pid=$SERVER_PID i rc
  SERVER_PID=
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "xlat-decode --serve still running 30 s after SIGTERM; killed" >&2
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 124
  fi
  wait "$pid"
  rc=$?
  return $rc
}

trap '[ -z "$SERVER_PID" ] || kill -KILL "$SERVER_PID" 2>/dev/null; [ -n "${XLAT_KEEP:-}" ] || rm -rf "$T"' EXIT

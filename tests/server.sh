# server.sh - what the tests of `xlat-decode --serve` share; sourced, not run (by cli_serve.sh, cli_markup.sh,
# cli_browser.sh, cli_serve_load.sh and bench/serve_bench.sh). Needs $BIN (the programs), $MODEL and $T (a temporary
# directory).
#   start_server [ARG...] starts $BIN/xlat-decode --model $MODEL --serve 127.0.0.1:0 ARG... (the server takes a free
#                         port and prints it: no race for one), its output in $T/server.log; waits until
#                         GET /languages answers. Sets PORT, URL, SERVER_PID.
#                         Returns 1 (the log on stderr) when it exits or does not answer within 60 s.
#   stop_server           SIGTERM, waits at most 30 s (then SIGKILL); returns the server's exit status
# A server still running when the shell exits is killed.

SERVER_PID=
start_server() {
  "$BIN/xlat-decode" --model "$MODEL" --serve 127.0.0.1:0 "$@" >"$T/server.log" 2>&1 &
  SERVER_PID=$!
  URL=
  local i
  for i in $(seq 1 240); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      wait "$SERVER_PID"
      echo "xlat-decode --serve exited with status $? before answering:" >&2
      cat "$T/server.log" >&2
      SERVER_PID=
      return 1
    fi
    URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$T/server.log" || true)
    PORT=${URL##*:}
    [ -n "$URL" ] && python3 -c 'import sys, urllib.request
urllib.request.urlopen(sys.argv[1] + "/languages", timeout=2).read()' "$URL" 2>/dev/null && return 0
    sleep 0.25
  done
  echo "xlat-decode --serve did not answer GET /languages within 60 s:" >&2
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

#!/bin/bash
# cli_serve_load.sh - `xlat-decode --serve` under load: 32 concurrent clients send 10000 POST /translate requests of
# one Multi30k test sentence each (tests/bench/serve_load.py), then 500 requests of lists of 4 sentences; every answer
# must equal what `xlat-decode --model M` prints for that sentence, none lost, none answered twice. The server must
# then stop on SIGTERM with status 0. XLAT_LOAD_REQUESTS / XLAT_LOAD_CLIENTS change the first run's size.
#
# Needs a trained model: harness.sh's tiny_model (XLAT_TEST_MODEL when set).
. "$(dirname "$0")/harness.sh"
. "$SRC/tests/server.sh"

tiny_model
zcat "$SRC/corpora/multi30k/test_2016_flickr.en.gz" >"$T/test.en"
"$BIN/xlat-decode" --model "$MODEL" --quiet --input "$T/test.en" --output "$T/test.expected" 2>"$T/dec.err" ||
  { fail "xlat-decode --input test.en: exit $?: $(cat "$T/dec.err")"; finish cli_serve_load; }

start_server || { fail "could not start xlat-decode --serve"; finish cli_serve_load; }
LOAD=$SRC/tests/bench/serve_load.py
python3 "$LOAD" "$URL" "$T/test.en" "$T/test.expected" --clients "${XLAT_LOAD_CLIENTS:-32}" \
  --requests "${XLAT_LOAD_REQUESTS:-10000}" || fail "load of single sentences (serve_load.py exit $?)"
python3 "$LOAD" "$URL" "$T/test.en" "$T/test.expected" --clients 8 --requests 500 --list 4 ||
  fail "load of lists of 4 sentences (serve_load.py exit $?)"
echo "server peak RSS (VmHWM): $(awk '/^VmHWM/ { print $2, $3 }' "/proc/$SERVER_PID/status" 2>/dev/null)"

stop_server
rc=$?
[ $rc -eq 0 ] || { fail "xlat-decode --serve exited with status $rc after SIGTERM"; tail -n 20 "$T/server.log" >&2; }
finish cli_serve_load

#!/bin/bash
# cli_browser.sh - the web page of `xlat-decode --serve` in a real browser: Debian's headless Chromium, driven by
# playwright-core (tests/browser/, installed by tests/setup.sh with npm ci) through tests/browser/translate.mjs.
# The page must load from the server alone, show the language pair, translate a typed sentence (button) and two
# lines around a blank one (Ctrl+Enter) exactly as `xlat-decode --model M` prints them, and show an SVG attention
# map when a line of the translation is clicked. The server must then stop on SIGTERM with status 0.
#
# Needs a trained model: harness.sh's tiny_model (XLAT_TEST_MODEL when set).
# XLAT_BROWSER_SCREENSHOT=FILE.png keeps a screenshot of the page at the end.
. "$(dirname "$0")/harness.sh"
. "$SRC/tests/server.sh"

NODE_DIR=$SRC/tests/browser
command -v node >/dev/null || { fail "node not found (bash tests/setup.sh installs it)"; finish cli_browser; }
[ -x "${XLAT_CHROMIUM:-/usr/bin/chromium}" ] ||
  { fail "${XLAT_CHROMIUM:-/usr/bin/chromium} not found (bash tests/setup.sh installs Debian's chromium)"; finish cli_browser; }
[ -d "$NODE_DIR/node_modules/playwright-core" ] ||
  { fail "$NODE_DIR/node_modules/playwright-core missing (bash tests/setup.sh runs npm ci there)"; finish cli_browser; }

tiny_model
s1="A man is riding a bike."
s2="Two dogs play in the snow."
printf '%s\n%s\n' "$s1" "$s2" | "$BIN/xlat-decode" --model "$MODEL" --quiet >"$T/expected" 2>"$T/dec.err" ||
  { fail "xlat-decode: exit $?: $(cat "$T/dec.err")"; finish cli_browser; }
e1=$(sed -n 1p "$T/expected") e2=$(sed -n 2p "$T/expected")
[ -n "$e1" ] && [ -n "$e2" ] || { fail "xlat-decode printed an empty translation"; finish cli_browser; }

start_server || { fail "could not start xlat-decode --serve"; finish cli_browser; }
timeout 120 node "$NODE_DIR/translate.mjs" "$URL/" "$s1" "$e1" "$s2" "$e2" ${XLAT_BROWSER_SCREENSHOT:+"$XLAT_BROWSER_SCREENSHOT"} \
  >"$T/browser.out" 2>&1
rc=$?
cat "$T/browser.out"
[ $rc -eq 0 ] || fail "the page in Chromium (translate.mjs exit $rc)"

stop_server
rc=$?
[ $rc -eq 0 ] || { fail "xlat-decode --serve exited with status $rc after SIGTERM"; cat "$T/server.log" >&2; }
finish cli_browser

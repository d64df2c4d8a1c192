#!/bin/bash
# cli_serve.sh - xlat-decode --serve end to end with curl: LibreTranslate's API (/translate with q as a string, a list
# or a form field; /languages), every answer equal to xlat-decode on the same text, lines kept, 400 with a message for
# bad requests, 404 / 405 / 413, a full queue answers 503, a request past its timeout 504 and the service carries on,
# /attention draws well-formed SVG, SIGTERM lets the requests in flight finish and exits 0, usage errors exit 2.
#
# Needs a trained model: harness.sh's tiny_model.
. "$(dirname "$0")/harness.sh"
. "$SRC/tests/server.sh"
DEC="$BIN/xlat-decode"
tiny_model

serve() { start_server "$@" || { fail "the service did not start"; finish cli_serve; }; }
# post PATH JSON: the body on stdout, the status code in $T/code
post() {
  curl -s -o "$T/body" -w '%{http_code}' -H 'Content-Type: application/json' -X POST "$URL$1" --data-binary "$2" \
    >"$T/code"
  cat "$T/body"
}
code() { cat "$T/code"; }
# json EXPR: evaluates a Python expression over the last answer, bound to j
json() { python3 -c "import json,sys; j=json.load(open('$T/body')); print($1)"; }

zcat "$SRC/corpora/multi30k/test_2016_flickr.en.gz" | head -n 60 >"$T/test.en"
"$DEC" --model "$MODEL" --quiet --input "$T/test.en" >"$T/want.de" || fail "xlat-decode on the test lines"

serve
# ---- answers equal xlat-decode's ------------------------------------------------------------------------------
python3 -c "
import json
lines = open('$T/test.en', encoding='utf-8').read().split('\n')[:-1]
print(json.dumps({'q': lines, 'source': 'en', 'target': 'de', 'format': 'text'}))" >"$T/list.json"
post /translate "$(cat "$T/list.json")" >/dev/null
[ "$(code)" = 200 ] || fail "list request: $(code) $(head -c 300 "$T/body")"
json "'\n'.join(j['translatedText'])" >"$T/got.de"
cmp -s "$T/got.de" "$T/want.de" ||
  fail "list answers differ from xlat-decode: $(diff "$T/got.de" "$T/want.de" | head -5)"
# one string holding several lines, blank ones included: translated line by line, joined back with \n
first=$(sed -n 1p "$T/test.en")
second=$(sed -n 2p "$T/test.en")
# pyjson EXPR ARGS...: prints EXPR as JSON, with the arguments bound to a
pyjson() {
  local expr=$1
  shift
  python3 -c "import json,sys; a=sys.argv[2:]; print(json.dumps($expr))" - "$@"
}
post /translate "$(pyjson "{'q': a[0] + '\r\n\n' + a[1], 'source': 'auto', 'target': 'de'}" "$first" "$second")" \
  >/dev/null
want=$(pyjson "a[0] + '\n\n' + a[1]" "$(sed -n 1p "$T/want.de")" "$(sed -n 2p "$T/want.de")")
[ "$(json "json.dumps(j['translatedText'])")" = "$want" ] || fail "multi-line q: $(cat "$T/body")"
# form-encoded, as LibreTranslate's own page sends it
curl -s --data-urlencode "q=$first" -d source=en -d target=de "$URL/translate" >"$T/body"
[ "$(json "j['translatedText']")" = "$(sed -n 1p "$T/want.de")" ] || fail "form request: $(cat "$T/body")"
post /translate '{"q": [], "target": "de"}' >/dev/null
[ "$(code)" = 200 ] && [ "$(json "j['translatedText']")" = "[]" ] || fail "empty list: $(code) $(cat "$T/body")"
curl -s "$URL/languages" >"$T/body"
[ "$(json "j[0]['code'], j[0]['targets'], j[1]['code']")" = "en ['de'] de" ] || fail "/languages: $(cat "$T/body")"
curl -s "$URL/" | grep -q '<textarea' || fail "GET / serves no page"

# ---- bad requests ---------------------------------------------------------------------------------------------
expect() { # expect CODE MESSAGE-PART PATH BODY
  post "$3" "$4" >/dev/null
  [ "$(code)" = "$1" ] && grep -q -- "$2" "$T/body" ||
    fail "$3 $4: expected $1 with \"$2\", got $(code) $(cat "$T/body")"
}
expect 400 "not JSON" /translate '{"q": '
expect 400 "a JSON object" /translate '["x"]'
expect 400 "missing q" /translate '{"source": "en"}'
expect 400 "a string or a list" /translate '{"q": 5}'
expect 400 'q\[1\]' /translate '{"q": ["a", null]}'
expect 400 'target \\"fr\\" is not offered' /translate '{"q": "a", "target": "fr"}'
expect 400 'source \\"es\\"' /translate '{"q": "a", "source": "es"}'
expect 400 "format" /translate '{"q": "a", "format": "pdf"}'
expect 400 "one line" /attention '{"q": ["a"]}'
expect 400 "one line" /attention '{"q": "  "}'
expect 404 "no such endpoint" /nothing '{}'
curl -s -o "$T/body" -w '%{http_code}' "$URL/translate" >"$T/code"
[ "$(code)" = 405 ] || fail "GET /translate: $(code)"
head -c 1100000 /dev/zero | tr '\0' a | curl -s -o "$T/body" -w '%{http_code}' -H 'Content-Type: application/json' \
  --data-binary @- "$URL/translate" >"$T/code"
[ "$(code)" = 413 ] || fail "a 1.1 MB body: $(code)"
printf '{"q": "a \377 b"}' >"$T/bad.json"
post /translate "$(cat "$T/bad.json")" >/dev/null
[ "$(code)" = 400 ] || fail "invalid UTF-8 in JSON: $(code)"

# ---- /attention -----------------------------------------------------------------------------------------------
post /attention "$(pyjson "{'q': a[0]}" "$first")" >"$T/att.svg"
[ "$(code)" = 200 ] && python3 -c "
import sys, xml.etree.ElementTree as E
r = E.parse('$T/att.svg').getroot()
assert r.tag.endswith('svg') and len(r.findall('.//{http://www.w3.org/2000/svg}rect')) > 3" ||
  fail "/attention: $(code) $(head -c 200 "$T/att.svg")"
stop_server || fail "SIGTERM: exit $?"

# ---- a full queue, a timeout ----------------------------------------------------------------------------------
serve --queue 4
expect 503 "queue is full" /translate "$(pyjson "{'q': ['a dog runs.'] * 5}")"
post /translate '{"q": "A dog."}' >/dev/null
[ "$(code)" = 200 ] || fail "after a 503: $(code) $(cat "$T/body")"
stop_server || fail "SIGTERM after 503: exit $?"
serve --timeout 0.001 --threads 1
expect 504 "not translated within" /translate "$(cat "$T/list.json")"
stop_server || fail "SIGTERM after a timeout: exit $?"

# ---- SIGTERM with requests in flight --------------------------------------------------------------------------
serve --threads 1 --batch-size 4
python3 -c "
import json
lines = open('$T/test.en', encoding='utf-8').read().split('\n')[:-1]
print(json.dumps({'q': lines * 20}))" >"$T/big.json"
curl -s -H 'Content-Type: application/json' --data-binary @"$T/big.json" "$URL/translate" >"$T/flight.json" &
CURL=$!
sleep 0.3
kill -TERM "$SERVER_PID"
wait "$CURL" || fail "the request in flight got no answer"
wait "$SERVER_PID" || fail "SIGTERM with a request in flight: exit $?"
SERVER_PID=
grep -q "finishing 1 request(s) in flight" "$T/server.log" ||
  fail "SIGTERM came after the request: $(cat "$T/server.log")"
python3 -c "
import json
got = json.load(open('$T/flight.json'))['translatedText']
want = open('$T/want.de', encoding='utf-8').read().split('\n')[:-1] * 20
assert got == want, 'differs'" || fail "the request in flight: $(head -c 200 "$T/flight.json")"
curl -s "$URL/languages" >/dev/null 2>&1 && fail "still answering after SIGTERM"

# ---- usage ----------------------------------------------------------------------------------------------------
"$DEC" --model "$MODEL" --serve 127.0.0.1:0 --input "$T/test.en" 2>/dev/null
[ $? -eq 2 ] || fail "--serve with --input: expected exit 2"
"$DEC" --model "$MODEL" --serve nohost 2>/dev/null
[ $? -eq 2 ] || fail "--serve without a port: expected exit 2"

finish cli_serve

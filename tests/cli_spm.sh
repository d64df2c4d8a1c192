#!/usr/bin/env bash
# cli_spm.sh - xlat-spm end to end: --help/--version, exit codes (0 ok, 1 runtime failure, 2 usage), train on a
# Multi30k subset, encode/decode round trips through pipes (pieces and ids), ids equal to spm_encode's.
set -uo pipefail
bin="${XLAT_BIN_DIR:?}/xlat-spm"
data="${XLAT_SOURCE_DIR:?}/corpora/multi30k"
tmp=$(mktemp -d /tmp/xlat-cli-spm-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fails=0
check() { # check DESCRIPTION EXPECTED_STATUS COMMAND...
  local what=$1 want=$2
  shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [ "$got" != "$want" ]; then
    echo "FAIL: $what: exit $got, expected $want"; sed 's/^/  stderr: /' "$tmp/err" | head -5
    fails=$((fails + 1))
  fi
}

check "--help" 0 "$bin" --help
grep -q "xlat-spm train --input" "$tmp/out" || { echo "FAIL: --help shows no usage"; fails=$((fails + 1)); }
check "--version" 0 "$bin" --version
grep -Eq '^xlat-spm [0-9]+\.[0-9]+\.[0-9]+$' "$tmp/out" || { echo "FAIL: --version: $(cat "$tmp/out")"; fails=$((fails + 1)); }
check "no command" 2 "$bin"
check "unknown command" 2 "$bin" frobnicate
check "train without --input" 2 "$bin" train --model-prefix "$tmp/m"
check "train with a bad vocabulary size" 2 "$bin" train --input x --model-prefix "$tmp/m" --vocab-size ten
check "encode without --model" 2 "$bin" encode
check "encode with a bad format" 2 "$bin" encode --model x --output-format json
check "unknown flag" 2 "$bin" decode --model x --frobnicate
check "train on a missing file" 1 "$bin" train --input "$tmp/nothere.txt" --model-prefix "$tmp/m"
grep -q "nothere.txt" "$tmp/err" || { echo "FAIL: missing input not named"; fails=$((fails + 1)); }
check "encode with a missing model" 1 "$bin" encode --model "$tmp/nothere.model"

zcat "$data/train.en.gz" | head -n 4000 >"$tmp/sub.en"
check "train" 0 "$bin" train --input "$tmp/sub.en,$data/val.de.gz" --model_prefix="$tmp/m" --vocab-size 600 \
  --character-coverage 1.0
[ -s "$tmp/m.model" ] && [ -s "$tmp/m.vocab" ] || { echo "FAIL: train wrote no model"; fails=$((fails + 1)); }
[ "$(wc -l <"$tmp/m.vocab")" = 600 ] || { echo "FAIL: vocabulary has $(wc -l <"$tmp/m.vocab") pieces"; fails=$((fails + 1)); }
[ "$(head -n 4 "$tmp/m.vocab" | cut -f1 | tr '\n' ' ')" = "<pad> <unk> <s> </s> " ] ||
  { echo "FAIL: special pieces: $(head -n 4 "$tmp/m.vocab" | cut -f1 | tr '\n' ' ')"; fails=$((fails + 1)); }

zcat "$data/val.de.gz" >"$tmp/val.de"
for fmt in piece id; do
  "$bin" encode --model "$tmp/m.model" --output-format "$fmt" <"$tmp/val.de" >"$tmp/enc.$fmt" || { echo "FAIL: encode $fmt"; fails=$((fails + 1)); }
  [ "$(wc -l <"$tmp/enc.$fmt")" = 1014 ] || { echo "FAIL: encode $fmt gave $(wc -l <"$tmp/enc.$fmt") lines"; fails=$((fails + 1)); }
  "$bin" decode --model "$tmp/m.model" --input-format="$fmt" <"$tmp/enc.$fmt" >"$tmp/dec.$fmt"
  cmp -s "$tmp/dec.$fmt" "$tmp/val.de" || { echo "FAIL: encode/decode $fmt is not lossless"; fails=$((fails + 1)); }
done
# Files as arguments and --output, like spm_encode.
check "encode a file to --output" 0 "$bin" encode --model "$tmp/m.model" --output-format id --output "$tmp/enc2" "$tmp/val.de"
cmp -s "$tmp/enc2" "$tmp/enc.id" || { echo "FAIL: file input differs from stdin"; fails=$((fails + 1)); }

if [ -x /usr/bin/spm_encode ]; then
  /usr/bin/spm_encode --model "$tmp/m.model" --output_format id <"$tmp/val.de" >"$tmp/theirs.id"
  cmp -s "$tmp/theirs.id" "$tmp/enc.id" || { echo "FAIL: ids differ from spm_encode's"; fails=$((fails + 1)); }
else
  echo "SKIP: /usr/bin/spm_encode not found (Debian package sentencepiece): ids not compared with it"
fi

printf '5 6 999999\n' >"$tmp/bad.id"
check "decode an id outside the vocabulary" 1 "$bin" decode --model "$tmp/m.model" --input-format id "$tmp/bad.id"
grep -q "bad.id:1:" "$tmp/err" || { echo "FAIL: bad id not located: $(cat "$tmp/err")"; fails=$((fails + 1)); }
check "write to a directory that does not exist" 1 "$bin" encode --model "$tmp/m.model" --output "$tmp/no/dir/out" "$tmp/val.de"

if [ "$fails" -ne 0 ]; then echo "cli_spm: $fails failures"; exit 1; fi
echo "cli_spm: all passed"

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

bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
# Nothing half-written: a file-size limit (a full disk's EFBIG) while training or encoding is exit 1 naming the
# file; the previous files stay as they were and no temporary file is left. 2 blocks of 1 KiB hold no model.
cp "$tmp/m.model" "$tmp/keep.model"
cp "$tmp/m.vocab" "$tmp/keep.vocab"
check "train under a file-size limit" 1 bash -c 'ulimit -f 2 && exec "$@"' _ "$bin" train --input "$tmp/sub.en" \
  --model-prefix "$tmp/m" --vocab-size 500
grep -q "m\.\(model\|vocab\): cannot write: File too large" "$tmp/err" || bad "train under a limit: $(cat "$tmp/err")"
cmp -s "$tmp/m.model" "$tmp/keep.model" && cmp -s "$tmp/m.vocab" "$tmp/keep.vocab" ||
  bad "train under a file-size limit changed m.model or m.vocab"
cp "$tmp/enc2" "$tmp/enc2.keep"
check "encode --output under a file-size limit" 1 bash -c 'ulimit -f 2 && exec "$@"' _ "$bin" encode \
  --model "$tmp/m.model" --output "$tmp/enc2" "$tmp/val.de" "$tmp/val.de" "$tmp/val.de"
cmp -s "$tmp/enc2" "$tmp/enc2.keep" || bad "encode under a file-size limit changed its --output"
[ -z "$(ls "$tmp" | grep '\.tmp')" ] || bad "temporary files left: $(ls "$tmp" | grep '\.tmp')"
check "encode --output to a directory" 1 "$bin" encode --model "$tmp/m.model" --output "$tmp" "$tmp/val.de"
grep -q "is a directory" "$tmp/err" || bad "--output to a directory: $(cat "$tmp/err")"
# A NUL byte is not text: an error naming the file and line, never a line cut short.
printf 'ein Hund\nzwei\0 Hunde\n' >"$tmp/nul.txt"
check "encode a line with a NUL byte" 1 "$bin" encode --model "$tmp/m.model" "$tmp/nul.txt"
grep -q "nul.txt:2: a NUL byte at byte 5" "$tmp/err" || bad "NUL byte: $(cat "$tmp/err")"
printf '5 6\0 7\n' >"$tmp/nul.id"
check "decode ids with a NUL byte" 1 "$bin" decode --model "$tmp/m.model" --input-format id "$tmp/nul.id"
# gzip input reads like plain text
gzip -c "$tmp/val.de" >"$tmp/val.de.gz"
check "encode a .gz file" 0 "$bin" encode --model "$tmp/m.model" --output-format id "$tmp/val.de.gz"
cmp -s "$tmp/out" "$tmp/enc.id" || bad "a .gz input encodes differently"

# input without text: a message, not SentencePiece's assertion
printf '\n\n' >"$tmp/blank.txt"
check "train on blank lines" 1 "$bin" train --input "$tmp/blank.txt" --model-prefix "$tmp/blank" --vocab-size 100
grep -q "no text to learn pieces from" "$tmp/err" || bad "blank input: $(cat "$tmp/err")"
# a 10 MB line is encoded in bounded memory (SentencePiece alone needs about 2 GB for it), to the ids of its parts
python3 -c "print(' '.join(['Ein Hund läuft über die Wiese.'] * 330000))" >"$tmp/long.txt"
check "encode a 10 MB line within 600 MB" 0 bash -c 'ulimit -v 600000 && exec "$@"' _ "$bin" encode \
  --model "$tmp/m.model" --output-format id "$tmp/long.txt"
one=$(echo 'Ein Hund läuft über die Wiese.' | "$bin" encode --model "$tmp/m.model" --output-format id)
[ "$(wc -l <"$tmp/out")" -eq 1 ] && [ "$(tr ' ' '\n' <"$tmp/out" | wc -l)" -eq $((330000 * $(echo $one | wc -w))) ] ||
  bad "the 10 MB line: $(wc -c <"$tmp/out") bytes of ids"

# a long run of invalid UTF-8 without spaces is cut into chunks in linear time; a model without SentencePiece's dummy
# prefix is encoded whole (cutting at a space would lose it), giving spm_encode's ids
head -c 300000 /dev/zero | tr '\0' '\200' >"$tmp/cont.txt" && echo >>"$tmp/cont.txt"
check "encode 300 KB of continuation bytes" 0 timeout 20 "$bin" encode --model "$tmp/m.model" "$tmp/cont.txt"
if [ -x /usr/bin/spm_train ]; then
  /usr/bin/spm_train --input "$tmp/val.de" --model_prefix "$tmp/nd" --vocab_size 300 --model_type bpe \
    --add_dummy_prefix=false --pad_id=0 --unk_id=1 --bos_id=2 --eos_id=3 --minloglevel 2 >/dev/null 2>&1
  python3 -c "import sys; print(' '.join(open(sys.argv[1]).read().split()[:60000]))" "$tmp/val.de" >"$tmp/nd.txt"
  check "encode a long line with a model without dummy prefix" 0 "$bin" encode --model "$tmp/nd.model" \
    --output-format id "$tmp/nd.txt"
  /usr/bin/spm_encode --model "$tmp/nd.model" --output_format id <"$tmp/nd.txt" | cmp -s - "$tmp/out" ||
    bad "a long line, model without dummy prefix: ids differ from spm_encode's"
fi

if [ "$fails" -ne 0 ]; then echo "cli_spm: $fails failures"; exit 1; fi
echo "cli_spm: all passed"

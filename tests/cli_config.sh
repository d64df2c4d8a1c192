#!/bin/bash
# cli_config.sh - xlat-train's configuration files and `xlat-train info` end to end (a slice of Multi30k, a very small
# Transformer, a few dozen updates; about a minute on one core):
#  1. a --config file trains exactly as the same flags on the command line: the same OUT/config.yml (but for out),
#     bit-identical weights; config.yml is what --dump-config prints for those flags; command.txt is the command;
#  2. the command line overrides the file wherever it stands; every flag of --help can be given in the file and
#     --dump-config names it; dump -> --config -> dump is the identity (Transformer, relative positions, GRU);
#  3. errors name FILE:LINE:COLUMN and the key and exit 2: unknown key, bad value, bad YAML, a sequence for a value,
#     a key given twice, a second document;
#  4. info: architecture, the parameter count of the file's tensors, the tokenizer checksum of its CONF section,
#     updates = --max-steps, validations, best dev loss = train.tsv's best; --json parses; weights-only files say
#     so; a text file and a damaged checkpoint exit 1 with a message naming the file.
. "$(dirname "$0")/harness.sh"
TRAIN="$BIN/xlat-train"

multi30k_slice 1500 50
"$BIN/xlat-spm" train --input "$T/train.en,$T/train.de" --model-prefix "$T/spm" --vocab-size 500 >/dev/null 2>&1 ||
  fail "xlat-spm train"

# ---- 1. a config file trains as the command line does ---------------------------------------------------------
FLAGS=(--train-src "$T/train.en" --train-tgt "$T/train.de" --valid-src "$T/val.en" --valid-tgt "$T/val.de"
  --spm "$T/spm.model" --preset tiny --d-model 64 --d-ff 128 --heads 2 --tied-embeddings 0 --pre-norm
  --max-tokens 512 --lr 2e-3 --warmup-steps 10 --adam-betas 0.9,0.99 --max-steps 30 --valid-freq 10
  --valid-metric loss --valid-max-sentences 20 --log-freq 10 --seed 1 --threads 1)
"$TRAIN" "${FLAGS[@]}" --out "$T/flags" >"$T/flags.log" 2>&1 ||
  fail "run with flags: exit $? ($(tail -n 2 "$T/flags.log"))"
cat >"$T/run.yml" <<EOF
# the same run as a config file
train-src: $T/train.en
train-tgt: "$T/train.de"
valid-src: '$T/val.en'
valid-tgt: $T/val.de
spm: $T/spm.model
preset: tiny
d-model: 64
d-ff: 128
heads: 2
tied-embeddings: false
pre-norm: true
max-tokens: 512
lr: 2e-3
warmup-steps: 10
adam-betas: 0.9,0.99
max-steps: 30
valid-freq: 10
valid-metric: loss
valid-max-sentences: 20
log-freq: 10
seed: 1
threads: 1
finetune:        # null: the default
out: $T/file
EOF
"$TRAIN" --config "$T/run.yml" >"$T/file.log" 2>&1 || fail "run with --config: exit $? ($(tail -n 2 "$T/file.log"))"
for d in flags file; do
  for f in config.yml command.txt last.xlat; do [ -s "$T/$d/$f" ] || fail "$d: no $f beside the model"; done
done
diff <(grep -v '^out:' "$T/flags/config.yml") <(grep -v '^out:' "$T/file/config.yml") >"$T/diff.txt" ||
  fail "config.yml of the flags and of the file differ: $(head -n 4 "$T/diff.txt")"
grep -qx "out: \"$T/file\"" "$T/file/config.yml" || fail "config.yml has no out: \"$T/file\""
"$TRAIN" average --output "$T/flags.w" "$T/flags/last.xlat" 2>/dev/null &&
  "$TRAIN" average --output "$T/file.w" "$T/file/last.xlat" 2>/dev/null || fail "average of one checkpoint"
cmp -s "$T/flags.w" "$T/file.w" || fail "the weights trained with the flags and with the config file differ"
"$TRAIN" "${FLAGS[@]}" --out "$T/flags" --dump-config >"$T/flags.dump" 2>"$T/err.txt" || fail "--dump-config: exit $?"
cmp -s "$T/flags.dump" "$T/flags/config.yml" || fail "config.yml is not what --dump-config prints for the same flags"
[ "$(cat "$T/file/command.txt")" = "$TRAIN --config $T/run.yml" ] ||
  fail "command.txt: '$(cat "$T/file/command.txt")'"
# the written config trains again: --config OUT/config.yml --resume continues the run (a few more steps)
"$TRAIN" --config "$T/flags/config.yml" --resume --max-steps 35 >"$T/resume.log" 2>&1 &&
  grep -q "resuming .* at step 30 " "$T/resume.log" ||
  fail "--config OUT/config.yml --resume: $(tail -n 2 "$T/resume.log")"
grep -qx "resume: true" "$T/flags/config.yml" && grep -qx "max-steps: 35" "$T/flags/config.yml" ||
  fail "the resumed run did not rewrite config.yml"

# ---- 2. overrides, every flag, round trips --------------------------------------------------------------------
printf 'd-model: 128\nlr: 0.1\nvalid-metric: bleu\nresume: true\n' >"$T/over.yml"
"$TRAIN" --d-model 64 --config "$T/over.yml" --lr 0.5 --resume=false --dump-config >"$T/over.dump" 2>&1 ||
  fail "override: exit $?"
grep -qx "d-model: 64" "$T/over.dump" && grep -qx "lr: 0.5" "$T/over.dump" && grep -qx "resume: false" "$T/over.dump" &&
  grep -qx "valid-metrics: bleu" "$T/over.dump" ||
  fail "the command line does not override the file: $(head -c 300 "$T/over.dump")"
# every flag --help lists (but those that are no setting) is a key of the dump of some architecture
"$TRAIN" --help | sed -n 's/^  \(--[a-z].*\)/\1/p' | sed 's/  .*//' | grep -o -- '--[a-z0-9-]*' | sort -u >"$T/flags.txt"
[ "$(wc -l <"$T/flags.txt")" -gt 50 ] || fail "--help lists only $(wc -l <"$T/flags.txt") flags"
{ "$TRAIN" --dump-config && "$TRAIN" --dump-config --arch gru && "$TRAIN" --dump-config --positions relative; } \
  >"$T/all.yml" || fail "--dump-config: exit $?"
while read -r flag; do
  case $flag in
  --help | --version | --config | --dump-config | --preset | --post-norm | --learned-positions | --valid-metric)
    continue ;; # (--valid-metric: a one-metric --valid-metrics)
  esac
  grep -q "^${flag#--}: " "$T/all.yml" || fail "--dump-config has no key ${flag#--} (flag $flag of --help)"
done <"$T/flags.txt"
for args in "" "--positions relative --relative-clip 8 --activation gelu --lr 3e-4 --max-time 1.5 --ema-decay 0.9999" \
  "--arch gru --d-model 96 --emb-dim 48 --tied-embeddings false --attention dot --input-feeding 1 --vocab-size 800"; do
  # shellcheck disable=SC2086
  "$TRAIN" --dump-config $args >"$T/d1.yml" && "$TRAIN" --config "$T/d1.yml" --dump-config >"$T/d2.yml" &&
    cmp -s "$T/d1.yml" "$T/d2.yml" || fail "dump -> --config -> dump differs for '$args'"
done
grep -qx "relative-clip: 8" <("$TRAIN" --dump-config --positions relative --relative-clip 8) ||
  fail "relative-clip not dumped"

# ---- 3. errors name the file, line, column and key ------------------------------------------------------------
# expect_error NAME 'YAML' PATTERN: --config of that text exits 2 with PATTERN (a regular expression) on stderr
expect_error() {
  printf '%b' "$2" >"$T/$1.yml"
  "$TRAIN" --config "$T/$1.yml" --dump-config >/dev/null 2>"$T/$1.err"
  local rc=$?
  [ $rc -eq 2 ] || fail "$1: exit $rc, expected 2"
  grep -Eq -- "$3" "$T/$1.err" || fail "$1: expected /$3/, got: $(cat "$T/$1.err")"
}
expect_error unknown 'd-model: 64\nmodel-dim: 3\n' "unknown.yml:2:1: unknown key 'model-dim'"
expect_error value 'd-model: 64\nheads: four\n' "value.yml:2:8: heads: expects 1..1024, got four"
expect_error float 'lr: fast\n' "float.yml:1:5: lr: expects 0..10, got fast"
expect_error switch 'pre-norm: maybe\n' "switch.yml:1:11: pre-norm: takes no value, or true or false; got maybe"
expect_error syntax 'd-model: 64\n  heads: 2\n' "syntax.yml:2:8: invalid YAML"
expect_error flow 'd-model: [64\n' "flow.yml:2:1: invalid YAML"
expect_error sequence 'train-src:\n  - a.en\n  - b.en\n' \
  "sequence.yml:2:3: train-src: expected a single value \(a scalar\), found a sequence"
expect_error mapping 'd-model:\n  x: 1\n' "mapping.yml:2:3: d-model: expected a single value \(a scalar\), found a mapping"
expect_error notmap '- d-model\n' "notmap.yml:1:1: expected a mapping"
expect_error twice 'heads: 2\nheads: 4\n' "twice.yml:2:1: heads: given twice \(first on line 1\)"
expect_error docs 'heads: 2\n---\nheads: 4\n' "docs.yml:3:1: a second YAML document"
expect_error nested 'config: other.yml\n' "nested.yml:1:1: config: a config file cannot name another"
"$TRAIN" --config "$T/missing.yml" 2>"$T/missing.err"
[ $? -eq 2 ] && grep -q "missing.yml: cannot open" "$T/missing.err" ||
  fail "a missing config file: $(cat "$T/missing.err")"

# ---- 4. info --------------------------------------------------------------------------------------------------
"$TRAIN" info "$T/file/last.xlat" >"$T/info.txt" 2>&1 || fail "info: exit $? ($(head -n 2 "$T/info.txt"))"
"$TRAIN" info --json "$T/file/last.xlat" >"$T/info.json" 2>&1 || fail "info --json: exit $?"
# what the file says, read here without xlat: the sum of the PARM tensors' sizes, CONF's tokenizer checksum
read -r params checksum < <(python3 - "$T/file/last.xlat" <<'EOF'
import struct, sys
b = open(sys.argv[1], 'rb').read()
assert b[:8] == b'XLATCKPT'
at, params, checksum = 12, 0, None
while True:
    kind, nl = b[at:at + 4], struct.unpack_from('<I', b, at + 4)[0]
    plen = struct.unpack_from('<Q', b, at + 8 + nl)[0]
    body = at + 16 + nl
    if kind == b'CONF': checksum = struct.unpack_from('<Q', b, body)[0]
    if kind == b'PARM':
        ndim, rows, cols = struct.unpack_from('<III', b, body)
        params += rows * cols
    if kind == b'END ': break
    at = body + plen + 4
print(params, '%016x' % checksum)
EOF
)
best_loss=$(awk -F'\t' 'NR > 1 && $4 != "" && (b == "" || $4 < b) { b = $4 } END { print b }' "$T/file/train.tsv")
log_params=$(sed -n 's/.*: \([0-9.]*\)M parameters.*/\1/p' "$T/file.log" | head -n 1)
python3 - "$T/info.json" "$params" "$checksum" "$best_loss" "$log_params" <<'EOF' || fail "info --json: values"
import json, sys
j = json.load(open(sys.argv[1]))
params, checksum, best_loss, log_params = int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), sys.argv[5]
want = {'parameters': params, 'tokenizer_checksum': checksum, 'updates': 30, 'validations': 3,
        'trainer_state': True, 'ema_weights': False}
for k, v in want.items():
    if j.get(k) != v: sys.exit('info --json: %s is %r, expected %r' % (k, j.get(k), v))
c = j['config']
for k, v in {'arch': 'transformer', 'd-model': 64, 'd-ff': 128, 'heads': 2, 'enc-layers': 2, 'dec-layers': 2,
             'tied-embeddings': False, 'pre-norm': True, 'vocab-size': 500, 'positions': 'sinusoidal'}.items():
    if c.get(k) != v: sys.exit('info --json: config %s is %r, expected %r' % (k, c.get(k), v))
o = j['optimizer']
if o['lr'] != 0.002 or o['warmup-steps'] != 10 or o['adam-betas'] != '0.9,0.99' or o['max-tokens'] != 512:
    sys.exit('info --json: optimizer %r' % o)
if abs(j['best_dev_loss'] - best_loss) > 1e-3:
    sys.exit('best_dev_loss %r, train.tsv %r' % (j['best_dev_loss'], best_loss))
if not j['training_seconds'] > 0 or j['epoch'] < 1: sys.exit('training_seconds / epoch: %r' % j)
if '%.2f' % (params / 1e6) != log_params: sys.exit('parameters %d, the training log says %sM' % (params, log_params))
EOF
grep -q "^parameters  *$params " "$T/info.txt" || fail "info: no 'parameters $params' line"
grep -q "checksum $checksum" "$T/info.txt" || fail "info: no tokenizer checksum $checksum"
grep -Eq "^  updates +30$" "$T/info.txt" && grep -Eq "^  d-model +64$" "$T/info.txt" || fail "info: updates / d-model"
"$TRAIN" info "$T/file/best.xlat" >"$T/best.txt" 2>&1 && grep -q "weights only" "$T/best.txt" ||
  fail "info of best.xlat: $(head -n 2 "$T/best.txt")"
"$TRAIN" info --json "$T/file/best.xlat" |
  python3 -c 'import json, sys; j = json.load(sys.stdin); assert not j["trainer_state"] and "updates" not in j' ||
  fail "info --json of a weights-only checkpoint"
"$TRAIN" info "$T/train.en" >/dev/null 2>"$T/notck.err"
[ $? -eq 1 ] && grep -q "train.en: not an xlat checkpoint" "$T/notck.err" ||
  fail "info of a text file: $(cat "$T/notck.err")"
cp "$T/file/last.xlat" "$T/bad.xlat"
printf '\x55' | dd of="$T/bad.xlat" bs=1 seek=2000 conv=notrunc 2>/dev/null
"$TRAIN" info "$T/bad.xlat" >/dev/null 2>"$T/bad.err"
[ $? -eq 1 ] && grep -q "bad.xlat: corrupted checkpoint: CRC32 mismatch" "$T/bad.err" ||
  fail "info of a damaged file: $(cat "$T/bad.err")"
head -c 5000 "$T/file/last.xlat" >"$T/cut.xlat"
"$TRAIN" info --json "$T/cut.xlat" >"$T/cut.out" 2>"$T/cut.err"
[ $? -eq 1 ] && [ ! -s "$T/cut.out" ] && grep -q "cut.xlat: truncated" "$T/cut.err" ||
  fail "info of a cut file: $(cat "$T/cut.err")"
"$TRAIN" info >/dev/null 2>&1
[ $? -eq 2 ] || fail "info without a checkpoint: not a usage error"

finish cli_config

#!/bin/bash
# decode_bench.sh - translation speed and memory of xlat-decode beside the PyTorch yardstick (torch_decode.py) on the
# same model, the same input and the same machine. A benchmark, not a test.
#
#   tests/bench/decode_bench.sh BIN_DIR MODEL.xlat [INPUT]
#
# BIN_DIR holds xlat-decode; the SentencePiece model is the one beside MODEL.xlat (spm.model or the only *.model).
# INPUT defaults to Multi30k test_2016_flickr.en.gz (1000 lines). Env: THREADS (2), BATCH (32), BEAMS ("5 1"),
# TORCH_MODEL: the same weights exported in torch_decode.py's format (JSON header line + float32 tensors); when set,
# PyTorch runs the same search beside xlat. Prints one JSON line per run (sentences/s, target tokens/s counting EOS,
# peak RSS) and the speed ratios.
set -eu
BIN=${1:?usage: decode_bench.sh BIN_DIR MODEL.xlat [INPUT]}
MODEL=${2:?usage: decode_bench.sh BIN_DIR MODEL.xlat [INPUT]}
HERE=$(cd "$(dirname "$0")" && pwd)
INPUT=${3:-$HERE/../../corpora/multi30k/test_2016_flickr.en.gz}
THREADS=${THREADS:-2}
BATCH=${BATCH:-32}
BEAMS=${BEAMS:-5 1}
TORCH_MODEL=${TORCH_MODEL:-}
SPM=$(dirname "$MODEL")/spm.model
[ -f "$SPM" ] || SPM=$(ls "$(dirname "$MODEL")"/*.model | head -n 1)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
zcat -f "$INPUT" >"$T/input.txt"
lines=$(wc -l <"$T/input.txt")

# xlat: seconds and peak RSS from GNU time; target tokens = output ids + one EOS per non-empty input line
for beam in $BEAMS; do
  /usr/bin/time -f "%e %M" -o "$T/time" "$BIN/xlat-decode" --model "$MODEL" --spm "$SPM" --beam "$beam" \
    --threads "$THREADS" --batch-size "$BATCH" --format ids --quiet --input "$T/input.txt" >"$T/xlat.$beam.ids"
  read -r sec rss_kb <"$T/time"
  tokens=$(awk '{ n += NF + 1 } END { print n }' "$T/xlat.$beam.ids")
  python3 -c "import json,sys; s,t,r=float(sys.argv[1]),int(sys.argv[2]),int(sys.argv[3]); n=int(sys.argv[5]);
print(json.dumps({'impl':'xlat','beam':int(sys.argv[4]),'threads':int(sys.argv[6]),'batch_size':int(sys.argv[7]),
 'sentences':n,'seconds':s,'sent_per_s':round(n/s,2),'tgt_tok_per_s':round(t/s,1),'peak_rss_mb':round(r/1024,1)}))" \
    "$sec" "$tokens" "$rss_kb" "$beam" "$lines" "$THREADS" "$BATCH" | tee "$T/xlat.$beam.json"
done

[ -n "$TORCH_MODEL" ] || exit 0
spm_encode --model "$SPM" --output_format id <"$T/input.txt" >"$T/input.ids"
for beam in $BEAMS; do
  OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 "$HERE/torch_decode.py" --model "$TORCH_MODEL" --input "$T/input.ids" \
    --beam "$beam" --threads "$THREADS" --batch-size "$BATCH" --output "$T/torch.$beam.ids" | tee "$T/torch.$beam.json"
  python3 - "$T/xlat.$beam.json" "$T/torch.$beam.json" "$T/xlat.$beam.ids" "$T/torch.$beam.ids" <<'EOF'
import json, sys
x, t = (json.load(open(p)) for p in sys.argv[1:3])
a, b = (open(p).read().splitlines() for p in sys.argv[3:5])
same = sum(p == q for p, q in zip(a, b))
print(json.dumps({"beam": x["beam"], "speed_ratio_xlat_over_torch": round(x["sent_per_s"] / t["sent_per_s"], 2),
                  "identical_outputs": f"{same}/{len(a)}"}))
EOF
done

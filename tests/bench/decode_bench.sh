#!/bin/bash
# decode_bench.sh - translation speed and memory of xlat-decode beside the PyTorch yardstick (torch_decode.py) on the
# same model, the same input and the same machine. A benchmark, not a test.
#
#   tests/bench/decode_bench.sh BIN_DIR MODEL.xlat [INPUT]
#
# BIN_DIR holds xlat-decode (and xlat-bench); the SentencePiece model is the one beside MODEL.xlat (spm.model or the
# only *.model). MODEL may be any architecture: a Transformer or a recurrent encoder-decoder (torch_decode.py runs
# either). INPUT defaults to Multi30k test_2016_flickr.en.gz (1000 lines). Env: THREADS (2), BATCH (32), BEAMS
# ("5 1"), RUNS (1): runs of each side per beam, interleaved (xlat, PyTorch, xlat, ...); TORCH_MODEL: the same weights
# exported in torch_decode.py's format (JSON header line + float32 tensors), or "export" to have
# `xlat-bench export` write them here; when set, PyTorch runs the same search beside xlat. Prints one JSON line per
# run (sentences/s, target tokens/s counting EOS, peak RSS), then per beam the medians and the speed ratio.
# xlat's seconds are the whole process (loading, tokenizing); PyTorch's are its search loop only.
set -eu
BIN=${1:?usage: decode_bench.sh BIN_DIR MODEL.xlat [INPUT]}
MODEL=${2:?usage: decode_bench.sh BIN_DIR MODEL.xlat [INPUT]}
HERE=$(cd "$(dirname "$0")" && pwd)
INPUT=${3:-$HERE/../../corpora/multi30k/test_2016_flickr.en.gz}
THREADS=${THREADS:-2}
BATCH=${BATCH:-32}
BEAMS=${BEAMS:-5 1}
RUNS=${RUNS:-1}
TORCH_MODEL=${TORCH_MODEL:-}
SPM=$(dirname "$MODEL")/spm.model
[ -f "$SPM" ] || SPM=$(ls "$(dirname "$MODEL")"/*.model | head -n 1)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
"$BIN/xlat-decode" --version # names the OpenBLAS and xlat kernels in use
zcat -f "$INPUT" >"$T/input.txt"
lines=$(wc -l <"$T/input.txt")
if [ "$TORCH_MODEL" = export ]; then
  "$BIN/xlat-bench" export --model "$MODEL" --output "$T/weights.bin"
  TORCH_MODEL=$T/weights.bin
fi
[ -z "$TORCH_MODEL" ] || spm_encode --model "$SPM" --output_format id <"$T/input.txt" >"$T/input.ids"

for beam in $BEAMS; do
  : >"$T/xlat.$beam.json"
  : >"$T/torch.$beam.json"
  for run in $(seq "$RUNS"); do
    # xlat: seconds and peak RSS from GNU time; target tokens = output ids + one EOS per non-empty input line
    /usr/bin/time -f "%e %M" -o "$T/time" "$BIN/xlat-decode" --model "$MODEL" --spm "$SPM" --beam "$beam" \
      --threads "$THREADS" --batch-size "$BATCH" --format ids --quiet --input "$T/input.txt" >"$T/xlat.$beam.ids"
    read -r sec rss_kb <"$T/time"
    tokens=$(awk '{ n += NF + 1 } END { print n }' "$T/xlat.$beam.ids")
    python3 -c "import json,sys; s,t,r=float(sys.argv[1]),int(sys.argv[2]),int(sys.argv[3]); n=int(sys.argv[5]);
print(json.dumps({'impl':'xlat','beam':int(sys.argv[4]),'threads':int(sys.argv[6]),'batch_size':int(sys.argv[7]),
 'sentences':n,'seconds':s,'sent_per_s':round(n/s,2),'tgt_tok_per_s':round(t/s,1),'peak_rss_mb':round(r/1024,1)}))" \
      "$sec" "$tokens" "$rss_kb" "$beam" "$lines" "$THREADS" "$BATCH" | tee -a "$T/xlat.$beam.json"
    [ -n "$TORCH_MODEL" ] || continue
    OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 "$HERE/torch_decode.py" --model "$TORCH_MODEL" --input "$T/input.ids" \
      --beam "$beam" --threads "$THREADS" --batch-size "$BATCH" --output "$T/torch.$beam.ids" |
      tee -a "$T/torch.$beam.json"
  done
  [ -n "$TORCH_MODEL" ] || continue
  python3 - "$T/xlat.$beam.json" "$T/torch.$beam.json" "$T/xlat.$beam.ids" "$T/torch.$beam.ids" <<'EOF'
import json, statistics, sys
x, t = ([json.loads(l) for l in open(p)] for p in sys.argv[1:3])
a, b = (open(p).read().splitlines() for p in sys.argv[3:5])
same = sum(p == q for p, q in zip(a, b))
xs, ts = (statistics.median(r["seconds"] for r in runs) for runs in (x, t))
print(json.dumps({"beam": x[0]["beam"], "arch": t[0].get("arch", "transformer"), "runs": len(x),
                  "torch_blas_core": t[0].get("blas_core"),
                  "xlat_seconds": xs, "torch_seconds": ts, "xlat_runs": [r["seconds"] for r in x],
                  "torch_runs": [r["seconds"] for r in t], "xlat_sent_per_s": round(x[0]["sentences"] / xs, 2),
                  "torch_sent_per_s": round(t[0]["sentences"] / ts, 2),
                  "xlat_tgt_tok_per_s_median": round(x[0]["tgt_tok_per_s"] * x[0]["seconds"] / xs, 1),
                  "speed_ratio_xlat_over_torch": round(ts / xs, 2), "identical_outputs": f"{same}/{len(a)}"}))
EOF
done

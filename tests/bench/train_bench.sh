#!/bin/bash
# train_bench.sh - training throughput of xlat beside PyTorch (torch_train.py) on the same model and batch shape, in
# one command. A benchmark, not a test.
#
#   tests/bench/train_bench.sh BIN_DIR [MODEL ...]
#
# BIN_DIR holds xlat-bench. MODEL: a Transformer preset (tiny, small, base, big) or a recurrent architecture (rnn,
# gru, lstm: xlat_config_preset's defaults, hidden 256, embeddings 256 tied, one bidirectional layer, additive
# attention, dropout 0.3, changed by RNN_FLAGS); default $PRESETS ("small base"). Env: THREADS (2), SENTS (80),
# LEN (25): batches of SENTS sentences of LEN source and LEN target tokens, vocabulary 8000; RUNS (1): runs of each
# side per model, interleaved (xlat, PyTorch, xlat, ...); STEPS (10) timed steps per run; RNN_FLAGS: more xlat-bench
# flags for the recurrent models (--d-model, --emb-dim, --enc-layers, --dec-layers, --attention, --bidirectional,
# --input-feeding, --tied-embeddings). PyTorch builds the model xlat-bench reports in its JSON line (arch and every
# dimension), so both sides train the same one. Prints each run's JSON line, then per model the medians of target
# tokens/s and their ratio. Needs Debian's python3-torch for the PyTorch side.
set -eu
BIN=${1:?usage: train_bench.sh BIN_DIR [MODEL ...]}
shift
HERE=$(cd "$(dirname "$0")" && pwd)
MODELS=${*:-${PRESETS:-small base}}
THREADS=${THREADS:-2}
SENTS=${SENTS:-80}
LEN=${LEN:-25}
RUNS=${RUNS:-1}
STEPS=${STEPS:-10}
RNN_FLAGS=${RNN_FLAGS:-}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
for model in $MODELS; do
  case $model in
    rnn | gru | lstm) xflags="--arch $model $RNN_FLAGS" ;;
    *) xflags="--preset $model" ;;
  esac
  : >"$T/xlat"
  : >"$T/torch"
  for run in $(seq "$RUNS"); do
    # shellcheck disable=SC2086
    x=$("$BIN/xlat-bench" train $xflags --threads "$THREADS" --batch-tokens $((SENTS * LEN)) --len "$LEN" \
      --vocab 8000 --steps "$STEPS" | tail -n 1)
    echo "$x" | tee -a "$T/xlat"
    # the PyTorch flags of the model xlat-bench built
    tflags=$(python3 -c 'import json, sys; x = json.loads(sys.argv[1])
if x["arch"] == "transformer":
    print("--preset", x["preset"])
else:
    print("--arch %s --d-model %d --emb-dim %d --layers %d --attention %s --bidirectional %d --input-feeding %d "
          "--tied-embeddings %d --dropout %g" % (x["arch"], x["d_model"], x["emb_dim"], x["enc_layers"], x["attention"],
          x["bidirectional"], x["input_feeding"], x["tied_embeddings"], x["dropout"]))' "$x")
    # shellcheck disable=SC2086
    OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 "$HERE/torch_train.py" $tflags --threads "$THREADS" --sents "$SENTS" \
      --len "$LEN" --steps "$STEPS" | tail -n 1 | tee -a "$T/torch"
  done
  python3 - "$T/xlat" "$T/torch" <<'EOF'
import json, statistics, sys
x, t = ([json.loads(l) for l in open(p)] for p in sys.argv[1:3])
xm, tm = (round(statistics.median(r["tokens_per_s"] for r in runs), 1) for runs in (x, t))
if x[0]["arch"] != "transformer" and x[0]["params"] != t[0]["params"]:  # nn.Transformer has 4C more
    print("warning: xlat has %d parameters, PyTorch %d" % (x[0]["params"], t[0]["params"]), file=sys.stderr)
print(json.dumps({"preset": x[0]["preset"], "arch": x[0]["arch"], "runs": len(x), "blas_core": x[0]["blas_core"], "torch_blas_core": t[0].get("blas_core"),
                  "xlat_tok_per_s": xm, "torch_tok_per_s": tm, "xlat_runs": [r["tokens_per_s"] for r in x],
                  "torch_runs": [r["tokens_per_s"] for r in t], "ratio_xlat_over_torch": round(xm / tm, 2)}))
EOF
done

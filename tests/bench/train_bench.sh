#!/bin/bash
# train_bench.sh - training throughput of xlat beside PyTorch (torch_train.py) on the same model and batch shape, in
# one command. A benchmark, not a test.
#
#   tests/bench/train_bench.sh BIN_DIR
#
# BIN_DIR holds xlat-bench. Env: PRESETS ("small base"), THREADS (2), SENTS (80), LEN (25): batches of SENTS sentences
# of LEN source and LEN target tokens, vocabulary 8000. Prints each run's JSON line and the ratio of target tokens/s.
# Needs Debian's python3-torch for the PyTorch side.
set -eu
BIN=${1:?usage: train_bench.sh BIN_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
PRESETS=${PRESETS:-small base}
THREADS=${THREADS:-2}
SENTS=${SENTS:-80}
LEN=${LEN:-25}
for preset in $PRESETS; do
  x=$("$BIN/xlat-bench" train --preset "$preset" --threads "$THREADS" --batch-tokens $((SENTS * LEN)) --len "$LEN" \
    --vocab 8000 | tail -n 1)
  echo "$x"
  t=$(OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 "$HERE/torch_train.py" --preset "$preset" --threads "$THREADS" \
    --sents "$SENTS" --len "$LEN" | tail -n 1)
  echo "$t"
  python3 -c 'import json, sys; x, t = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(json.dumps({"preset": x["preset"], "xlat_tok_per_s": x["tokens_per_s"], "torch_tok_per_s": t["tokens_per_s"],
                  "ratio_xlat_over_torch": round(x["tokens_per_s"] / t["tokens_per_s"], 2)}))' "$x" "$t"
done

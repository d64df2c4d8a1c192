#!/bin/bash
# tiny_model.sh DIR - the tiny En->De model the end-to-end tests decode with (harness.sh's tiny_model): trained on
# 4000 Multi30k pairs for 400 steps (about a minute) into DIR (last.xlat, spm.model), or copied from $XLAT_TEST_MODEL
# when set. ctest runs it once as the fixture tiny_model; XLAT_KEEP_TEST_MODEL=DIR also keeps a copy there for later
# runs of the suite (.ci/run's forced-kernel passes).
set -euo pipefail
SRC=${XLAT_SOURCE_DIR:?set XLAT_SOURCE_DIR to the source tree}
BIN=${XLAT_BIN_DIR:?set XLAT_BIN_DIR to the build bin directory}
out=$1
rm -rf "$out"
mkdir -p "$out"
if [ -n "${XLAT_TEST_MODEL:-}" ]; then
  cp "$XLAT_TEST_MODEL" "$out/last.xlat"
  cp "$(dirname "$XLAT_TEST_MODEL")/spm.model" "$out/spm.model"
  exit 0
fi
m30=$SRC/corpora/multi30k
zcat "$m30/train.en.gz" | sed -n 1,4000p >"$out/train.en" # sed reads to the end: no SIGPIPE
zcat "$m30/train.de.gz" | sed -n 1,4000p >"$out/train.de"
zcat "$m30/val.en.gz" | sed -n 1,100p >"$out/val.en"
zcat "$m30/val.de.gz" | sed -n 1,100p >"$out/val.de"
if ! "$BIN/xlat-train" --train-src "$out/train.en" --train-tgt "$out/train.de" --valid-src "$out/val.en" \
  --valid-tgt "$out/val.de" --vocab-size 1000 --preset tiny --out "$out/model" --max-steps 400 --seed 1 \
  --threads 2 >"$out/train.log" 2>&1; then
  cat "$out/train.log" >&2
  exit 1
fi
mv "$out/model/last.xlat" "$out/model/spm.model" "$out/"
rm -rf "$out/model" "$out"/train.* "$out"/val.*
if [ -n "${XLAT_KEEP_TEST_MODEL:-}" ]; then
  mkdir -p "$XLAT_KEEP_TEST_MODEL"
  cp "$out/last.xlat" "$out/spm.model" "$XLAT_KEEP_TEST_MODEL/"
fi

# harness.sh - what the end-to-end tests (cli_*.sh) share; sourced, not run: the bin and source directories ctest
# passes, a temporary directory $T removed on exit, failure counting and the closing verdict.
set -u
BIN=${XLAT_BIN_DIR:?set XLAT_BIN_DIR to the build bin directory}
SRC=${XLAT_SOURCE_DIR:?set XLAT_SOURCE_DIR to the source tree}
T=$(mktemp -d)
trap '[ -n "${XLAT_KEEP:-}" ] || rm -rf "$T"' EXIT
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
# finish NAME: exits 1 when a check failed, else says so
finish() {
  [ "$failures" -eq 0 ] || { echo "$1: $failures failure(s)" >&2; exit 1; }
  echo "$1: all passed"
}
# tiny_model: sets MODEL to a tiny En->De model (its spm.model beside it): $XLAT_TEST_MODEL when set, else one
# trained here on 4000 Multi30k pairs for 400 steps (about a minute); XLAT_KEEP_TEST_MODEL=DIR keeps that one there
# for later runs of the suite (.ci/run's forced-kernel passes).
tiny_model() {
  if [ -n "${XLAT_TEST_MODEL:-}" ]; then
    MODEL=$XLAT_TEST_MODEL
    return
  fi
  local m30=$SRC/corpora/multi30k
  zcat "$m30/train.en.gz" | head -n 4000 >"$T/train.en"
  zcat "$m30/train.de.gz" | head -n 4000 >"$T/train.de"
  zcat "$m30/val.en.gz" | head -n 100 >"$T/val.en"
  zcat "$m30/val.de.gz" | head -n 100 >"$T/val.de"
  if ! "$BIN/xlat-train" --train-src "$T/train.en" --train-tgt "$T/train.de" --valid-src "$T/val.en" \
    --valid-tgt "$T/val.de" --vocab-size 1000 --preset tiny --out "$T/model" --max-steps 400 --seed 1 \
    --threads 2 >"$T/train.log" 2>&1; then
    cat "$T/train.log" >&2
    echo "FAIL: could not train the tiny model for this test" >&2
    exit 1
  fi
  MODEL=$T/model/last.xlat
  if [ -n "${XLAT_KEEP_TEST_MODEL:-}" ]; then
    mkdir -p "$XLAT_KEEP_TEST_MODEL" && cp "$MODEL" "$T/model/spm.model" "$XLAT_KEEP_TEST_MODEL/"
  fi
}

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
# multi30k_slice TRAIN_LINES VAL_LINES: the first lines of the shipped Multi30k train and val sets as $T/train.en,
# $T/train.de, $T/val.en, $T/val.de (sed reads to the end: no SIGPIPE under pipefail)
multi30k_slice() {
  local m30=$SRC/corpora/multi30k side
  for side in en de; do
    zcat "$m30/train.$side.gz" | sed -n "1,${1}p" >"$T/train.$side"
    zcat "$m30/val.$side.gz" | sed -n "1,${2}p" >"$T/val.$side"
  done
}

# tiny_model: sets MODEL to a tiny En->De model (its spm.model beside it): $XLAT_TEST_MODEL when set, else the one
# ctest's tiny_model fixture trained once for all the tests that need it ($XLAT_TINY_MODEL), else one trained here
# (tiny_model.sh: about a minute).
tiny_model() {
  if [ -n "${XLAT_TEST_MODEL:-}" ]; then
    MODEL=$XLAT_TEST_MODEL
  elif [ -n "${XLAT_TINY_MODEL:-}" ] && [ -f "$XLAT_TINY_MODEL" ]; then
    MODEL=$XLAT_TINY_MODEL
  else
    bash "$SRC/tests/tiny_model.sh" "$T/model" || { echo "FAIL: could not train the tiny model" >&2; exit 1; }
    MODEL=$T/model/last.xlat
  fi
}

#!/usr/bin/env bash
# cli_cpu.sh - the kernels the programs run, end to end: --version names them; when OpenBLAS picked kernels below
# the CPU (simulated by the fake_blas_pick.so shim), the programs set OPENBLAS_CORETYPE and run themselves again;
# a value the user set wins; XLAT_ISA forces xlat's own kernels and a bad value is a usage error; translations are
# the same bits with every kernel set.
source "$(dirname "$0")/harness.sh"
SHIM=$(dirname "$BIN")/tests/libfake_blas_pick.so
[ -f "$SHIM" ] || { echo "missing $SHIM"; exit 1; }
unset OPENBLAS_CORETYPE XLAT_BLAS_PICKED XLAT_ISA
flags=$(grep -m1 '^flags' /proc/cpuinfo)
has() { [[ " $flags " == *" $1 "* ]]; }

for prog in xlat-train xlat-decode; do
  v=$("$BIN/$prog" --version) || fail "$prog --version"
  [[ "$v" == "$prog "*"OpenBLAS kernels "*"xlat kernels "* ]] || fail "$prog --version names no kernels: $v"
  if has avx; then
    [[ "$v" != *"kernels Prescott"* ]] || fail "$prog runs OpenBLAS's Prescott kernels on an AVX CPU: $v"
    # OpenBLAS "picks" Prescott: the program corrects it by executing itself again
    v=$(LD_PRELOAD=$SHIM "$BIN/$prog" --version) || fail "$prog --version under the shim"
    [[ "$v" == *"chosen by xlat; OpenBLAS picked Prescott"* ]] || fail "$prog did not correct Prescott: $v"
    [[ "$v" != *"kernels Prescott "* ]] || fail "$prog still on Prescott: $v"
  fi
  # the user's choice wins, even a slow one
  v=$(OPENBLAS_CORETYPE=Prescott LD_PRELOAD=$SHIM "$BIN/$prog" --version)
  [[ "$v" == *"kernels Prescott (OPENBLAS_CORETYPE=Prescott)"* ]] || fail "$prog overrode the user's choice: $v"
  # XLAT_ISA
  v=$(XLAT_ISA=generic "$BIN/$prog" --version)
  [[ "$v" == *"xlat kernels generic"* ]] || fail "$prog ignores XLAT_ISA=generic: $v"
  XLAT_ISA=sse9 "$BIN/$prog" --version >"$T/out" 2>"$T/err"
  [ $? -eq 2 ] || fail "$prog: XLAT_ISA=sse9 is not a usage error"
  grep -q 'XLAT_ISA is "sse9" (expected generic, avx2 or avx512)' "$T/err" || fail "$prog: $(cat "$T/err")"
done
if has avx512f && has avx512bw && has avx512dq && has avx512vl; then
  [[ "$("$BIN/xlat-decode" --version)" == *"xlat kernels avx512"* ]] || fail "AVX-512 CPU without the avx512 kernels"
fi

# The benchmark's JSON names the kernels (a corrected pick included)
LD_PRELOAD=$SHIM "$BIN/xlat-bench" train --preset tiny --steps 1 --vocab 500 --batch-tokens 200 >"$T/bench" 2>&1 ||
  fail "xlat-bench train: $(tail -3 "$T/bench")"
json=$(tail -n 1 "$T/bench")
[[ "$json" == *'"blas_core": "'* && "$json" == *'"isa": "'* ]] || fail "bench JSON names no kernels: $json"
if has avx; then [[ "$json" != *'"blas_core": "Prescott"'* ]] || fail "bench ran Prescott: $json"; fi

# A model trained for a few steps translates to the same bits with every kernel set and under the corrected pick
zcat "$SRC/corpora/multi30k/train.en.gz" | head -n 300 >"$T/s.en"
zcat "$SRC/corpora/multi30k/train.de.gz" | head -n 300 >"$T/s.de"
"$BIN/xlat-train" --train-src "$T/s.en" --train-tgt "$T/s.de" --vocab-size 300 --out "$T/run" --preset tiny \
  --max-steps 30 --max-tokens 600 --lr 3e-3 --warmup-steps 10 --save-freq 30 --threads 1 >"$T/train.log" 2>&1 ||
  fail "training: $(tail -3 "$T/train.log")"
head -n 40 "$T/s.en" >"$T/in.en"
for isa in generic avx2 avx512; do
  XLAT_ISA=$isa "$BIN/xlat-decode" --model "$T/run/last.xlat" --beam 3 --threads 2 --batch-size 7 --quiet \
    --format ids --input "$T/in.en" --output "$T/out.$isa" || fail "decoding with $isa"
done
LD_PRELOAD=$SHIM "$BIN/xlat-decode" --model "$T/run/last.xlat" --beam 3 --threads 1 --quiet --format ids \
  --input "$T/in.en" --output "$T/out.shim" || fail "decoding under the shim"
for o in avx2 avx512 shim; do cmp -s "$T/out.generic" "$T/out.$o" || fail "$o translations differ from generic"; done
[ "$(wc -l <"$T/out.generic")" -eq 40 ] || fail "expected 40 output lines"
finish cli_cpu

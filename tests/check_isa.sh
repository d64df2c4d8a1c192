#!/usr/bin/env bash
# check_isa.sh BUILD_DIR - the programs carry no instruction beyond the x86-64 baseline (SSE2) outside the
# dispatched kernels: every function of every program that uses an AVX/AVX-512 register or a VEX/EVEX, SSE3-SSE4.2,
# BMI or other post-baseline instruction must be one compiled from src/kernels.c for avx2 or avx512. Uses objdump
# and nm (binutils). On other architectures it has nothing to check.
set -euo pipefail
build=${1:?usage: check_isa.sh BUILD_DIR}
case "$(uname -m)" in x86_64 | amd64) ;; *) echo "check_isa: $(uname -m): nothing to check"; exit 0 ;; esac
kernel_objs=$(find "$build/src" -path '*xlat_kernels_avx*' -name '*.o')
[ -n "$kernel_objs" ] || { echo "check_isa: no avx2/avx512 kernel objects under $build/src"; exit 1; }
allowed=$(nm --defined-only $kernel_objs | awk '$2 ~ /^[tT]$/ { sub(/\..*/, "", $3); print $3 }' | sort -u)
# instructions past SSE2 that are not VEX/EVEX encoded (those all start with v, or use ymm/zmm/mask registers)
post='haddp|hsubp|addsubp|movddup|movshdup|movsldup|lddqu|pshufb|phadd|phsub|pmaddubsw|pmulhrsw|psign|pabs|palignr'
post+='|pblend|blendp|blendvp|dpp[sd]|insertps|extractps|pextr[bdq]|pinsr[bdq]|pmaxs[bd]|pmins[bd]|pmaxu[wd]|pminu[wd]'
post+='|pmulld|pmuldq|ptest|round[sp][sd]|pcmpeqq|pcmpgtq|pcmp[ei]str|packusdw|pmovsx|pmovzx|mpsadbw|phminposuw'
post+='|movntdqa|crc32|popcnt|lzcnt|tzcnt|andn|bextr|blsi|blsmsk|blsr|bzhi|mulx|pdep|pext|rorx|sarx|shlx|shrx|movbe'
post+='|adcx|adox|k[a-z]+[bwdq]'
bad=0
for prog in "$build"/bin/xlat-*; do
  wide=$(objdump -d --no-show-raw-insn "$prog" | awk -v post="^($post)\$" '
    /^[0-9a-f]+ <.*>:$/ { fn = $2; gsub(/[<>:]/, "", fn); sub(/\..*/, "", fn); next }
    /^ *[0-9a-f]+:\t/ {
      split($0, f, "\t"); split(f[2], w, " "); m = w[1]
      if (m ~ /^(rep|repz|repnz|lock|notrack|bnd|data16|addr32|cs|ds)$/) m = w[2]
      if (m ~ /^v/ || f[2] ~ /%[yz]mm|%k[0-7]/ || m ~ post) print fn
    }' | sort -u)
  for fn in $wide; do
    if ! grep -qx "$fn" <<<"$allowed"; then
      echo "check_isa: $(basename "$prog"): $fn uses instructions beyond the baseline"
      bad=1
    fi
  done
  echo "check_isa: $(basename "$prog"): wide instructions only in: $(echo $wide)"
done
[ $bad -eq 0 ] && echo "check_isa: all passed"
exit $bad

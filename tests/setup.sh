#!/usr/bin/env bash
# Installs the Debian packages xlat needs (only those missing; through sudo when not root), then configures and
# builds into ${XLAT_BUILD:-build}. Used by both README commands; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(build-essential cmake pkg-config libopenblas-dev libsentencepiece-dev sentencepiece zlib1g-dev openmpi-bin
  libopenmpi-dev libmicrohttpd-dev libjansson-dev libgumbo-dev libcmark-dev python3 clang)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "xlat: installing Debian packages: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

build=${XLAT_BUILD:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release ${XLAT_CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j "$(nproc)"

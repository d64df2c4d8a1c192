#!/usr/bin/env bash
# Installs the Debian packages xlat needs (only those missing; through sudo when not root), then configures and
# builds into ${XLAT_BUILD:-build}; installs the browser test's playwright-core into tests/browser/node_modules. Used by
# both README commands; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(build-essential cmake pkg-config libopenblas-dev libsentencepiece-dev sentencepiece zlib1g-dev openmpi-bin
  libopenmpi-dev libmicrohttpd-dev libjansson-dev libgumbo-dev libcmark-dev libyaml-dev python3 clang curl chromium)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Node.js and npm (the browser test) may come from another source than Debian (NodeSource's nodejs bundles npm and
# conflicts with Debian's npm): Debian's packages only for the commands that are missing
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
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

# playwright-core, the exact version of tests/browser/package-lock.json; it drives Debian's chromium and downloads
# no browser of its own
browser=tests/browser
want=$(sed -n '/"node_modules\/playwright-core"/,/}/s/.*"version": "\(.*\)".*/\1/p' "$browser/package-lock.json")
have=$(sed -n 's/^  "version": "\(.*\)".*/\1/p' "$browser/node_modules/playwright-core/package.json" 2>/dev/null || true)
if [ "$have" != "$want" ]; then
  echo "xlat: installing playwright-core $want into $browser/node_modules (npm ci)"
  (cd "$browser" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi

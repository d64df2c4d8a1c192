#!/usr/bin/env bash
# README command (2): installs what is missing, builds, runs the whole test suite with ctest.
# XLAT_SANITIZE=1 builds into build-asan with AddressSanitizer + UBSan and runs the suite there.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${XLAT_SANITIZE:-0}" = 1 ]; then
  export XLAT_BUILD=build-asan XLAT_CMAKE_ARGS="-DXLAT_SANITIZE=ON"
fi
bash tests/setup.sh
ctest --test-dir "${XLAT_BUILD:-build}" --output-on-failure -j 2

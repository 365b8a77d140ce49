#!/usr/bin/env bash
# Quick start, tests: install what is missing, build, run the whole test suite.
# SINKLAB_TORCH=system tests the build on Debian's LibTorch 1.13 (build-system/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
source scripts/preset.sh
ctest --preset "$PRESET" "$@"

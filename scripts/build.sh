#!/usr/bin/env bash
# Configure and build with the default preset (Ninja, Release, ccache, precompiled header).
# LibTorch: Debian's libtorch-dev, or a LibTorch 2.x given with CMAKE_PREFIX_PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${SINKLAB_JOBS:-$(nproc)}
if [ ! -f build/build.ninja ]; then
  cmake --preset default ${CMAKE_PREFIX_PATH:+-DCMAKE_PREFIX_PATH="$CMAKE_PREFIX_PATH"} >/dev/null
fi
cmake --build --preset default -j "$jobs"

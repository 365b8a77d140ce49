#!/usr/bin/env bash
# Configure and build (Ninja, Release, ccache, precompiled header).
#   scripts/build.sh            preset default: the wheel LibTorch of scripts/setup.sh
#                               (.deps/libtorch), or CMAKE_PREFIX_PATH's LibTorch
#   scripts/build.sh --system   preset system: Debian's libtorch-dev 1.13 (build-system/)
#   scripts/build.sh --cuda     preset cuda: the wheel's CUDA LibTorch (build-cuda/)
# SINKLAB_TORCH=system|cuda chooses the same presets as the flags.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/preset.sh "$@"
jobs=${SINKLAB_JOBS:-$(nproc)}
dir=build; [ "$PRESET" != default ] && dir="build-$PRESET"
if [ ! -f "$dir/build.ninja" ]; then
  mkdir -p "$dir"
  if ! cmake --preset "$PRESET" ${CMAKE_PREFIX_PATH:+-DCMAKE_PREFIX_PATH="$CMAKE_PREFIX_PATH"} \
       >"$dir/configure.log" 2>&1; then
    # CMake wraps a message over lines: join the first "sinklab: ..." paragraph into one.
    msg=$(awk '/sinklab: /{f=1} f && (/^Call Stack/ || /^ *$/){exit} f{sub(/^ +/, ""); printf "%s ", $0}' \
          "$dir/configure.log")
    msg=${msg% }
    echo "build: error: ${msg:-cmake --preset $PRESET failed} (log: $dir/configure.log)" >&2
    exit 2
  fi
  grep -m1 -o "sinklab: LibTorch .*" "$dir/configure.log" >&2 || true
fi
cmake --build --preset "$PRESET" -j "$jobs"

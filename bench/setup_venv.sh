#!/usr/bin/env bash
# The Python side of the benchmark comparisons, as a user installs it today: a virtual
# environment (.venv-bench/, ignored by git) with PyPI's torch at the version sinklab
# links (.deps/libtorch/VERSION, from scripts/setup.sh), transformers, and the
# llama.cpp Python binding. Idempotent.
#   bash bench/setup_venv.sh            then  .venv-bench/bin/python bench/compare_train.py
set -euo pipefail
cd "$(dirname "$0")/.."
ver=$(cut -d+ -f1 .deps/libtorch/VERSION 2>/dev/null || true)
if [ -z "$ver" ]; then
  echo "setup_venv: error: no .deps/libtorch/VERSION; run bash scripts/setup.sh first" >&2
  exit 2
fi
py=/usr/bin/python3
[ -x .venv-bench/bin/python ] || "$py" -m venv .venv-bench
have=$(.venv-bench/bin/python -c 'import torch, transformers, gguf, accelerate; print(torch.__version__.split("+")[0])' 2>/dev/null || true)
if [ "$have" != "$ver" ]; then
  .venv-bench/bin/pip install --quiet --disable-pip-version-check "torch==$ver" transformers gguf accelerate numpy
fi
echo "setup_venv: torch $(.venv-bench/bin/python -c 'import torch, transformers; print(torch.__version__, "transformers", transformers.__version__)')"

#!/usr/bin/env bash
# Quick start, main job: install what is missing, build, run the main job on the
# embedded default source (no files needed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
./build/sinklab data stats
./build/sinklab data sample -n 3

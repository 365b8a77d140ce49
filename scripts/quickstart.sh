#!/usr/bin/env bash
# Quick start, main job: install what is missing, build, and run the main job on the
# embedded default source (no files needed): a look at the BB data, then the paper's
# toy experiment set at CPU scale, judged as claims (out/reproduce/report.html,
# out/reproduce/claims.json). Finished runs are reused if the command is run again.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
./build/sinklab data stats
./build/sinklab data sample -n 2
./build/sinklab reproduce --quick --out out/reproduce "$@"

#!/usr/bin/env bash
# sweep.sh SINKLAB CASE: `sinklab sweep` against the real binary (issue 18), locally and on
# a single-node Slurm (munged, slurmctld, slurmd started here by tests/tools/slurm_start.sh
# and stopped at the end). Each case prints "ok CASE" on success, or "skip CASE: reason"
# only where the Slurm daemons cannot start.
set -u
bin=$1; case_=$2
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d)
stop_slurm() {
  for f in "$dir"/slurm/slurmd.pid "$dir"/slurm/slurmctld.pid "$dir"/slurm/munge/munged.pid; do
    [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
  done
  sleep 1
}
trap 'stop_slurm; jobs -p | xargs -r kill -9 2>/dev/null; rm -rf "$dir"' EXIT
cd "$dir"
source "$here/lib.sh"
# The issue's 2 x 2 x 2 grid: attention x optimizer x seeds, on the tiny BB preset.
cat > grid.toml <<G
[sweep]
name = "attn-opt"
preset = "tiny"
set = ["train.steps=30", "checkpoints.dense_until=0", "checkpoints.sparse=every", "checkpoints.sparse_every=30"]
seeds = [0, 1]
[grid]
"model.attention" = ["softmax", "relu"]
"train.optimizer" = ["adamw", "sgd"]
G
metric_cols() {  # the cells table without its log paths: the numbers per cell
  cut -d, -f1-16 "$1"
}
case $case_ in
local_grid)
  "$bin" sweep grid.toml -o local --jobs 2 --threads 1 --no-progress >out 2>err || die "sweep failed"
  grep -q "8 cells, 0 failed" out || die "expected 8 finished cells: $(cat out)"
  [ "$(grep -c ',ok,' local/cells.csv)" = 8 ] || die "cells.csv does not list 8 ok cells"
  [ "$(wc -l <local/summary.csv)" = 5 ] || die "summary.csv should have 4 points"
  head -1 local/summary.csv | grep -q "sink_mass_median,sink_mass_lo,sink_mass_hi" || die "summary header"
  grep -q "w8a8_increase" local/report.html || die "report.html lacks the table"
  [ -f local/cells/p00_softmax_adamw_s0/config.toml ] || die "a cell is not a run directory"
  # resumable: nothing left to run; a removed result runs again, alone
  "$bin" sweep grid.toml -o local --jobs 2 --threads 1 --no-progress >out 2>err || die "rerun failed"
  grep -q "8 finished earlier, 0 to run" err || die "the rerun ran cells again: $(cat err)"
  cp local/cells.csv before.csv
  rm local/cells/p03_relu_sgd_s1/cell.json
  "$bin" sweep grid.toml -o local --jobs 2 --threads 1 --no-progress >out 2>err || die "partial rerun failed"
  grep -q "7 finished earlier, 1 to run" err || die "expected one cell to run: $(cat err)"
  [ "$(metric_cols before.csv)" = "$(metric_cols local/cells.csv)" ] || die "the rerun cell differs from its first run"
  ;;
lm_cells)
  # Language-model cells: the tiny pretrain preset on one shipped domain; a cell's numbers are
  # its last checkpoint scanned in memory, and must equal `llm scan-series` on the same
  # checkpoint exported as a Hugging Face directory (the emergence report's path).
  root=$(cd "$here/../.." && pwd)
  cat > lm.toml <<G
[sweep]
preset = "tiny-lm"
set = ['data.corpus=["prose=$root/data/domains/prose_wikipedia.jsonl"]', "train.steps=20"]
seeds = [0, 1]
[grid]
"model.attn_gate" = ["none", "head"]
G
  "$bin" sweep lm.toml -o lm --jobs 2 --threads 1 --no-progress >out 2>err || die "lm sweep failed: $(tail -3 err)"
  grep -q "4 cells, 0 failed" out || die "expected 4 lm cells: $(cat out)"
  c=lm/cells/p00_none_s0
  [ -d $c/hf/step20 ] || die "no exported checkpoint in $c"
  "$bin" llm scan-series $c/hf --domain prose=$c/heldout/prose.jsonl --docs 16 --ctx 32 -o ss --no-progress \
    >/dev/null 2>&1 || die "scan-series failed"
  row=$(grep '^20,' ss/series_summary.csv) || die "scan-series has no step 20"
  for m in resid_peak:6 max_over_median:11 loss:14; do
    key=${m%%:*}; col=${m##*:}
    want=$(echo "$row" | cut -d, -f"$col")
    got=$(grep -o "\"$key\": [-0-9.e]*" $c/cell.json | awk '{print $2}')
    awk -v a="$got" -v b="$want" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1e-6 * (1 + (b < 0 ? -b : b))) }' ||
      die "$key: cell $got vs scan-series $want"
  done
  grep -q '"excess": null' $c/cell.json || die "an lm cell has no oracle excess"
  echo "ok $case_"
  ;;
variants_axis)
  # [[variant]] bundles are one more axis; the table compares every point with the first.
  cat > var.toml <<G
[sweep]
preset = "tiny"
set = ["train.steps=20"]
seeds = [0]
[grid]
"model.layers" = [1, 2]
[[variant]]
name = "base"
set = []
[[variant]]
name = "sgd-fast"
set = ["train.optimizer=sgd", "train.lr=0.05"]
G
  "$bin" sweep var.toml -o v --threads 1 --no-progress >out 2>err || die "variants sweep failed"
  grep -q "4 cells, 0 failed" out || die "expected 4 cells: $(cat out)"
  [ -f v/cells/p01_base_2_s0/config.toml ] || die "cell names carry the variant: $(ls v/cells)"
  grep -q '^optimizer = .sgd' v/cells/p02_sgd-fast_1_s0/config.toml || die "the variant's overrides are not in its cell"
  grep -q '^lr = 0.05' v/cells/p02_sgd-fast_1_s0/config.toml || die "the variant's lr is not in its cell"
  head -1 v/summary.md | grep -q "| point | variant | model.layers | seeds |.*| loss vs point 0 |" || die "summary.md header: $(head -1 v/summary.md)"
  grep -q "| baseline |" v/summary.md || die "summary.md lacks the baseline row"
  printf '[sweep]\npreset = "tiny"\nseeds = [0]\n[[variant]]\nname = "x"\nset = ["model.atention=relu"]\n' > badvar.toml
  expect2 "variant 'x' key 'model.atention' is not a config key" "$bin" sweep badvar.toml -o b6
  ;;
failed_cell_kept)
  cat > fail.toml <<G
[sweep]
preset = "tiny"
set = ["train.steps=10"]
seeds = [0]
[grid]
"model.d_ff" = [0, 1000000000]
G
  "$bin" sweep fail.toml -o f --threads 1 --no-progress >out 2>err; rc=$?
  [ $rc = 1 ] || die "a sweep with a failed cell should exit 1, got $rc"
  grep -q "2 cells, 1 failed" out || die "expected one failed cell: $(cat out)"
  grep -q ',failed,' f/cells.csv && grep -q ',ok,' f/cells.csv || die "cells.csv should hold the ok and the failed cell"
  grep -q "needs about" f/report.html || die "the report should show the failed cell's error"
  grep -q "logs/cell-1.log" f/report.html || die "the report should name the failed cell's log"
  ;;
bad_input)
  sed 's/model.attention/model.atention/' grid.toml > typo.toml
  expect2 "grid key 'model.atention' is not a config key .*valid: .*model.attention" "$bin" sweep typo.toml -o b1
  printf '[sweep]\npreset = "tiny"\nseeds = [0]\n[grid]\n' > empty.toml
  expect2 "empty grid" "$bin" sweep empty.toml -o b2
  sed 's/seeds = \[0, 1\]/seeds = [0, 1, 0]/' grid.toml > dup.toml
  expect2 "seed 0 appears twice in sweep.seeds" "$bin" sweep dup.toml -o b3
  sed 's/"relu"/"relu2"/' grid.toml > badval.toml
  expect2 "the grid point .*relu2.*unknown attention kind" "$bin" sweep badval.toml -o b4
  expect2 "--slurm needs Slurm's sbatch on PATH" env PATH=/nonexistent "$bin" sweep grid.toml -o b5 --slurm
  printf '[sweep]\npreset = "tiny"\nseeds = [0\n' > broken.toml
  expect2 "broken.toml': malformed TOML at line" "$bin" sweep broken.toml -o b7
  expect2 "sweep grid 'missing.toml' does not exist" "$bin" sweep missing.toml -o b8
  for b in b1 b2 b3 b4 b5 b7 b8; do [ ! -e $b ] || die "a refused sweep left $b"; done
  ;;
slurm_matches_local)
  out=$(bash "$here/../tools/slurm_start.sh" "$dir/slurm" 2>&1) || { echo "skip $case_: the Slurm daemons do not start here: $(echo $out | tail -c 300)"; exit 0; }
  export SLURM_CONF=$dir/slurm/slurm.conf
  for i in $(seq 1 30); do sinfo -h -o %t 2>/dev/null | grep -q idle && break; sleep 1; done
  sinfo -h -o %t | grep -q idle || { echo "skip $case_: the Slurm node did not come up"; exit 0; }
  "$bin" sweep grid.toml -o local --jobs 2 --threads 1 --no-progress >out 2>err || die "local sweep failed"
  "$bin" sweep grid.toml -o slurm-out --slurm --cpus-per-task 1 --time 00:10:00 --no-progress >out 2>err ||
    die "slurm sweep failed: $(cat out)"
  grep -q "#SBATCH --array=0,1,2,3,4,5,6,7" slurm-out/sweep.sbatch || die "the job array does not hold the 8 cells"
  [ -s slurm-out/logs/cell-7.log ] || die "no Slurm task log"
  [ "$(metric_cols local/cells.csv)" = "$(metric_cols slurm-out/cells.csv)" ] || {
    diff <(metric_cols local/cells.csv) <(metric_cols slurm-out/cells.csv); die "the Slurm cells differ from the local ones"; }
  [ "$(cat local/summary.csv)" = "$(cat slurm-out/summary.csv)" ] || die "the summaries differ"
  ;;
*) die "unknown case" ;;
esac
echo "ok $case_"

// `sinklab sweep GRID.toml`: a grid over config keys x seeds, each cell a normal run
// directory, resumable, summarised into one table with median and 95% interval over the
// seeds for every metric. Cells run in this process (run_sweep_cell); the CLI runs them
// in local lanes (child processes `sinklab sweep GRID --cell I`) or as one Slurm job
// array whose tasks run the same command, so both give the same numbers per cell.
//
// GRID.toml:
//   [sweep]
//   name = "attention-x-optimizer"   # optional (default: the file's stem)
//   preset = "cpu-1l"                # or config = "my.toml" (relative to GRID.toml)
//   set = ["train.steps=500"]        # fixed overrides (optional)
//   seeds = [0, 1, 2]
//   [grid]
//   "model.attention" = ["softmax", "relu"]
//   "train.optimizer" = ["adamw", "sgd"]
//   [[variant]]                      # optional: named bundles of overrides, one more axis
//   name = "sgd"                     # ("variant") beside the keys of [grid]
//   set = ["train.optimizer=sgd", "train.lr=0.03"]
//
// OUT/ holds sweep.json (the grid as read), cells/NAME/ (a run directory, with cell.json
// once finished: status, metrics, wall time), logs/cell-I.log (a cell's output, locally
// and under Slurm), cells.csv, summary.csv and report.html; with Slurm also sweep.sbatch.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace sinklab {

struct SweepGrid {
  std::string path, name, preset, config;
  std::vector<std::string> sets;
  std::vector<int64_t> seeds;
  std::vector<std::pair<std::string, std::vector<std::string>>> axes;  // key -> values as --set text
  // [[variant]] tables: name -> its overrides; when present, axes[0] is ("variant", names).
  std::vector<std::pair<std::string, std::vector<std::string>>> variants;
};

struct SweepCell {
  int index = 0, point = 0;  // point: index into the grid's points (cells of one point differ by seed)
  int64_t seed = 0;
  std::vector<std::pair<std::string, std::string>> values;  // key -> value of this point
  std::string name;                                         // directory name under OUT/cells
};

// Reads GRID.toml (text: its contents; path: where it is, for messages and relative config
// paths). InputError (exit 2) for unknown keys (listing the valid ones), an empty grid,
// duplicate or missing seeds, values that are not scalars, and any point whose config
// does not validate.
SweepGrid load_sweep_grid(const std::string& path);
SweepGrid parse_sweep_grid(const std::string& text, const std::string& path);
std::vector<SweepCell> sweep_cells(const SweepGrid& g);
// The grid as JSON (what OUT/sweep.json holds; a rerun into OUT must find the same).
std::string sweep_grid_json(const SweepGrid& g);

// The metrics of a cell, in table order, with their one-line meanings.
const std::vector<std::pair<std::string, std::string>>& sweep_metric_names();

std::string cell_dir(const std::string& out, const SweepCell& c);
std::string cell_log(const std::string& out, const SweepCell& c);
// Finished: OUT/cells/NAME/cell.json says status "ok".
bool cell_finished(const std::string& out, const SweepCell& c);

// Trains and analyses one cell with `threads` compute threads, here; writes cell.json
// (status ok and the metrics, or status failed and the error) atomically. Returns true
// when the cell finished.
bool run_sweep_cell(const SweepGrid& g, const SweepCell& c, const std::string& out, int threads);
// Records a cell whose process died without writing its cell.json.
void mark_cell_failed(const std::string& out, const SweepCell& c, const std::string& error);

// cells.csv (one row per cell), summary.csv (one row per point: per metric median,
// interval lo and hi, seeds finished and failed), summary.md (the table in Markdown, with
// each point's loss against point 0) and report.html (the table, a bar chart
// per metric, the failed cells with their logs). Returns the number of failed cells.
int summarize_sweep(const SweepGrid& g, const std::string& out);

struct SlurmOptions {
  std::string partition, time;
  int cpus_per_task = 1, gpus = 0;
};
// The sbatch script of one job array over `pending` cells, each task running
// `exe sweep GRID -o OUT --cell $SLURM_ARRAY_TASK_ID --threads CPUS`.
std::string sweep_sbatch_script(const SweepGrid& g, const std::string& out, const std::vector<int>& pending,
                                const SlurmOptions& o, const std::string& exe);

}  // namespace sinklab

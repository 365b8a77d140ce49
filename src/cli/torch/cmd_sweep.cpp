// sinklab sweep GRID.toml: a grid of toy runs x seeds, in local lanes or as one Slurm
// job array, summarised into one table (src/report/sweep.h).
#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/command.h"
#include "io/error.h"
#include "io/files.h"
#include "io/out_dir.h"
#include "io/process.h"
#include "io/progress.h"
#include "report/sweep.h"

namespace sinklab::cli {
namespace {

namespace fs = std::filesystem;

struct SweepArgs {
  std::string grid, out;
  int jobs = 1, threads = 0, cell = -1;
  bool force = false, slurm = false, no_progress = false, dry_run = false;
  SlurmOptions slurm_opts;
};

std::string self_exe() { return fs::read_symlink("/proc/self/exe").string(); }

// Local lanes: `jobs` child processes at a time, each one cell with `threads` threads.
void run_local(const SweepGrid& g, const std::vector<SweepCell>& pending, const SweepArgs& a, int threads) {
  std::atomic<size_t> next{0};
  std::mutex mu;
  Progress bar((int64_t)pending.size(), "sweep " + g.name, !a.no_progress);
  int64_t done = 0;
  const std::string exe = self_exe();
  auto lane = [&]() {
    for (size_t i; (i = next++) < pending.size();) {
      const SweepCell& c = pending[i];
      auto r = run_program(exe,
                           {"sweep", g.path, "-o", a.out, "--cell", std::to_string(c.index), "--threads",
                            std::to_string(threads), "--no-progress"},
                           cell_log(a.out, c), 30.0 * 86400);
      if (!cell_finished(a.out, c) && (r.exit_code != 1 || !fs::exists(cell_dir(a.out, c) + "/cell.json")))
        mark_cell_failed(a.out, c,
                         r.signal ? fmt::format("killed by signal {}", r.signal)
                                  : fmt::format("exited with code {}", r.exit_code));
      std::lock_guard<std::mutex> lk(mu);
      bar.update(++done);
    }
  };
  std::vector<std::thread> lanes;
  for (int j = 0; j < std::min<int>(a.jobs, (int)pending.size()); ++j) lanes.emplace_back(lane);
  for (auto& t : lanes) t.join();
  bar.finish();
}

// One job array with sbatch --wait: returns when every task has ended.
void run_slurm(const SweepGrid& g, const std::vector<SweepCell>& pending, const SweepArgs& a) {
  std::vector<int> idx;
  for (const auto& c : pending) idx.push_back(c.index);
  const std::string script = a.out + "/sweep.sbatch";
  write_file_atomic(script, sweep_sbatch_script(g, a.out, idx, a.slurm_opts, self_exe()));
  fmt::print(stderr, "sinklab: submitting {} cells as one Slurm job array ({}), waiting for them\n", idx.size(), script);
  auto r = run_program("sbatch", {"--parsable", "--wait", script}, a.out + "/logs/sbatch.log", 30.0 * 86400);
  require(r.started, "cannot run sbatch: " + std::string(std::strerror(r.spawn_errno)));
  if (r.exit_code != 0)
    fmt::print(stderr, "sinklab: sbatch --wait ended with code {} (a task failed, or the submission: {}/logs/sbatch.log)\n",
               r.exit_code, a.out);
  for (const auto& c : pending)
    if (!fs::exists(cell_dir(a.out, c) + "/cell.json"))
      mark_cell_failed(a.out, c, "the Slurm task ended without a result (see its log)");
}

int run(const SweepArgs& a) {
  require(a.jobs >= 1 && a.jobs <= 256, fmt::format("--jobs = {} must be in [1, 256]", a.jobs));
  require(a.threads >= 0, "--threads must be >= 0");
  require(a.slurm_opts.cpus_per_task >= 1, "--cpus-per-task must be >= 1");
  require(a.slurm_opts.gpus >= 0, "--gpus must be >= 0");
  SweepGrid g = load_sweep_grid(a.grid);
  const auto cells = sweep_cells(g);
  const std::string out = a.out.empty() ? "sweeps/" + g.name : a.out;
  SweepArgs args = a;
  args.out = fs::absolute(out).lexically_normal().string();
  const std::string record = args.out + "/sweep.json", grid_json = sweep_grid_json(g);
  if (a.cell >= 0) {  // one cell, here (a lane's child or a Slurm task)
    require(a.cell < (int)cells.size(), fmt::format("--cell {} is outside the sweep's {} cells", a.cell, cells.size()));
    require(fs::exists(record) && read_file(record) == grid_json,
            "'" + args.out + "' does not hold this sweep (its sweep.json differs or is missing)");
    const int threads = a.threads > 0 ? a.threads : 1;
    const SweepCell& c = cells[a.cell];
    fmt::print("sinklab sweep {}: cell {} ({}), {} threads, run directory {}\n", g.name, c.index, c.name, threads,
               cell_dir(args.out, c));
    std::fflush(stdout);
    const bool ok = run_sweep_cell(g, c, args.out, threads);
    fmt::print("cell {}: {}\n", c.index, read_file(cell_dir(args.out, c) + "/cell.json"));
    return ok ? 0 : 1;
  }
  if (a.slurm) require(program_on_path("sbatch"), "--slurm needs Slurm's sbatch on PATH, and it is not there");
  const bool same = fs::exists(record) && read_file(record) == grid_json;
  if (fs::exists(record) && !same && !a.force)
    fail("'" + args.out + "' holds a different sweep (its sweep.json differs); give another -o or --force");
  auto lock = claim_out_dir(args.out, a.force || same, /*clear=*/a.force && !same);
  write_file_atomic(record, grid_json);
  fs::create_directories(args.out + "/logs");
  std::vector<SweepCell> pending;
  for (const auto& c : cells)
    if (!cell_finished(args.out, c)) pending.push_back(c);
  const int hw = (int)std::max(1u, std::thread::hardware_concurrency());
  const int threads = a.threads > 0 ? a.threads : std::max(1, hw / a.jobs);
  fmt::print(stderr, "sinklab: sweep {}: {} cells ({} finished earlier, {} to run){}\n", g.name, cells.size(),
             cells.size() - pending.size(), pending.size(),
             a.slurm ? " on Slurm" : fmt::format(" in {} lanes of {} threads", a.jobs, threads));
  if (a.dry_run) {
    for (const auto& c : pending) fmt::print("{} {}\n", c.index, c.name);
    return 0;
  }
  if (!pending.empty()) {
    if (a.slurm) run_slurm(g, pending, args);
    else run_local(g, pending, args, threads);
  }
  const int failed = summarize_sweep(g, args.out);
  fmt::print("sweep {}: {} cells, {} failed; {}/summary.csv, {}/cells.csv, {}/report.html\n", g.name, cells.size(),
             failed, args.out, args.out, args.out);
  return failed ? 1 : 0;
}

Registrar reg(24, [](CLI::App& app) {
  auto a = std::make_shared<SweepArgs>();
  auto* c = app.add_subcommand(
      "sweep",
      "Train a grid of toy runs (config keys x seeds), each cell a run directory, and summarise every metric "
      "(extreme-token and outlier) with median and 95% interval over the seeds; locally or as a Slurm job array");
  c->add_option("grid", a->grid, "GRID.toml ([sweep] preset or config, seeds, set; [grid] \"key\" = [values])")
      ->required();
  c->add_option("-o,--out", a->out, "output directory (default sweeps/NAME); a rerun skips finished cells");
  c->add_flag("--force", a->force, "start afresh in a directory that holds another output");
  c->add_option("--jobs", a->jobs, "local lanes: cells run at once")->capture_default_str();
  c->add_option("--threads", a->threads, "compute threads per cell (0 = cores / jobs locally)")->capture_default_str();
  c->add_flag("--slurm", a->slurm, "submit the unfinished cells as one Slurm job array and wait for it");
  c->add_option("--partition", a->slurm_opts.partition, "Slurm partition (default: the cluster's)");
  c->add_option("--time", a->slurm_opts.time, "Slurm time limit per cell, e.g. 01:00:00");
  c->add_option("--cpus-per-task", a->slurm_opts.cpus_per_task, "Slurm CPUs per cell (also its threads)")
      ->capture_default_str();
  c->add_option("--gpus", a->slurm_opts.gpus, "Slurm GPUs per cell")->capture_default_str();
  c->add_option("--cell", a->cell, "run only cell I here (what each lane and Slurm task runs)");
  c->add_flag("--dry-run", a->dry_run, "list the cells that would run, and run none");
  c->add_flag("--no-progress", a->no_progress, "no progress bar");
  c->callback([a]() {
    int rc = run(*a);
    if (rc != 0) std::exit(rc);
  });
});

}  // namespace
}  // namespace sinklab::cli

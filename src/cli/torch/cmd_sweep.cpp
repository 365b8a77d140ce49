// sinklab sweep GRID.toml: a grid of toy runs x seeds, in local lanes or as one Slurm
// job array, summarised into one table (src/report/sweep.h).
#include <atomic>
#include <chrono>
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

// The binary's path for the Slurm script (" (deleted)" when it was rebuilt since it started:
// the new build at the same path is what the nodes will run).
std::string self_exe() {
  std::string p = fs::read_symlink("/proc/self/exe").string();
  const std::string del = " (deleted)";
  if (p.size() > del.size() && p.compare(p.size() - del.size(), del.size(), del) == 0) p.resize(p.size() - del.size());
  return p;
}

// Local lanes: `jobs` child processes at a time, each one cell with `threads` threads.
void run_local(const SweepGrid& g, const std::vector<SweepCell>& pending, const SweepArgs& a, int threads) {
  std::atomic<size_t> next{0};
  std::mutex mu;
  Progress bar((int64_t)pending.size(), "sweep " + g.name, !a.no_progress);
  int64_t done = 0;
  // This very image: a rebuild of the binary meanwhile does not change what the cells run.
  const std::string exe = "/proc/self/exe";
  auto lane = [&]() {
    for (size_t i; (i = next++) < pending.size();) {
      const SweepCell& c = pending[i];
      auto r = run_program(exe,
                           {"sweep", g.path, "-o", a.out, "--cell", std::to_string(c.index), "--threads",
                            std::to_string(threads), "--no-progress"},
                           cell_log(a.out, c), 30.0 * 86400);
      if (!fs::exists(cell_dir(a.out, c) + "/cell.json"))  // the child died before it could say
        mark_cell_failed(a.out, c,
                         !r.started ? fmt::format("cannot start sinklab: {}", std::strerror(r.spawn_errno))
                         : r.signal ? fmt::format("killed by signal {}", r.signal)
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

// Runs the unfinished cells of `g` into args.out (absolute) and summarises; returns the
// number of failed cells.
int run_sweep(const SweepGrid& g, const SweepArgs& a) {
  const auto cells = sweep_cells(g);
  const std::string record = a.out + "/sweep.json", grid_json = sweep_grid_json(g);
  if (a.slurm) require(program_on_path("sbatch"), "--slurm needs Slurm's sbatch on PATH, and it is not there");
  const bool same = fs::exists(record) && read_file(record) == grid_json;
  if (fs::exists(record) && !same && !a.force)
    fail("'" + a.out + "' holds a different sweep (its sweep.json differs); give another -o or --force");
  refuse_nonempty_dir(a.out, a.force || same);  // before anything is printed or written
  std::vector<SweepCell> pending;
  for (const auto& c : cells)
    if (a.force && !same ? true : !cell_finished(a.out, c)) pending.push_back(c);
  const int hw = (int)std::max(1u, std::thread::hardware_concurrency());
  const int threads = a.threads > 0 ? a.threads : std::max(1, hw / a.jobs);
  fmt::print(stderr, "sinklab: sweep {}: {} cells ({} finished earlier, {} to run){}\n", g.name, cells.size(),
             cells.size() - pending.size(), pending.size(),
             a.slurm ? " on Slurm" : fmt::format(" in {} lanes of {} threads", a.jobs, threads));
  if (a.dry_run) {
    for (const auto& c : pending) fmt::print("{} {}\n", c.index, c.name);
    return 0;
  }
  auto lock = claim_out_dir(a.out, a.force || same, /*clear=*/a.force && !same);
  write_file_atomic(record, grid_json);
  fs::create_directories(a.out + "/logs");
  for (const auto& c : pending) fs::remove(cell_dir(a.out, c) + "/cell.json");  // an earlier failure runs again
  if (!pending.empty()) {
    if (a.slurm) run_slurm(g, pending, a);
    else run_local(g, pending, a, threads);
  }
  const int failed = summarize_sweep(g, a.out);
  fmt::print("sweep {}: {} cells, {} failed; {}/summary.csv, {}/cells.csv, {}/report.html\n", g.name, cells.size(),
             failed, a.out, a.out, a.out);
  return failed;
}

void check_args(const SweepArgs& a) {
  require(a.jobs >= 1 && a.jobs <= 256, fmt::format("--jobs = {} must be in [1, 256]", a.jobs));
  require(a.threads >= 0, "--threads must be >= 0");
  require(a.slurm_opts.cpus_per_task >= 1, "--cpus-per-task must be >= 1");
  require(a.slurm_opts.gpus >= 0, "--gpus must be >= 0");
}

int run(const SweepArgs& a) {
  check_args(a);
  SweepGrid g = load_sweep_grid(a.grid);
  const auto cells = sweep_cells(g);
  SweepArgs args = a;
  args.out = fs::absolute(a.out.empty() ? "sweeps/" + g.name : a.out).lexically_normal().string();
  if (a.cell >= 0) {  // one cell, here (a lane's child or a Slurm task)
    require(a.cell < (int)cells.size(), fmt::format("--cell {} is outside the sweep's {} cells", a.cell, cells.size()));
    const std::string record = args.out + "/sweep.json";
    require(fs::exists(record) && read_file(record) == sweep_grid_json(g),
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
  return run_sweep(g, args) ? 1 : 0;
}

// ------------------------------------------------------------------ sinklab lab
// The mitigation table: every attention variant, output gate and optimizer against softmax
// with AdamW, on the BB task with 1 and 3 layers, over seeds (issue 18).
struct LabArgs {
  SweepArgs sweep;
  bool quick = false;
  int seeds = 3;
  std::string device = "cpu";
};

const char* kLabVariants = R"([[variant]]
name = "softmax"
set = []
[[variant]]
name = "relu"
set = ["model.attention=relu"]
[[variant]]
name = "softmax1"
set = ["model.attention=softmax1"]
[[variant]]
name = "sigmoid"
set = ["model.attention=sigmoid"]
[[variant]]
name = "clipped-softmax"
set = ["model.attention=clipped-softmax"]
[[variant]]
name = "sink-logit"
set = ["model.attention=sink-logit"]
[[variant]]
name = "gate-head"
set = ["model.attn_gate=head"]
[[variant]]
name = "gate-element"
set = ["model.attn_gate=element"]
[[variant]]
name = "sgd"
set = ["train.optimizer=sgd", "train.lr=0.03"]
[[variant]]
name = "muon"
set = ["train.optimizer=muon"]
[[variant]]
name = "adamw-no-wd"
set = ["train.weight_decay=0"]
)";

// The lab's grid of one model: preset, its fixed overrides, the variants, the seeds.
std::string lab_grid(const std::string& name, const std::string& preset, const std::vector<std::string>& sets,
                     int seeds) {
  std::string s = "[sweep]\nname = \"" + name + "\"\npreset = \"" + preset + "\"\nset = [";
  for (size_t i = 0; i < sets.size(); ++i) s += (i ? ", \"" : "\"") + sets[i] + "\"";
  s += "]\nseeds = [";
  for (int i = 0; i < seeds; ++i) s += (i ? ", " : "") + std::to_string(i);
  return s + "]\n" + kLabVariants;
}

int run_lab(const LabArgs& la) {
  check_args(la.sweep);
  require(la.seeds >= 1 && la.seeds <= 64, fmt::format("--seeds = {} must be in [1, 64]", la.seeds));
  require(la.device == "cpu" || la.device == "cuda", "--device must be cpu or cuda, got '" + la.device + "'");
  const std::string out = fs::absolute(la.sweep.out.empty() ? "lab" : la.sweep.out).lexically_normal().string();
  const auto t0 = std::chrono::steady_clock::now();
  // Quick: the reproduce --quick scale (1 layer: 1500 steps at batch 64, lr 3e-3; 3 layers:
  // 2000 steps at batch 32, lr 1e-3), one checkpoint at the end. Full: the paper's presets.
  const std::vector<std::string> last = {"checkpoints.dense_until=0", "checkpoints.sparse=every",
                                         "train.device=" + la.device};
  struct Model {
    std::string name, preset;
    std::vector<std::string> sets;
  };
  std::vector<Model> models;
  auto with = [&](std::vector<std::string> v, int steps) {
    v.push_back(fmt::format("checkpoints.sparse_every={}", steps));
    v.insert(v.end(), last.begin(), last.end());
    return v;
  };
  if (la.quick) {
    models.push_back({"bb-1l", "cpu-1l", with({"train.steps=1500", "train.batch_size=64", "train.lr=3e-3"}, 1500)});
    models.push_back({"bb-3l", "cpu-3l", with({"train.steps=2000", "train.batch_size=32", "train.lr=1e-3"}, 2000)});
    models.push_back({"lm", "cpu-lm", with({"train.steps=400", "train.batch_size=16"}, 400)});
  } else {
    models.push_back({"bb-1l", "paper-1l", with({}, 10000)});
    models.push_back({"bb-3l", "paper-3l", with({}, 10000)});
    if (la.device == "cuda") models.push_back({"lm", "gpu-lm", with({}, 5000)});
    else models.push_back({"lm", "cpu-lm", with({}, 2000)});
  }
  fs::create_directories(out + "/grids");
  int failed = 0;
  std::string md;
  for (const auto& m : models) {
    const std::string path = out + "/grids/" + m.name + ".toml";
    write_file_atomic(path, lab_grid(m.name, m.preset, m.sets, la.seeds));
    SweepGrid g = load_sweep_grid(path);
    SweepArgs a = la.sweep;
    a.out = out + "/" + m.name;
    failed += run_sweep(g, a);
    md += fmt::format("\n## {} (preset {}", m.name, m.preset);
    for (const auto& x : m.sets) md += ", " + x;
    md += fmt::format("; seeds 0-{})\n\n", la.seeds - 1) + read_file(a.out + "/summary.md");
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::string head = "# sinklab lab: mitigations side by side\n\n";
  head += fmt::format("Command: `sinklab lab{} --seeds {} --jobs {}{}`; wall time {:.1f} min on {} hardware threads.\n",
                      la.quick ? " --quick" : "", la.seeds, la.sweep.jobs, la.sweep.slurm ? " --slurm" : "",
                      wall / 60, std::thread::hardware_concurrency());
  head += "Each cell: median over seeds [95% interval of the mean, Student's t]. Metrics:\n\n";
  for (const auto& [k, help] : sweep_metric_names()) head += "- " + k + ": " + help + "\n";
  write_file_atomic(out + "/results-mitigations.md", head + md);
  fmt::print("lab: {}/results-mitigations.md ({:.1f} min, {} failed cells)\n", out, wall / 60, failed);
  return failed ? 1 : 0;
}

void add_run_options(CLI::App* c, SweepArgs& a) {
  c->add_flag("--force", a.force, "start afresh in a directory that holds another output");
  c->add_option("--jobs", a.jobs, "local lanes: cells run at once")->capture_default_str();
  c->add_option("--threads", a.threads, "compute threads per cell (0 = cores / jobs locally)")->capture_default_str();
  c->add_flag("--slurm", a.slurm, "submit the unfinished cells as one Slurm job array and wait for it");
  c->add_option("--partition", a.slurm_opts.partition, "Slurm partition (default: the cluster's)");
  c->add_option("--time", a.slurm_opts.time, "Slurm time limit per cell, e.g. 01:00:00");
  c->add_option("--cpus-per-task", a.slurm_opts.cpus_per_task, "Slurm CPUs per cell (also its threads)")
      ->capture_default_str();
  c->add_option("--gpus", a.slurm_opts.gpus, "Slurm GPUs per cell")->capture_default_str();
  c->add_flag("--no-progress", a.no_progress, "no progress bar");
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
  add_run_options(c, *a);
  c->add_option("--cell", a->cell, "run only cell I here (what each lane and Slurm task runs)");
  c->add_flag("--dry-run", a->dry_run, "list the cells that would run, and run none");
  c->callback([a]() {
    int rc = run(*a);
    if (rc != 0) std::exit(rc);
  });
  auto l = std::make_shared<LabArgs>();
  auto* lab = app.add_subcommand(
      "lab",
      "The mitigation table: every attention variant (relu, softmax1, sigmoid, clipped-softmax, sink-logit, "
      "output gates) and optimizer (SGD, Muon, AdamW without decay) against softmax/AdamW on the BB task with 1 and "
      "3 layers, over seeds; writes OUT/results-mitigations.md");
  lab->add_flag("--quick", l->quick, "the CPU scale (reproduce --quick's steps and batches); else the paper's presets");
  lab->add_option("--seeds", l->seeds, "seeds per variant")->capture_default_str();
  lab->add_option("--device", l->device, "cpu | cuda")->capture_default_str();
  lab->add_option("-o,--out", l->sweep.out, "output directory (default lab); a rerun skips finished cells");
  add_run_options(lab, l->sweep);
  lab->callback([l]() {
    int rc = run_lab(*l);
    if (rc != 0) std::exit(rc);
  });
});

}  // namespace
}  // namespace sinklab::cli

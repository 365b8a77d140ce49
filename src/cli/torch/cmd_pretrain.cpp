// sinklab pretrain: a small Llama-style language model trained from scratch on real
// text (the one trainer, data.task = lm: src/train/trainer.h, src/data/lm_corpus.h),
// then the sink scan over its own checkpoint series (src/analysis/llm_series.h) as the
// emergence report RUN/emergence/.
#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "analysis/llm_series.h"
#include "cli/command.h"
#include "data/lm_corpus.h"
#include "io/error.h"
#include "io/files.h"
#include "io/out_dir.h"
#include "report/llm_series_report.h"
#include "cli/torch/train_cli.h"
#include "train/trainer.h"

namespace fs = std::filesystem;

namespace sinklab::cli {
namespace {

struct PretrainArgs {
  std::string config, preset, resume, out;
  std::vector<std::string> sets;
  int scan_docs = 16, scan_ctx = 0, threads = 0;
  double epsilon = 0.3, threshold = 0.5;
  bool no_scan = false, no_progress = false, force = false, json = false, list = false, show = false;
  int64_t stop_after = -1;
};

// RUN/val.jsonl -> the held-out loss per checkpoint step and domain.
report::SeriesTraining read_val(const std::string& run_dir, const TrainConfig& c) {
  report::SeriesTraining t;
  t.title = fmt::format("sinklab pretrain {}: emergence", c.name);
  std::istringstream in(read_file(run_dir + "/val.jsonl"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("step")) continue;
    t.steps.push_back(j["step"].get<int64_t>());
    for (auto it = j.begin(); it != j.end(); ++it)
      if (it.key().rfind("val_loss_", 0) == 0) t.val_loss[it.key().substr(9)].push_back(it.value().get<double>());
  }
  return t;
}

// The emergence scan of a finished (or interrupted) run over RUN/hf/step<N>/.
void emergence(const std::string& run_dir, const TrainConfig& c, const PretrainArgs& a) {
  std::error_code ec;
  if (!fs::is_directory(run_dir + "/hf", ec)) {
    fmt::print(stderr, "sinklab: note: no emergence scan: the checkpoints are not Hugging Face directories\n");
    return;
  }
  llm::SeriesOptions o;
  o.paths = {run_dir + "/hf"};
  for (const auto& d : parse_domain_specs(c.corpus, "data.corpus"))
    o.domains.push_back(d.name + "=" + run_dir + "/heldout/" + d.name + ".jsonl");
  o.sink_epsilon = a.epsilon;
  o.scan.docs = a.scan_docs;
  o.scan.ctx = a.scan_ctx > 0 ? a.scan_ctx : c.seq_len;
  o.scan.add_bos = parse_bos_mode(c.bos) != BosMode::None;
  o.scan.dormant_threshold = a.threshold;
  o.scan.progress = !a.no_progress;
  o.load.weights = "float32";
  const std::string out = run_dir + "/emergence";
  auto lock = claim_out_dir(out, true);
  FILE* info = a.json ? stderr : stdout;
  auto r = llm::series_scan(o, [info](const llm::SeriesCheckpoint& cp) {
    for (const auto& d : cp.domains)
      fmt::print(info, "step {:>6}  {:<8} sink heads {:>3}/{:<3} dormant {:>3}  mean sink mass {:.3f}  value ratio "
                       "{:.2f}  residual peak {:.2f} (layer {})\n",
                 cp.step, d.name, d.sink_heads, d.heads, d.dormant, d.mean_sink_mass, d.mean_v_ratio,
                 d.max_resid_ratio, d.max_resid_layer);
  });
  auto training = read_val(run_dir, c);
  report::write_series_report(out, r, &training);
  if (a.json) {
    nlohmann::json J = {{"run_dir", run_dir}, {"emergence", nlohmann::json::array()}};
    for (const auto& e : report::emergence_steps(r))
      J["emergence"].push_back({{"domain", e.domain},
                                {"first_sink_head", e.sink_heads},
                                {"first_dormant_head", e.dormant},
                                {"half_heads_sinks", e.half_sink},
                                {"first_resid_peak", e.resid_peak}});
    std::cout << J.dump(2) << "\n";
  } else {
    fmt::print("wrote {}/report.html (emergence.csv, series_summary.csv, series_layers.csv, series_heads.csv)\n", out);
  }
}

int run(const PretrainArgs& a) {
  if (a.list) {
    for (auto& n : lm_preset_names()) fmt::print("{}\n", n);
    return 0;
  }
  require(a.scan_docs >= 1, fmt::format("--scan-docs = {} must be >= 1", a.scan_docs));
  require(a.epsilon > 0 && a.epsilon < 1, fmt::format("--sink-epsilon = {} must be in (0, 1)", a.epsilon));
  std::vector<std::string> sets = a.sets;
  if (a.threads > 0) sets.push_back("train.threads=" + std::to_string(a.threads));
  for (auto& k : run_dir_sets(a.out, a.resume)) sets.push_back(k);
  TrainOptions opts;
  opts.progress = !a.no_progress;
  opts.force = a.force;
  opts.stop_after = a.stop_after;
  TrainOutcome out;
  TrainConfig c;
  if (!a.resume.empty()) {
    require(a.config.empty() && a.preset.empty(), "--resume takes no config file or preset (the run has its own)");
    c = load_run_config(a.resume, sets);
    require(c.is_lm(), "'" + a.resume + "' is not a language-model run (data.task = lm); resume it with sinklab train");
  } else {
    require(!a.config.empty() || !a.preset.empty(), "give a CONFIG.toml or --preset NAME (see --list-presets)");
    c = load_train_config(a.preset, a.config, sets);
    require(c.is_lm(), "sinklab pretrain trains language models: the config needs data.task = \"lm\" (sinklab "
                       "train runs the BB tasks)");
    if (a.show) {
      ConfigSchema s;
      c.describe(s);
      std::cout << s.to_toml();
      return 0;
    }
  }
  if (int rc = run_training("pretrain", a.resume, c, sets, opts, out)) return rc;
  if (!a.json) fmt::print("run {} finished at step {}\n", out.run_dir, out.step);
  if (a.no_scan) {
    if (a.json) std::cout << nlohmann::json{{"run_dir", out.run_dir}, {"step", out.step}}.dump(2) << "\n";
    return 0;
  }
  emergence(out.run_dir, c, a);
  return 0;
}

Registrar reg(22, [](CLI::App& app) {
  auto a = std::make_shared<PretrainArgs>();
  auto* c = app.add_subcommand(
      "pretrain",
      "Train a small Llama-style language model on real text and report how sinks, value drains, residual peaks "
      "and dormant heads emerge over its checkpoints");
  c->add_option("config", a->config, "config TOML file (data.task = \"lm\")")->check(CLI::ExistingFile);
  c->add_option("--preset", a->preset, "built-in config (see --list-presets); a CONFIG.toml then overrides it");
  c->add_option("--set", a->sets, "override a key: --set train.optimizer=sgd (repeatable; keys: sinklab train --help)");
  c->add_option("--resume", a->resume, "continue RUN_DIR from its last checkpoint, then scan");
  c->add_option("-o,--out", a->out, "run directory (default: run.out_dir/run.name of the config)");
  c->add_flag("--force", a->force, "start afresh in a directory that holds a run or other files");
  c->add_option("--threads", a->threads, "CPU threads (same as --set train.threads=N)");
  c->add_flag("--no-scan", a->no_scan, "train only: no emergence scan");
  c->add_option("--scan-docs", a->scan_docs, "held-out documents per domain in the scan")->capture_default_str();
  c->add_option("--scan-ctx", a->scan_ctx, "tokens per scanned document (0 = data.seq_len)")->capture_default_str();
  c->add_option("--sink-epsilon", a->epsilon, "a sink head puts more than this mean attention on the sink (Gu et al.)")
      ->capture_default_str();
  c->add_option("--threshold", a->threshold, "dormant when sink mass >= this")->capture_default_str();
  c->add_flag("--json", a->json, "print the emergence steps as JSON");
  c->add_option("--stop-after", a->stop_after, "stop as if interrupted after this step (checkpoint + exit 130)");
  c->add_flag("--no-progress", a->no_progress, "no progress bars");
  c->add_flag("--list-presets", a->list, "print the language-model preset names");
  c->add_flag("--show-config", a->show, "print the resolved config and exit");
  c->callback([a]() {
    int rc = run(*a);
    if (rc != 0) std::exit(rc);
  });
});

}  // namespace
}  // namespace sinklab::cli

// sinklab train: toy models on the BB task.
#include <filesystem>
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "io/error.h"
#include "model/attention.h"
#include "cli/torch/train_cli.h"
#include "train/trainer.h"

namespace sinklab::cli {
namespace {

struct TrainArgs {
  std::string config, preset, resume, device, out;
  std::vector<std::string> sets;
  bool no_progress = false, list = false, show = false, list_attention = false, force = false, json = false;
  int64_t stop_after = -1;
};

int run(const TrainArgs& a) {
  if (a.list) {
    for (auto& n : preset_names()) fmt::print("{}\n", n);
    return 0;
  }
  if (a.list_attention) {
    for (auto& n : attn_variant_names()) fmt::print("{:<12} {}\n", n, attn_variant(n).help);
    return 0;
  }
  std::vector<std::string> sets = a.sets;
  if (!a.device.empty()) sets.push_back("train.device=" + a.device);
  for (auto& k : run_dir_sets(a.out, a.resume)) sets.push_back(k);
  TrainOptions opts;
  opts.progress = !a.no_progress;
  opts.force = a.force;
  opts.stop_after = a.stop_after;
  TrainOutcome out;
  TrainConfig c;
  if (!a.resume.empty()) {
    require(a.config.empty() && a.preset.empty(), "--resume takes no config file or preset (the run has its own)");
  } else {
    require(!a.config.empty() || !a.preset.empty(), "give a CONFIG.toml or --preset NAME (see --list-presets)");
    c = load_train_config(a.preset, a.config, sets);
    if (a.show) {
      ConfigSchema s;
      c.describe(s);
      std::cout << s.to_toml();
      return 0;
    }
  }
  if (int rc = run_training("train", a.resume, c, sets, opts, out)) return rc;
  if (a.json)
    std::cout << nlohmann::json{{"run_dir", out.run_dir}, {"step", out.step}, {"interrupted", false}}.dump(2) << "\n";
  else
    fmt::print("run {} finished at step {}\n", out.run_dir, out.step);
  return 0;
}

Registrar reg(20, [](CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  auto* c = app.add_subcommand("train", "Train a toy transformer on the Bigram-Backcopy task (writes a run directory)");
  c->add_option("config", a->config, "config TOML file")->check(CLI::ExistingFile);
  c->add_option("--preset", a->preset, "built-in config (see --list-presets); a CONFIG.toml then overrides it");
  c->add_option("--set", a->sets, "override a key: --set train.lr=1e-3 (repeatable)");
  c->add_option("--resume", a->resume, "continue RUN_DIR from its last checkpoint");
  c->add_option("-o,--out", a->out,
                "run directory (default: run.out_dir/run.name of the config); refused when it holds a run or other "
                "files, unless --force");
  c->add_flag("--force", a->force, "start afresh in a directory that holds a run (its checkpoints, metrics, analysis "
                                   "and figures are removed) or other files");
  c->add_flag("--json", a->json, "print the outcome (run directory, last step) as JSON");
  c->add_option("--device", a->device, "cpu or cuda (same as --set train.device=...)");
  c->add_option("--stop-after", a->stop_after, "stop as if interrupted after this step (checkpoint + exit 130)");
  c->add_flag("--no-progress", a->no_progress, "no progress bar");
  c->add_flag("--list-presets", a->list, "print the preset names");
  c->add_flag("--show-config", a->show, "print the resolved config and exit");
  c->add_flag("--list-attention", a->list_attention, "print the attention variants (model.attention) with their formulas");
  c->footer("Keys (section.key, type, meaning):\n" + [] {
    TrainConfig t;
    ConfigSchema s;
    t.describe(s);
    return s.help_text();
  }());
  c->callback([a]() {
    int rc = run(*a);
    if (rc != 0) std::exit(rc);
  });
});

}  // namespace
}  // namespace sinklab::cli

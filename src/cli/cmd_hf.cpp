// `sinklab model series DIR...`: Hugging Face checkpoints of one model (revision
// directories such as step1000/, as Pythia and OLMo publish) ordered by step
// (src/model/arch/hf_dir.h checkpoint_series).
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "model/arch/hf_dir.h"

namespace {

struct SeriesOptions {
  std::vector<std::string> paths;
  bool json = false;
};

sinklab::cli::Registrar reg(42, [](CLI::App& app) {
  auto* model = sinklab::cli::group(app, "model");
  auto* cmd = model->add_subcommand(
      "series", "List Hugging Face checkpoints of one model as a series ordered by training step");
  auto o = std::make_shared<SeriesOptions>();
  cmd->add_option("DIR", o->paths,
                  "model directories whose names hold 'step<N>', or directories of such revision subdirectories "
                  "(subdirectories without a step, e.g. 'main', are skipped)")
      ->required();
  cmd->add_flag("--json", o->json, "print machine-readable JSON");
  cmd->callback([o] {
    auto series = sinklab::hf::checkpoint_series(o->paths);
    nlohmann::json arr = nlohmann::json::array();
    std::string out;
    if (!o->json) out += fmt::format("{:>12}  {:<10}  {:>12}  {}\n", "step", "arch", "params", "path");
    for (const auto& c : series) {
      auto s = sinklab::hf::summarize(c.path);  // validates the weights too
      if (o->json)
        arr.push_back({{"step", c.step}, {"path", c.path}, {"model_type", c.config.model_type}, {"n_params", s.n_params}});
      else
        out += fmt::format("{:>12}  {:<10}  {:>12}  {}\n", c.step, c.config.model_type, s.n_params, c.path);
    }
    if (o->json) out = arr.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    else out += fmt::format("{} checkpoints\n", series.size());
    std::fwrite(out.data(), 1, out.size(), stdout);
  });
});

}  // namespace

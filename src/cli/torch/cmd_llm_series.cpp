// sinklab llm scan-series: flags -> llm::series_scan (src/analysis/llm_series.h) ->
// report::write_series_report (src/report/llm_series_report.h).
#include <cstdio>
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "analysis/llm_series.h"
#include "cli/command.h"
#include "io/out_dir.h"
#include "report/llm_series_report.h"

namespace sinklab::cli {
namespace {

struct SeriesArgs {
  std::vector<std::string> paths, domains;
  std::string tokenizer, out = "llm-series";
  int docs = 16, ctx = 128, sink_pos = 0, threads = 0;
  double threshold = 0.5;
  bool no_bos = false, no_progress = false, force = false, json = false;
  LoadOptions load;
};

void run_series(const SeriesArgs& a) {
  auto lock = claim_out_dir(a.out, a.force);
  llm::SeriesOptions o;
  o.paths = a.paths, o.domains = a.domains, o.tokenizer = a.tokenizer, o.load = a.load;
  o.scan.docs = a.docs, o.scan.ctx = a.ctx, o.scan.sink_pos = a.sink_pos, o.scan.add_bos = !a.no_bos;
  o.scan.dormant_threshold = a.threshold, o.scan.progress = !a.no_progress;
  if (a.threads > 0) at::set_num_threads(a.threads);
  // With --json the summary is the only thing on stdout; progress notes go to stderr.
  FILE* info = a.json ? stderr : stdout;
  auto r = llm::series_scan(o, [info](const llm::SeriesCheckpoint& c) {
    for (const auto& d : c.domains)
      fmt::print(info, "step {:>8}  {:<10} dormant heads {:>4}/{:<4} mean sink mass {:.3f}  peak residual ratio {:.2f} "
                 "(layer {})\n",
                 c.step, d.name, d.dormant, d.heads, d.mean_sink_mass, d.max_resid_ratio, d.max_resid_layer);
  });
  report::write_series_report(a.out, r);
  if (a.json) {
    nlohmann::json J = nlohmann::json::array();
    for (const auto& c : r.checkpoints)
      for (const auto& d : c.domains)
        J.push_back({{"step", c.step}, {"checkpoint", c.path}, {"domain", d.name}, {"dormant_heads", d.dormant},
                     {"heads", d.heads}, {"mean_sink_mass", d.mean_sink_mass}, {"peak_resid_ratio", d.max_resid_ratio},
                     {"peak_resid_layer", d.max_resid_layer}});
    std::cout << J.dump(2) << "\n";
    return;
  }
  fmt::print("wrote {}/series_summary.csv, series_heads.csv and report.html\n", a.out);
}

Registrar reg(52, [](CLI::App& app) {
  auto* g = group(app, "llm");
  auto a = std::make_shared<SeriesArgs>();
  auto* c = g->add_subcommand(
      "scan-series", "Sink mass and dormant heads across the training checkpoints of one model, ordered by step");
  c->add_option("checkpoints", a->paths,
                "Hugging Face revision directories named with 'step<N>', or directories of them")
      ->required();
  c->add_option("--domain", a->domains, "NAME=CORPUS.jsonl (repeat for several domains)")->required();
  c->add_option("--tokenizer", a->tokenizer,
                "tokenizer for every checkpoint (HF dir, tokenizer.json, tokenizer.model or GGUF); default: each "
                "checkpoint's own");
  c->add_option("--docs", a->docs, "documents per domain")->capture_default_str();
  c->add_option("--ctx", a->ctx, "tokens per document (BOS included)")->capture_default_str();
  c->add_option("--sink-pos", a->sink_pos, "sink position P")->capture_default_str();
  c->add_option("--threshold", a->threshold, "dormant when sink mass >= this")->capture_default_str();
  c->add_flag("--no-bos", a->no_bos, "do not prepend BOS");
  c->add_option("--threads", a->threads, "intra-op threads (0 = LibTorch default)")->capture_default_str();
  add_out_options(c, a->out, a->force);
  add_load_options(c, a->load);
  c->add_flag("--json", a->json, "print the per-checkpoint summary as JSON instead of text");
  c->add_flag("--no-progress", a->no_progress, "no progress bars");
  c->callback([a]() { run_series(*a); });
});

}  // namespace
}  // namespace sinklab::cli

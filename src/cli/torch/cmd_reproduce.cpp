// sinklab reproduce: the paper's toy experiments end to end, judged as claims.
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/command.h"
#include "io/files.h"
#include "report/core/html.h"
#include "report/reproduce.h"

namespace sinklab::cli {
namespace {

Registrar reg(40, [](CLI::App& app) {
  auto o = std::make_shared<ReproduceOptions>();
  auto quick = std::make_shared<bool>(false), paper = std::make_shared<bool>(false),
       fresh = std::make_shared<bool>(false), noprog = std::make_shared<bool>(false),
       json = std::make_shared<bool>(false);
  auto* c = app.add_subcommand("reproduce",
                               "Train, analyse and judge the paper's toy experiments; writes report.html and claims.json");
  auto* q = c->add_flag("--quick", *quick,
                        "CPU scale (default): cpu-* presets (d=64, T=64, the paper's init); 3-layer runs 2000 steps at "
                        "batch 32 (AdamW 1e-3, SGD 0.03), 1-layer runs 1500 steps at batch 64 (AdamW 3e-3, ReLU "
                        "attention 3e-3): larger Adam lrs than the paper's 3e-4 reach its regime in the budget; two "
                        "runs at a time (docs/results-reproduce.md)");
  c->add_flag("--paper", *paper, "the paper's configuration: d=256, T=256, batch 512, 10k steps (GPU recommended)")
      ->excludes(q);
  add_out_options(c, o->out, o->force);
  c->add_flag("--json", *json, "print claims.json (per-seed values, intervals, verdicts) instead of the table");
  c->add_option("--source", o->source, "bigram source: synthetic[:V[:SEED]], shakespeare (the paper's Tiny Shakespeare counts, built in), counts:FILE.json, text:FILE")->capture_default_str();
  c->add_option("--seeds", o->seeds, "seeds per configuration (0 .. N-1); claims are judged on the 95% interval over seeds")
      ->capture_default_str();
  c->add_option("--set", o->sets, "override a key in every run (e.g. train.steps=500, train.device=cuda)");
  c->add_flag("--fresh", *fresh, "retrain runs already present in OUT/runs");
  c->add_flag("--no-progress", *noprog, "no progress bars");
  c->callback([=]() {
    o->scale = *paper ? "paper" : "quick";
    o->resume = !*fresh;
    o->progress = !*noprog;
    auto r = reproduce(*o);
    for (auto& w : r.warnings) fmt::print(stderr, "sinklab: warning: {}\n", w);
    if (*json) {
      std::cout << read_file(r.claims_path);
      return;
    }
    auto s = report::summarize(r.claims);
    fmt::print("{:<4} {:<12} {}\n", "id", "verdict", "measures: median [95% interval] (threshold)");
    for (auto& cl : r.claims) {
      std::string ms;
      for (auto& m : cl.measures)
        ms += fmt::format("{}{}: {} [{}, {}] ({} {})", ms.empty() ? "" : "; ", m.name, report::format_measured(m.median),
                          report::format_measured(m.lo), report::format_measured(m.hi), m.op,
                          report::format_measured(m.threshold));
      fmt::print("{:<4} {:<12} {}\n", cl.id, report::verdict_name(cl.verdict), ms);
    }
    fmt::print("claims: {} pass, {} fail, {} inconclusive, {} not run\nreport: {}\nclaims: {}\n", s.pass, s.fail,
               s.inconclusive, s.not_run, r.report_path, r.claims_path);
  });
});

}  // namespace
}  // namespace sinklab::cli

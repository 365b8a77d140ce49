// sinklab analyze | intervene: extreme-token metrics and interventions on toy runs.
#include <cstdio>
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "analysis/core/heads.h"
#include "analysis/run_analysis.h"
#include "cli/command.h"
#include "io/error.h"
#include "model/transformer.h"
#include "report/toy_figures.h"

namespace sinklab::cli {
namespace {

std::vector<int64_t> parse_steps(const std::string& s) {
  std::vector<int64_t> out;
  if (s.empty() || s == "all") return out;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    try {
      out.push_back(std::stoll(s.substr(i, j - i)));
    } catch (...) {
      fail("--steps expects a comma-separated list of steps, got '" + s + "'");
    }
    i = j + 1;
  }
  return out;
}

void run_analyze(const std::string& run, const AnalyzeOptions& o, bool figures, bool json) {
  auto a = analyze_run(run, o);
  write_analysis_csv(a);
  const auto& last = a.series.back();
  // With --json the last checkpoint's table is the only thing on stdout; notes go to stderr.
  FILE* info = json ? stderr : stdout;
  if (json) {
    nlohmann::json J{{"run", run},
                     {"checkpoints", a.series.size()},
                     {"step", last.step},
                     {"dormant_threshold", o.threshold},
                     {"loss", {{"all", last.loss.loss}, {"trigger", last.loss.loss_trigger},
                               {"non_trigger", last.loss.loss_nontrigger}, {"excess", last.loss.excess}}}};
    for (auto& h : last.heads)
      J["heads"].push_back({{"head", head_label(h.layer, h.head)}, {"bos_mass_nontrigger", h.bos_mass_nontrigger},
                            {"bos_mass_trigger", h.bos_mass_trigger}, {"prev_mass_trigger", h.prev_mass_trigger},
                            {"bos_mass_after_trigger", h.bos_mass_after_trigger}, {"bos_mass_plain", h.bos_mass_plain},
                            {"v_ratio", h.v_ratio}, {"gap_mean", h.gap_mean}, {"gap_std", h.gap_std},
                            {"dormant_nontrigger", h.dormant_nontrigger}, {"dormant_trigger", h.dormant_trigger}});
    for (auto& l : last.layers)
      J["layers"].push_back({{"layer", l.layer}, {"resid_bos", l.resid_bos}, {"resid_other", l.resid_other},
                             {"resid_ratio", l.resid_ratio}});
    std::cout << J.dump(2) << "\n";
  }
  fmt::print(info, "{}: {} checkpoints analysed (eval batch: {} sequences, seed {}); CSV in {}/analysis/\n", run,
             a.series.size(), o.eval_seqs, o.eval_seed, run);
  if (!json) {
    fmt::print(info, "last checkpoint (step {}): loss {:.4f} (trigger {:.4f}, non-trigger {:.4f}); excess {:.4f}\n", last.step,
               last.loss.loss, last.loss.loss_trigger, last.loss.loss_nontrigger, last.loss.excess);
    fmt::print(info, "{:<8} {:>12} {:>12} {:>12} {:>9} {:>10} {:>10}  verdict (threshold {})\n", "head", "BOS@non-trg",
               "BOS@trg", "prev@trg", "v ratio", "gap mean", "gap sd", o.threshold);
    for (auto& h : last.heads)
      fmt::print(info, "{:<8} {:>12.3f} {:>12.3f} {:>12.3f} {:>9.3f} {:>10.2f} {:>10.2f}  {} at non-trigger, {} at trigger\n",
                 head_label(h.layer, h.head), h.bos_mass_nontrigger, h.bos_mass_trigger, h.prev_mass_trigger, h.v_ratio, h.gap_mean,
                 h.gap_std, h.dormant_nontrigger ? "dormant" : "active", h.dormant_trigger ? "dormant" : "active");
    for (auto& l : last.layers)
      fmt::print(info, "layer {} residual norm: BOS {:.2f}, others {:.2f} (ratio {:.2f})\n", l.layer, l.resid_bos,
                 l.resid_other, l.resid_ratio);
  }
  if (figures) {
    std::string name = run;
    while (!name.empty() && name.back() == '/') name.pop_back();
    name = name.substr(name.find_last_of('/') + 1);
    auto files = draw_dynamics(a, run + "/figures", name);
    auto lr = load_run(run, last.step);
    EvalBatch eval = make_eval_batch(*lr->task, o.eval_seqs, o.eval_seed);
    auto more = draw_snapshot(*lr, eval, run + "/figures", name);
    files.insert(files.end(), more.begin(), more.end());
    size_t ok = 0;
    for (auto& f : files) {
      if (f.ok()) ++ok;
      else fmt::print(stderr, "sinklab: warning: {}\n", f.error);
    }
    fmt::print(info, "figures: {} files in {}/figures/\n", ok, run);
  }
}

struct InterveneArgs {
  std::string run;
  int64_t checkpoint = -1;
  std::vector<std::string> heads, kinds, roles;
  int eval_seqs = 64;
  bool json = false;
};

void run_intervene(const InterveneArgs& a) {
  auto lr = load_run(a.run, a.checkpoint);
  const auto& s = lr->model->spec();
  std::vector<std::pair<int, int>> heads;
  if (a.heads.empty()) {
    for (int l = 0; l < s.n_layers; ++l)
      if (s.layers[l].attn)
        for (int h = 0; h < s.n_heads; ++h) heads.emplace_back(l, h);
  }
  for (auto& spec : a.heads) {
    HeadRef r = parse_head(spec, "--head");
    heads.emplace_back(r.layer, r.head);
  }
  std::vector<Intervention> kinds;
  for (auto& k : a.kinds) kinds.push_back(parse_intervention(k));
  if (kinds.empty()) kinds = all_interventions();
  std::vector<Role> roles;
  for (auto& r : a.roles) roles.push_back(parse_role(r));
  if (roles.empty()) roles = {Role::NonTrigger, Role::Trigger, Role::All};
  EvalBatch eval = make_eval_batch(*lr->task, a.eval_seqs, AnalyzeOptions{}.eval_seed);
  nlohmann::json out = nlohmann::json::array();
  if (!a.json)
    fmt::print("{}: step {}; loss change (nats/token) per role after the intervention\n{:<6} {:<15} {:<12} {:>10} {:>10} {:>12}\n",
               a.run, lr->step, "head", "intervention", "at queries", "d trigger", "d non-trg", "d all");
  for (auto [l, h] : heads)
    for (auto k : kinds)
      for (auto r : roles) {
        auto res = run_intervention(*lr->model, eval, k, l, h, r);
        double dt = res.after.loss_trigger - res.base.loss_trigger;
        double dn = res.after.loss_nontrigger - res.base.loss_nontrigger;
        double da = res.after.loss - res.base.loss;
        if (a.json)
          out.push_back({{"layer", l}, {"head", h}, {"intervention", intervention_name(k)}, {"role", role_name(r)},
                         {"base", {{"trigger", res.base.loss_trigger}, {"nontrigger", res.base.loss_nontrigger}, {"all", res.base.loss}}},
                         {"after", {{"trigger", res.after.loss_trigger}, {"nontrigger", res.after.loss_nontrigger}, {"all", res.after.loss}}}});
        else
          fmt::print("L{}H{:<3} {:<15} {:<12} {:>+10.4f} {:>+10.4f} {:>+12.4f}\n", l, h, intervention_name(k),
                     role_name(r), dt, dn, da);
      }
  if (a.json) std::cout << out.dump(2) << "\n";
}

Registrar reg(30, [](CLI::App& app) {
  {
    auto o = std::make_shared<AnalyzeOptions>();
    auto run = std::make_shared<std::string>();
    auto steps = std::make_shared<std::string>();
    auto nofig = std::make_shared<bool>(false), json = std::make_shared<bool>(false);
    auto* c = app.add_subcommand("analyze", "Extreme-token metrics of every checkpoint of a toy run (CSV + figures)");
    c->add_option("run_dir", *run, "run directory")->required();
    c->add_option("--eval-seqs", o->eval_seqs, "sequences in the fixed evaluation batch")->capture_default_str();
    c->add_option("--eval-seed", o->eval_seed, "seed of the evaluation batch")->capture_default_str();
    c->add_option("--threshold", o->threshold, "BOS-mass threshold for a dormant verdict")->capture_default_str();
    c->add_option("--steps", *steps, "comma-separated checkpoint steps (default: all)");
    c->add_flag("--no-figures", *nofig, "CSV only");
    c->add_flag("--json", *json, "print the last checkpoint's heads and layers as JSON instead of the table");
    c->callback([=]() {
      o->steps = parse_steps(*steps);
      require(o->eval_seqs >= 1 && o->eval_seqs <= 4096, "--eval-seqs must be in [1, 4096]");
      run_analyze(*run, *o, !*nofig, *json);
    });
  }
  {
    auto a = std::make_shared<InterveneArgs>();
    auto* c = app.add_subcommand("intervene", "Interventions on a toy checkpoint: loss change per role");
    c->add_option("run_dir", a->run, "run directory")->required();
    c->add_option("--checkpoint", a->checkpoint, "checkpoint step (default: last)");
    c->add_option("--head", a->heads, "a head as L0H0 or 0.0 (repeatable; default: every head)");
    c->add_option("--kind", a->kinds, intervention_names() + " (repeatable; src/analysis/interventions.h)");
    c->add_option("--role", a->roles, "queries: trigger | non-trigger | all (repeatable)");
    c->add_option("--eval-seqs", a->eval_seqs, "sequences in the evaluation batch")->capture_default_str();
    c->add_flag("--json", a->json, "JSON output");
    c->callback([a]() { run_intervene(*a); });
  }
});

}  // namespace
}  // namespace sinklab::cli

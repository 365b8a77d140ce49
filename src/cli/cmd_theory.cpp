// sinklab theory [run] | fit | rates: the reduced model of mutual reinforcement
// (src/analysis/core/theory.h, docs/theory.md). Thin: parses flags, calls the core.
#include <cmath>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <limits>
#include <memory>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "analysis/core/theory.h"
#include "cli/command.h"
#include "io/error.h"
#include "io/files.h"
#include "io/out_dir.h"
#include "report/core/figures.h"
#include "report/core/html.h"
#include "report/core/theory_figures.h"
#include "report/core/theory_report.h"

namespace sinklab::cli {
namespace {

using theory::TheoryConfig;

struct State {
  TheoryConfig cfg;
  std::string config_path;
  std::string out = "theory_out";
  int n_fixed = 0;
  bool no_figures = false, force = false, json = false;
  bool freeze_alpha = false, freeze_beta = false;
  // Copies a field from a config-file TheoryConfig when its flag was not given.
  std::vector<std::pair<CLI::Option*, std::function<void(TheoryConfig&, const TheoryConfig&)>>> from_file;
};

template <class Acc>
void opt(CLI::App* c, State& st, const std::string& flag, Acc acc, const std::string& desc) {
  auto& field = acc(st.cfg);
  CLI::Option* o = c->add_option(flag, field, desc)->capture_default_str();
  using T = std::decay_t<decltype(field)>;
  if constexpr (std::is_same_v<T, std::vector<std::string>>) o->delimiter(',');
  st.from_file.emplace_back(o, [acc](TheoryConfig& dst, const TheoryConfig& src) {
    acc(dst) = acc(const_cast<TheoryConfig&>(src));
  });
}

template <class Acc>
void flag(CLI::App* c, State& st, const std::string& name, Acc acc, const std::string& desc) {
  CLI::Option* o = c->add_flag(name, acc(st.cfg), desc);
  st.from_file.emplace_back(o, [acc](TheoryConfig& dst, const TheoryConfig& src) {
    acc(dst) = acc(const_cast<TheoryConfig&>(src));
  });
}

// What a subcommand needs of the reduced model's options: everything (the study), or
// only what its predicted rates depend on (the model and Adam's settings).
enum class Options { Study, Rates };

void add_adam_options(CLI::App* c, State& st) {
  opt(c, st, "--adam-lr", [](TheoryConfig& x) -> auto& { return x.adam_lr; }, "Adam learning rate");
  opt(c, st, "--adam-beta1", [](TheoryConfig& x) -> auto& { return x.adam_beta1; }, "Adam beta1");
  opt(c, st, "--adam-beta2", [](TheoryConfig& x) -> auto& { return x.adam_beta2; }, "Adam beta2");
  opt(c, st, "--adam-eps", [](TheoryConfig& x) -> auto& { return x.adam_eps; }, "Adam eps");
}

void add_run_options(CLI::App* c, State& st, Options which) {
  const bool study = which == Options::Study;
  c->add_option("--config", st.config_path, "TOML file with any of these options (keys = flag names); flags override");
  if (study) {
    add_out_options(c, st.out, st.force);
    c->add_flag("--no-figures", st.no_figures, "do not draw DIR/figures/theory_*.png (drawn when gnuplot is available)");
    c->add_flag("--json", st.json, "print summary.json instead of the table");
  }
  opt(c, st, "--d", [](TheoryConfig& x) -> auto& { return x.model.d; }, "value dimension d");
  opt(c, st, "--mean-norm", [](TheoryConfig& x) -> auto& { return x.model.mean_norm; }, "|mu|: norm of the mean of the other tokens' values");
  opt(c, st, "--sigma", [](TheoryConfig& x) -> auto& { return x.model.sigma; }, "per-coordinate std of the values v_j ~ N(mu, sigma^2 I)");
  opt(c, st, "--n-min", [](TheoryConfig& x) -> auto& { return x.model.n_min; }, "n ~ uniform{n-min..n-max} other tokens");
  opt(c, st, "--n-max", [](TheoryConfig& x) -> auto& { return x.model.n_max; }, "see --n-min");
  c->add_option("--n", st.n_fixed, "fixed n (sets n-min = n-max = N)");
  opt(c, st, "--seed", [](TheoryConfig& x) -> auto& { return x.model.seed; }, "seed: direction of mu, initial beta");
  flag(c, st, "--trigger", [](TheoryConfig& x) -> auto& { return x.model.trigger; }, "extension: add a trigger (active) query sharing the sink value");
  opt(c, st, "--trigger-frac", [](TheoryConfig& x) -> auto& { return x.model.trigger_frac; }, "fraction of trigger queries");
  flag(c, st, "--residual", [](TheoryConfig& x) -> auto& { return x.model.residual; }, "extension: alpha = r * kappa with a trained residual norm r");
  add_adam_options(c, st);
  if (!study) return;
  opt(c, st, "--run-seed", [](TheoryConfig& x) -> auto& { return x.run_seed; }, "seed of the SGD draws");
  opt(c, st, "--alpha0", [](TheoryConfig& x) -> auto& { return x.alpha0; }, "initial sink logit");
  opt(c, st, "--beta0", [](TheoryConfig& x) -> auto& { return x.beta0; }, "initial sink value: token (a draw of v), mean (mu) or zero");
  opt(c, st, "--beta0-scale", [](TheoryConfig& x) -> auto& { return x.beta0_scale; }, "multiplies the initial sink value");
  opt(c, st, "--methods", [](TheoryConfig& x) -> auto& { return x.methods; }, "comma list of flow, gd, sgd, adam");
  opt(c, st, "--variants", [](TheoryConfig& x) -> auto& { return x.variants; }, "comma list of free, freeze_beta, freeze_alpha, freeze_both");
  c->add_flag("--freeze-beta", st.freeze_beta, "run only the counterfactual with beta frozen (with --freeze-alpha: both counterfactuals)");
  c->add_flag("--freeze-alpha", st.freeze_alpha, "run only the counterfactual with alpha frozen");
  opt(c, st, "--freeze-after", [](TheoryConfig& x) -> auto& { return x.freeze_after; }, "freezes start at this time (flow time, lr*step, Adam step)");
  opt(c, st, "--t-max", [](TheoryConfig& x) -> auto& { return x.t_max; }, "gradient-flow end time");
  opt(c, st, "--rtol", [](TheoryConfig& x) -> auto& { return x.rtol; }, "ODE relative tolerance");
  opt(c, st, "--atol", [](TheoryConfig& x) -> auto& { return x.atol; }, "ODE absolute tolerance");
  opt(c, st, "--gd-steps", [](TheoryConfig& x) -> auto& { return x.gd_steps; }, "gradient-descent steps");
  opt(c, st, "--gd-lr", [](TheoryConfig& x) -> auto& { return x.gd_lr; }, "gradient-descent learning rate");
  opt(c, st, "--sgd-steps", [](TheoryConfig& x) -> auto& { return x.sgd_steps; }, "SGD steps");
  opt(c, st, "--sgd-lr", [](TheoryConfig& x) -> auto& { return x.sgd_lr; }, "SGD learning rate");
  opt(c, st, "--sgd-batch", [](TheoryConfig& x) -> auto& { return x.sgd_batch; }, "SGD minibatch (draws of n and the values)");
  opt(c, st, "--sgd-momentum", [](TheoryConfig& x) -> auto& { return x.sgd_momentum; }, "SGD heavy-ball momentum");
  opt(c, st, "--adam-steps", [](TheoryConfig& x) -> auto& { return x.adam_steps; }, "Adam steps");
  opt(c, st, "--n-out", [](TheoryConfig& x) -> auto& { return x.n_out; }, "recorded points per trajectory");
  opt(c, st, "--fit-decades", [](TheoryConfig& x) -> auto& { return x.fit_decades; }, "rate fits use the last this-many decades of t");
  opt(c, st, "--fit-min-sink-weight", [](TheoryConfig& x) -> auto& { return x.fit_min_sink_weight; }, "rate fits use only points with sink weight >= this");
  opt(c, st, "--field-n", [](TheoryConfig& x) -> auto& { return x.field_n; }, "phase-portrait grid size per axis");
  opt(c, st, "--field-alpha-min", [](TheoryConfig& x) -> auto& { return x.field_alpha_min; }, "phase portrait: alpha range");
  opt(c, st, "--field-alpha-max", [](TheoryConfig& x) -> auto& { return x.field_alpha_max; }, "phase portrait: alpha range");
  opt(c, st, "--field-beta-min", [](TheoryConfig& x) -> auto& { return x.field_beta_min; }, "phase portrait: beta.mu/|mu| range");
  opt(c, st, "--field-beta-max", [](TheoryConfig& x) -> auto& { return x.field_beta_max; }, "phase portrait: beta.mu/|mu| range");
  opt(c, st, "--field-t-max", [](TheoryConfig& x) -> auto& { return x.field_t_max; }, "phase portrait: end time of the trajectories started on the plane");
}

// Resolves the config: defaults < TOML file < flags.
TheoryConfig resolve(State& st, CLI::App* c) {
  TheoryConfig cfg = st.cfg;
  if (!st.config_path.empty()) {
    TheoryConfig file;
    theory::apply_toml(file, read_file(st.config_path), "'" + st.config_path + "'");
    for (auto& [o, copy] : st.from_file)
      if (o->count() == 0) copy(cfg, file);
  }
  if (c->get_option("--n")->count() > 0) {
    require(st.n_fixed >= 1, fmt::format("theory: n must be >= 1, got {}", st.n_fixed));
    cfg.model.n_min = cfg.model.n_max = st.n_fixed;
  }
  if (st.freeze_alpha || st.freeze_beta) {
    cfg.variants.clear();
    if (st.freeze_beta) cfg.variants.push_back("freeze_beta");
    if (st.freeze_alpha) cfg.variants.push_back("freeze_alpha");
  }
  cfg.validate();
  return cfg;
}

void print_summary(const theory::TheoryResult& S, const std::string& out) {
  auto num = [](double v) { return fmt::format("{:.4g}", v); };
  std::cout << fmt::format("K = {}  (alpha ~ 1/2 log(2 K t) under gradient flow)\n", num(S.K_effective));
  std::cout << fmt::format("{:<6} {:<13} {:>10} {:>11} {:>11} {:>11}  {}\n", "method", "variant", "t_end", "alpha_end",
                           "|beta|_end", "loss_end", "fitted rates (predicted)");
  for (const auto& r : S.runs) {
    std::string rates;
    for (const auto& c : r.checks)
      rates += fmt::format("{} {} ({}{}); ", c.quantity, num(c.fitted), num(c.predicted),
                           c.within_10pct ? "" : ", OFF by >10%");
    if (r.frozen_beta) rates += "alpha* = " + num(r.frozen_beta->alpha_star) + "; ";
    if (r.frozen_alpha) rates += "|beta*| = " + num(r.frozen_alpha->beta_star_norm) + "; ";
    std::cout << fmt::format("{:<6} {:<13} {:>10} {:>11} {:>11} {:>11}  {}\n", r.method, r.variant, num(r.end.t),
                             num(r.end.alpha), num(r.end.beta_norm), num(r.end.loss), rates);
  }
  std::cout << "wrote " << out << "/summary.json, " << out << "/trajectories/*.csv, " << out << "/phase_field.csv\n";
}

Registrar reg(70, [](CLI::App& app) {
  auto st = std::make_shared<State>();
  auto* th = app.add_subcommand("theory",
                                "reduced model of mutual reinforcement: gradient flow, GD, SGD, Adam; rates; "
                                "counterfactuals; phase portrait (docs/theory.md)");
  add_run_options(th, *st, Options::Study);

  auto fit_st = std::make_shared<State>();
  auto* fit = th->add_subcommand("fit", "fit log / power / linear growth laws to CSV columns (e.g. a training run)");
  struct FitArgs {
    std::string csv, x = "step";
    bool json = false;
    std::vector<std::string> y, where;
    double from = -std::numeric_limits<double>::infinity();
    double to = std::numeric_limits<double>::infinity();
  };
  auto fa = std::make_shared<FitArgs>();
  fit->add_option("--csv", fa->csv, "CSV file with a header row")->required();
  fit->add_option("--x", fa->x, "x column (steps)")->capture_default_str();
  fit->add_option("--y", fa->y, "y column(s) to fit (repeat or comma-separate)")->required()->delimiter(',');
  fit->add_option("--from", fa->from, "use rows with x >= FROM (the late phase); x > 0 always");
  fit->add_option("--to", fa->to, "use rows with x <= TO");
  fit->add_option("--where", fa->where, "keep rows with COL=VALUE (repeatable), e.g. --where layer=0 --where head=0");
  fit->add_flag("--json", fa->json, "print the fits and the theory's predicted rates as JSON instead of text");
  add_run_options(fit, *fit_st, Options::Rates);  // the theory's predicted rates are reported beside the fits
  fit->callback([fa, fit_st, fit]() {
    std::vector<std::pair<std::string, double>> where;
    for (const auto& w : fa->where) {
      const auto eq = w.find('=');
      require(eq != std::string::npos && eq > 0, "theory fit: --where wants COL=VALUE, got '" + w + "'");
      const std::string val = w.substr(eq + 1);
      char* end = nullptr;
      const double v = std::strtod(val.c_str(), &end);
      require(!val.empty() && end && *end == '\0' && std::isfinite(v),
              "theory fit: --where value must be a finite number, got '" + w + "'");
      where.emplace_back(w.substr(0, eq), v);
    }
    const auto F = theory::fit_csv_columns(fa->csv, fa->x, fa->y, fa->from, fa->to, where);
    const TheoryConfig cfg = resolve(*fit_st, fit);
    if (fa->json) {
      auto S = theory::to_json(F);
      S["theory"] = theory::predicted_rates_json(cfg);
      std::cout << S.dump(2) << "\n";
      return;
    }
    for (const auto& c : F.fits) {
      std::cout << fmt::format("{}: better = {} ({} points, {} in [{:.6g}, {:.6g}])\n", c.column, c.fit.better,
                               c.fit.n_points, fa->x, c.window_from, c.window_to);
      for (const auto* l : {&c.fit.log_law, &c.fit.power_law, &c.fit.linear_law}) {
        if (l->ok)
          std::cout << fmt::format("  {:<6} slope {:>12.6g}  intercept {:>12.6g}  R^2 {:.4f}\n", l->law, l->slope,
                                   l->intercept, l->r2);
        else
          std::cout << fmt::format("  {:<6} n/a ({})\n", l->law, l->note);
      }
    }
    const auto adam = theory::adam_asymptotics(theory::ReducedModel(cfg.model), cfg.adam_lr, cfg.adam_beta1,
                                               cfg.adam_beta2, cfg.adam_eps);
    std::cout << fmt::format(
        "theory: gradient flow/GD/SGD: logit log-slope 0.5, |value| exponent -0.5; Adam (lr {}, beta2 {}): logit "
        "slope {:.4g}/step\n",
        cfg.adam_lr, cfg.adam_beta2, adam.alpha_slope);
  });

  auto rates_st = std::make_shared<State>();
  auto* rates = th->add_subcommand("rates", "print the derived asymptotic rates for a configuration (JSON)");
  add_run_options(rates, *rates_st, Options::Rates);
  rates->callback([rates_st, rates]() {
    const TheoryConfig cfg = resolve(*rates_st, rates);
    std::cout << theory::predicted_rates_json(cfg).dump(2) << "\n";
  });

  auto fig_holder = std::make_shared<std::string>();
  auto* figs = th->add_subcommand("figures", "draw the theory figures (PNG, gnuplot) from a `sinklab theory -o DIR` directory");
  figs->add_option("dir", *fig_holder, "output directory of `sinklab theory`")->required();
  figs->callback([fig_holder]() {
    for (const auto& p : report::draw_theory_figures(*fig_holder)) std::cout << "wrote " << p << "\n";
  });

  struct CompareArgs {
    std::vector<std::string> runs;
    std::string html, theory_out = "theory_out";
    double lr = 1e-3, beta2 = 0.999;
    bool json = false;
  };
  auto ca = std::make_shared<CompareArgs>();
  auto* cmp = th->add_subcommand(
      "compare",
      "fit the growth laws of gap_mean and v_bos_norm (layer 0, head 0) of training runs after the sink forms and "
      "compare them with the theory's predictions; optionally write the report's theory section as HTML");
  cmp->add_option("runs", ca->runs, "run directories (with analysis/heads.csv from `sinklab analyze`)")->required();
  cmp->add_option("--adam-lr", ca->lr, "lr used when a run has no config.toml")->capture_default_str();
  cmp->add_option("--adam-beta2", ca->beta2, "Adam beta2 used when a run has no config.toml")->capture_default_str();
  cmp->add_option("--html", ca->html, "also write the theory section (reduced model, figures, tables) to this HTML file");
  cmp->add_option("--theory-out", ca->theory_out, "with --html: where the reduced model's output and figures go")
      ->capture_default_str();
  cmp->add_flag("--json", ca->json, "print the comparisons as JSON instead of text");
  cmp->callback([ca]() {
    std::vector<std::pair<std::string, std::string>> runs;
    std::string problems;
    int compared = 0;
    nlohmann::json J = nlohmann::json::array();
    for (const auto& dir : ca->runs) {
      const auto rc = report::compare_run_to_theory(dir, dir, ca->lr, ca->beta2);
      runs.emplace_back(dir, dir);
      if (rc.ok)
        ++compared;
      else
        problems += (problems.empty() ? "" : "; ") + rc.problem;
      if (ca->json) {
        nlohmann::json r{{"run", dir}, {"ok", rc.ok}};
        if (!rc.ok) r["problem"] = rc.problem;
        else {
          r.update({{"optimizer", rc.optimizer}, {"lr", rc.lr}, {"beta2", rc.beta2}, {"settings_from", rc.settings_source},
                    {"window", {rc.window_from, rc.window_to}}, {"window_note", rc.window_note}});
          for (const auto& q : rc.fits)
            r["fits"].push_back({{"quantity", q.quantity}, {"points", q.steps.size()}, {"better", q.better},
                                 {"log_slope", q.fit.log_law.slope}, {"log_r2", q.fit.log_law.r2},
                                 {"linear_slope", q.fit.linear_law.slope}, {"linear_r2", q.fit.linear_law.r2},
                                 {"theory", q.prediction}, {"verdict", q.verdict}});
        }
        J.push_back(r);
        continue;
      }
      if (!rc.ok) {
        std::cout << dir << ": no comparison: " << rc.problem << "\n";
        continue;
      }
      std::cout << fmt::format("{}: optimiser {} lr {} beta2 {} (from {}); {}; window steps {}-{}\n", dir, rc.optimizer,
                               rc.lr, rc.beta2, rc.settings_source, rc.window_note, rc.window_from, rc.window_to);
      for (const auto& q : rc.fits) {
        std::cout << fmt::format("  {} ({} points): log {:.4g} R^2 {:.4f} | linear {:.4g} R^2 {:.4f} | power {:.4g} R^2 "
                                 "{:.4f} | exponential {:.4g} R^2 {:.4f}; better {} (of {} vs {})\n",
                                 q.quantity, q.steps.size(), q.fit.log_law.slope, q.fit.log_law.r2,
                                 q.fit.linear_law.slope, q.fit.linear_law.r2, q.fit.power_law.slope,
                                 q.fit.power_law.ok ? q.fit.power_law.r2 : NAN, q.exp_law.slope,
                                 q.exp_law.ok ? q.exp_law.r2 : NAN, q.better, q.law_a, q.law_b);
        std::cout << "    theory: " << q.prediction << "\n    verdict: " << q.verdict << "\n";
      }
    }
    require(compared > 0 || !ca->html.empty(), "theory compare: no run could be compared: " + problems);
    if (ca->json) std::cout << J.dump(2) << "\n";
    if (!ca->html.empty()) {
      report::HtmlReport html("sinklab theory compare");
      report::add_theory_section(html, ca->theory_out, runs, ca->lr, ca->beta2);
      html.write(ca->html);
      (ca->json ? std::cerr : std::cout) << "wrote " << ca->html << "\n";
    }
  });

  th->callback([st, th, fit, rates, figs, cmp]() {
    if (fit->parsed() || rates->parsed() || figs->parsed() || cmp->parsed()) return;
    const TheoryConfig cfg = resolve(*st, th);
    auto lock = claim_out_dir(st->out, st->force);
    const auto S = theory::run_theory(cfg, st->out);
    // With --json the summary is the only thing on stdout; notes go to stderr.
    std::ostream& note = st->json ? std::cerr : std::cout;
    if (st->json)
      std::cout << read_file(st->out + "/summary.json");
    else
      print_summary(S, st->out);
    if (!st->no_figures) {
      if (report::gnuplot_available()) {
        const auto pngs = report::draw_theory_figures(st->out);
        note << "wrote " << pngs.size() << " figures to " << st->out << "/figures/\n";
      } else {
        note << "gnuplot not found: figures skipped (the CSVs hold the data)\n";
      }
    }
  });
});

}  // namespace
}  // namespace sinklab::cli

#include "report/core/theory_report.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <filesystem>
#include <limits>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "analysis/core/heads.h"
#include "analysis/core/theory.h"
#include "io/error.h"
#include "io/files.h"
#include "io/json_io.h"
#include "report/core/figures.h"
#include "report/core/theory_figures.h"

namespace sinklab::report {
namespace {

namespace fs = std::filesystem;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kSinkMass = 0.5;  // the sink has formed once bos_mass_nontrigger >= this
constexpr size_t kMinPoints = 4;   // fewer points in the late phase: too short to fit

std::string g4(double v) { return std::isfinite(v) ? fmt::format("{:.4g}", v) : std::string("—"); }

bool is_adam(const std::string& opt) { return opt == "adam" || opt == "adamw"; }

// Adam's linear-phase constant c (alpha grows by c * lr per step), docs/theory.md section 5.
double adam_c(double lr, double beta1, double beta2) {
  theory::ReducedModel m(theory::ModelSpec{});
  return theory::adam_asymptotics(m, lr, beta1, beta2, 1e-8).c;
}

// Exponential law |y| = e^{a + b x}: a line through (x, log|y|); R^2 on y.
LawFit fit_exponential(const std::vector<double>& x, const std::vector<double>& y) {
  LawFit f;
  f.law = "exponential";
  double sign = 0;
  for (double v : y) {
    const double s = v > 0 ? 1 : (v < 0 ? -1 : 0);
    if (s == 0 || (sign != 0 && s != sign)) {
      f.note = "values change sign or are zero";
      return f;
    }
    sign = s;
  }
  std::vector<double> ly(y.size());
  for (size_t i = 0; i < y.size(); ++i) ly[i] = std::log(std::fabs(y[i]));
  const LineFit l = fit_line(x, ly);
  f.ok = true;
  f.intercept = l.a;
  f.slope = l.b;
  f.sign = sign;
  f.r2_fit_space = l.r2;
  double my = 0;
  for (double v : y) my += v;
  my /= double(y.size());
  double ssr = 0, sst = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    const double r = y[i] - sign * std::exp(l.a + l.b * x[i]);
    ssr += r * r;
    sst += (y[i] - my) * (y[i] - my);
  }
  f.r2 = sst > 0 ? 1 - ssr / sst : (ssr == 0 ? 1.0 : 0.0);
  return f;
}

double predict(const LawFit& f, double x) {
  if (f.law == "exponential") return f.sign * std::exp(f.intercept + f.slope * x);
  return f.predict(x);
}

const LawFit* law_of(const TheoryQuantityFit& q, const std::string& law) {
  if (law == "log") return &q.fit.log_law;
  if (law == "linear") return &q.fit.linear_law;
  if (law == "power") return &q.fit.power_law;
  if (law == "exponential") return &q.exp_law;
  return nullptr;
}

// The predicted law with its rate fixed, placed through the window by least squares
// in the law's own coordinates (the intercept is the only free number).
LawFit anchored(const TheoryQuantityFit& q) {
  LawFit f;
  f.law = q.predicted_law;
  f.slope = q.predicted_rate;
  f.ok = true;
  const auto& x = q.steps;
  const auto& y = q.values;
  double s = 0;
  size_t n = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (q.predicted_law == "linear") s += y[i] - f.slope * x[i], ++n;
    else if (q.predicted_law == "log") s += y[i] - f.slope * std::log(x[i]), ++n;
    else if (y[i] != 0) {  // power / exponential: in log|y|
      f.sign = y[i] > 0 ? 1 : -1;
      s += std::log(std::fabs(y[i])) - f.slope * (q.predicted_law == "power" ? std::log(x[i]) : x[i]), ++n;
    }
  }
  if (n == 0) f.ok = false;
  else f.intercept = s / double(n);
  return f;
}

void judge(TheoryQuantityFit& q, const TheoryRunComparison& rc, double c) {
  const bool adam = is_adam(rc.optimizer);
  if (q.quantity == "gap_mean") {
    q.law_a = "linear", q.law_b = "log";
    if (adam) {
      q.predicted_law = "linear";
      q.predicted_rate = c * rc.lr;
      q.prediction = fmt::format("Adam: linear growth, slope c·lr = {}·{} = {} per step", g4(c), g4(rc.lr),
                                 g4(q.predicted_rate));
    } else {
      q.predicted_law = "log";
      q.predicted_rate = 0.5;
      q.prediction = "gradient flow / SGD: logarithmic growth, 1/2 log(2 K lr step): slope 0.5 per e-fold of steps";
    }
  } else {
    q.law_a = "exponential", q.law_b = "power";
    if (adam) {
      q.predicted_law = "exponential";
      q.predicted_rate = -c * rc.lr;
      q.prediction = fmt::format("Adam: exponential decay, d log|v|/d step = −c·lr = {} per step", g4(q.predicted_rate));
    } else {
      q.predicted_law = "power";
      q.predicted_rate = -0.5;
      q.prediction = "gradient flow / SGD: power-law decay |v| ∝ step^−0.5";
    }
  }
  const LawFit* a = law_of(q, q.law_a);
  const LawFit* b = law_of(q, q.law_b);
  const double ra = a->ok ? a->r2 : -std::numeric_limits<double>::infinity();
  const double rb = b->ok ? b->r2 : -std::numeric_limits<double>::infinity();
  q.better = ra >= rb ? q.law_a : q.law_b;
  const LawFit* pred = law_of(q, q.predicted_law);
  const LawFit* rival = pred == a ? b : a;
  q.measured_rate = pred->ok ? pred->slope : kNaN;
  q.form_agrees = pred->ok && q.better == q.predicted_law;

  std::string form;
  const double rp = pred->ok ? pred->r2 : kNaN, rr = rival->ok ? rival->r2 : kNaN;
  if (!pred->ok) {
    form = fmt::format("The predicted {} law does not apply ({}).", q.predicted_law, pred->note);
  } else if (std::max(pred->r2, rival->ok ? rival->r2 : -1.0) < 0.5) {
    form = fmt::format("Neither law describes the curve (R² {} {}, {} {}).", q.predicted_law, g4(rp), rival->law, g4(rr));
  } else if (rival->ok && std::fabs(rp - rr) < 0.01) {
    form = fmt::format("This window cannot tell the {} and {} laws apart (R² {} vs {}).", q.predicted_law, rival->law,
                       g4(rp), g4(rr));
  } else if (q.form_agrees) {
    form = fmt::format("Form agrees: the predicted {} law fits better than the {} law (R² {} vs {}).", q.predicted_law,
                       rival->law, g4(rp), g4(rr));
  } else {
    form = fmt::format("Form disagrees: the {} law fits better than the predicted {} law (R² {} vs {}).", rival->law,
                       q.predicted_law, g4(rr), g4(rp));
  }
  std::string rate;
  if (pred->ok && std::isfinite(q.measured_rate) && q.predicted_rate != 0) {
    const double ratio = q.measured_rate / q.predicted_rate;
    if (ratio <= 0)
      rate = fmt::format(" Rate: the fitted {} has the opposite sign to the prediction ({} vs {}).",
                         q.predicted_law == "power" ? "exponent" : "slope", g4(q.measured_rate), g4(q.predicted_rate));
    else if (ratio >= 0.5 && ratio <= 2)
      rate = fmt::format(" Rate: fitted {} vs predicted {} (×{}), within a factor 2.", g4(q.measured_rate),
                         g4(q.predicted_rate), g4(ratio));
    else
      rate = fmt::format(" Rate: fitted {} is {}× the predicted {}.", g4(q.measured_rate), g4(ratio),
                         g4(q.predicted_rate));
  }
  q.verdict = form + rate;
}

std::string law_cell(const LawFit& f) {
  if (!f.ok) return "n/a";
  return fmt::format("{} / {}", g4(f.slope), g4(f.r2));
}

// Reads [train] optimizer, lr, beta1, beta2 from run_dir/config.toml when present.
void read_settings(TheoryRunComparison& rc) {
  const std::string path = rc.run_dir + "/config.toml";
  std::error_code ec;
  if (!fs::exists(path, ec)) return;
  try {
    const toml::table tbl = toml::parse_file(path);
    const auto* train = tbl["train"].as_table();
    if (!train) return;
    bool any = false;
    if (auto v = (*train)["optimizer"].value<std::string>()) rc.optimizer = *v, any = true;
    if (auto v = (*train)["lr"].value<double>()) rc.lr = *v, any = true;
    if (auto v = (*train)["beta1"].value<double>()) rc.beta1 = *v;
    if (auto v = (*train)["beta2"].value<double>()) rc.beta2 = *v;
    if (any) rc.settings_source = "config.toml";
  } catch (const std::exception&) {
    // An unreadable config leaves the caller's settings; the report says which were used.
  }
}

}  // namespace

TheoryRunComparison compare_run_to_theory(const std::string& label, const std::string& run_dir, double adam_lr,
                                          double beta2, int layer, int head) {
  TheoryRunComparison rc;
  rc.layer = layer, rc.head = head;
  rc.label = label;
  rc.run_dir = run_dir;
  rc.lr = adam_lr;
  rc.beta2 = beta2;
  rc.settings_source = "arguments";
  read_settings(rc);
  const std::string path = run_dir + "/analysis/heads.csv";
  try {
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      rc.problem = fmt::format("'{}' does not exist (run `sinklab analyze {}` first)", path, run_dir);
      return rc;
    }
    const CsvTable t = read_numeric_csv(path);
    for (const char* col : {"step", "bos_mass_nontrigger", "gap_mean", "v_bos_norm"})
      if (t.column(col) < 0) {
        rc.problem = fmt::format("'{}' has no column '{}'", path, col);
        return rc;
      }
    const int cs = t.column("step"), cl = t.column("layer"), ch = t.column("head");
    const int cm = t.column("bos_mass_nontrigger"), cg = t.column("gap_mean"), cv = t.column("v_bos_norm");
    std::vector<std::vector<double>> rows;
    for (const auto& r : t.rows) {
      if ((cl >= 0 && r[cl] != layer) || (ch >= 0 && r[ch] != head)) continue;
      if (!std::isfinite(r[cs])) continue;
      rows.push_back({r[cs], r[cm], r[cg], r[cv]});
    }
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a[0] < b[0]; });
    for (size_t i = 1; i < rows.size(); ++i)
      if (rows[i][0] == rows[i - 1][0]) {
        rc.problem = fmt::format("'{}': step {} appears twice for layer {}, head {}", path, rows[i][0], layer, head);
        return rc;
      }
    for (const auto& r : rows) {
      rc.steps.push_back(r[0]);
      rc.bos_mass.push_back(r[1]);
      rc.gap.push_back(r[2]);
      rc.v_bos.push_back(r[3]);
    }
    if (rows.size() < kMinPoints) {
      rc.problem = fmt::format("'{}' is too short: {} rows for layer {}, head {} (need at least {})", path, rows.size(),
                               layer, head, kMinPoints);
      return rc;
    }
    double max_mass = -1;
    for (size_t i = 0; i < rows.size(); ++i) {
      if (std::isfinite(rc.bos_mass[i])) max_mass = std::max(max_mass, rc.bos_mass[i]);
      if (!rc.sink_formed && rc.bos_mass[i] >= kSinkMass) rc.sink_formed = true, rc.sink_step = rc.steps[i];
    }
    if (rc.sink_formed) {
      rc.window_from = rc.sink_step;
      rc.window_note = fmt::format("the sink forms at step {} (first step with BOS mass ≥ {} at non-trigger queries); "
                                   "laws fitted from there on",
                                   g4(rc.sink_step), kSinkMass);
    } else {
      rc.window_from = rc.steps.back() / 2;
      rc.window_note = fmt::format("the sink never formed (BOS mass at non-trigger queries peaks at {} < {}); laws "
                                   "fitted over the second half of the steps instead",
                                   g4(max_mass), kSinkMass);
    }
    rc.window_from = std::max(rc.window_from, std::numeric_limits<double>::min());
    rc.window_to = rc.steps.back();
    const double c = adam_c(rc.lr > 0 ? rc.lr : 1e-3, rc.beta1, rc.beta2);
    for (const char* qn : {"gap_mean", "v_bos_norm"}) {
      TheoryQuantityFit q;
      q.quantity = qn;
      const auto& ys = q.quantity == "gap_mean" ? rc.gap : rc.v_bos;
      for (size_t i = 0; i < rc.steps.size(); ++i)
        if (rc.steps[i] >= rc.window_from && rc.steps[i] > 0 && std::isfinite(ys[i]))
          q.steps.push_back(rc.steps[i]), q.values.push_back(ys[i]);
      if (q.steps.size() < kMinPoints) {
        rc.problem = fmt::format("'{}': the late phase (steps ≥ {}) has only {} finite {} values (need at least {}); "
                                 "train longer or log more often",
                                 path, g4(rc.window_from), q.steps.size(), qn, kMinPoints);
        return rc;
      }
      q.fit = fit_growth_law(q.steps, q.values);
      q.exp_law = fit_exponential(q.steps, q.values);
      judge(q, rc, c);
      rc.fits.push_back(std::move(q));
    }
    rc.ok = true;
  } catch (const std::exception& e) {
    rc.ok = false;
    rc.problem = e.what();
  }
  return rc;
}

namespace {

std::vector<double> curve(const LawFit& f, const std::vector<double>& x) {
  std::vector<double> y;
  for (double v : x) y.push_back(predict(f, v));
  return y;
}

std::string draw_run(const TheoryRunComparison& rc, const std::string& png) {
  SmallMultiples sm;
  sm.title = fmt::format("{}: layer {}, head {} — measured (solid) and fitted laws (dashed)", rc.label, rc.layer, rc.head);
  sm.shared_legend = false;
  sm.columns = 2;
  for (const auto& q : rc.fits) {
    LinePlot p;
    const bool gap = q.quantity == "gap_mean";
    p.title = gap ? "logit gap to BOS (gap_mean)" : "BOS value norm |v_BOS| (v_bos_norm)";
    p.xlabel = "step";
    p.ylabel = gap ? "gap_mean" : "|v_BOS|";
    p.log_y = !gap;
    p.legend = gap ? Legend::BottomRight : Legend::TopRight;
    const auto& ys = gap ? rc.gap : rc.v_bos;
    Series m = Series::line("measured", {}, {}, 0);
    for (size_t i = 0; i < rc.steps.size(); ++i)
      if (std::isfinite(ys[i]) && (gap || ys[i] > 0)) m.x.push_back(rc.steps[i]), m.y.push_back(ys[i]);
    p.series.push_back(m);
    int color = 1;
    for (const auto& law : {q.law_a, q.law_b}) {
      const LawFit* f = law_of(q, law);
      if (f->ok) {
        Series s = Series::fitted(fmt::format("{} fit (R² {})", law, g4(f->r2)), q.steps, curve(*f, q.steps), color);
        if (!gap) {  // log axis: keep positive values only
          Series t = s;
          t.x.clear(), t.y.clear();
          for (size_t i = 0; i < s.x.size(); ++i)
            if (s.y[i] > 0 && std::isfinite(s.y[i])) t.x.push_back(s.x[i]), t.y.push_back(s.y[i]);
          s = t;
        }
        if (!s.x.empty()) p.series.push_back(s);
      }
      ++color;
    }
    const LawFit th = anchored(q);
    if (th.ok) {
      Series s = Series::fitted(fmt::format("theory: {} law, rate {}", q.predicted_law, g4(q.predicted_rate)), {}, {}, 6);
      s.width = 1.5;
      for (double x : q.steps) {
        const double y = predict(th, x);
        if (std::isfinite(y) && (gap || y > 0)) s.x.push_back(x), s.y.push_back(y);
      }
      if (!s.x.empty()) p.series.push_back(s);
    }
    if (rc.sink_formed) p.vlines.push_back({rc.sink_step, "sink forms"});
    sm.panels.push_back(p);
  }
  return render(sm, png, RenderOptions{1300, 500}).png;
}

std::string figure_caption(const std::string& png) {
  const std::string name = fs::path(png).filename().string();
  if (name == "theory_alpha.png")
    return "Sink logit α under gradient flow (solid) with the fitted log law and the theory's ½ log(2Kt) (dashed).";
  if (name == "theory_beta.png")
    return "Sink value norm |β| under gradient flow: power law with exponent −½ (fit and theory dashed).";
  if (name == "theory_counterfactuals.png")
    return "Counterfactuals: with β frozen α stops at a finite α*, with α frozen |β| stalls at |β*|: each growth needs "
           "the other (mutual reinforcement).";
  if (name == "theory_adam.png")
    return "Adam: α grows linearly in steps at c·lr and |β| decays exponentially (fits and theory dashed).";
  if (name == "theory_phase_portrait.png")
    return "Phase portrait of gradient flow on the plane β = b·μ/|μ|, with trajectories and the slow manifold.";
  return name;
}

}  // namespace

void add_theory_section(HtmlReport& html, const std::string& theory_out_dir,
                        const std::vector<std::pair<std::string, std::string>>& runs, double adam_lr, double beta2,
                        const std::vector<std::pair<int, int>>& heads) {
  html.section("Theory: mutual reinforcement");
  html.paragraph(
      "A reduced model of one attention head at a dormant query (docs/theory.md): the sink has logit α and value β, the "
      "n other tokens have logit 0 and values with mean μ. The loss falls only when the sink takes all the attention "
      "(α grows) and contributes nothing (β shrinks), and each makes the other's growth pay: under gradient flow "
      "α ≈ ½ log(2Kt) and |β| ∝ t^−½; under Adam α grows linearly in steps at c·lr and |β| decays exponentially.");

  // (a) the reduced model: gradient flow and Adam with the training settings, free and counterfactual.
  bool theory_ok = false;
  try {
    theory::TheoryConfig cfg;
    cfg.methods = {"flow", "adam"};
    cfg.variants = {"free", "freeze_beta", "freeze_alpha"};
    cfg.adam_lr = adam_lr;
    cfg.adam_beta2 = beta2;
    cfg.n_out = 150;
    cfg.field_n = 25;
    if (std::isfinite(adam_lr) && adam_lr > 0 && beta2 > 0 && beta2 < 1) {
      // Long enough for alpha to reach ~12 in the linear phase, capped to stay quick.
      const double c = adam_c(adam_lr, cfg.adam_beta1, beta2);
      cfg.adam_steps = long(std::clamp(12.0 / (c * adam_lr), 2000.0, 100000.0));
    }
    cfg.validate();
    const auto S = theory::run_theory(cfg, theory_out_dir);
    theory_ok = true;
    std::vector<std::vector<std::string>> rows;
    for (const auto& r : S.runs)
      for (const auto& ck : r.checks)
        rows.push_back({r.method, ck.quantity, g4(ck.fitted), g4(ck.predicted), ck.within_10pct ? "PASS" : "FAIL"});
    html.paragraph(fmt::format("Reduced model run with Adam lr = {}, β2 = {} ({} Adam steps); K = {}. The derived rates "
                               "against the rates fitted to the model's own trajectories:",
                               g4(adam_lr), g4(beta2), cfg.adam_steps, g4(S.K_effective)));
    if (!rows.empty())
      html.table({"method", "quantity", "fitted", "derived", "within 10%"}, rows,
                 "The theory checked against its own model (fits over the asymptotic regime).");
  } catch (const std::exception& e) {
    html.paragraph(std::string("The reduced model could not be run: ") + e.what());
  }

  // (b) its figures.
  if (theory_ok) {
    if (!gnuplot_available()) {
      html.paragraph("gnuplot is not available, so the theory figures were not drawn; the data are in " +
                     theory_out_dir + "/trajectories/.");
    } else {
      try {
        for (const auto& png : draw_theory_figures(theory_out_dir)) html.figure(png, figure_caption(png));
      } catch (const std::exception& e) {
        html.paragraph(std::string("The theory figures could not be drawn: ") + e.what());
      }
    }
  }

  // (c) the theory against the training runs.
  html.section("Theory vs training");
  html.paragraph(
      "For each run, the logit gap of its sink head (named below) toward BOS (gap_mean, the analogue of α) and the norm of BOS's "
      "value (v_bos_norm, the analogue of |β|) are fitted in the late phase, after the sink forms. Adam predicts a "
      "linear gap and an exponentially decaying |v_BOS|; gradient flow / SGD predict a logarithmic gap and a power-law "
      "|v_BOS|. The form (which law fits better) is the sharp test. The predicted rate c·lr is that of a single scalar "
      "logit; in a network the gap is a product of weights (a query-key inner product over the residual stream), so "
      "its measured rate may differ from c·lr by a model-dependent factor. Cells of the fits read rate / R² (R² on the "
      "values themselves).");
  if (runs.empty()) html.paragraph("No training runs were given to compare with.");
  int idx = 0;
  for (const auto& [label, dir] : runs) {
    ++idx;
    html.section(label, 3);
    const auto [hl, hh] = idx - 1 < (int)heads.size() ? heads[idx - 1] : std::pair<int, int>{0, 0};
    TheoryRunComparison rc = compare_run_to_theory(label, dir, adam_lr, beta2, hl, hh);
    if (!rc.ok) {
      html.paragraph("No comparison for this run: " + rc.problem + ".");
      continue;
    }
    const std::string hyper = rc.optimizer == "sgd" ? fmt::format("lr {}", g4(rc.lr))
                                                    : fmt::format("lr {}, β2 {}", g4(rc.lr), g4(rc.beta2));
    html.paragraph(fmt::format("Head {}. Optimiser {} ({}, from {}); {}; window steps {}–{}.", head_label(rc.layer, rc.head),
                               rc.optimizer, hyper, rc.settings_source, rc.window_note, g4(rc.window_from),
                               g4(rc.window_to)));
    std::vector<std::vector<std::string>> rows;
    for (const auto& q : rc.fits) {
      rows.push_back({q.quantity, std::to_string(q.steps.size()), law_cell(q.fit.log_law), law_cell(q.fit.linear_law),
                      law_cell(q.fit.power_law), law_cell(q.exp_law),
                      fmt::format("{} (of {} vs {})", q.better, q.law_a, q.law_b), q.prediction, q.verdict});
    }
    html.table({"quantity", "points", "log law: slope / R²", "linear law: slope / R²", "power law: exponent / R²",
                "exponential: log-slope / R²", "better law", "theory predicts", "verdict"},
               rows, fmt::format("Growth laws fitted to {}/analysis/heads.csv (layer {}, head {}) in the late phase.", dir,
                                 rc.layer, rc.head));
    html.pre(fmt::format("sinklab theory fit --csv {}/analysis/heads.csv --where layer={} --where head={} "
                         "--y gap_mean,v_bos_norm --from {} --adam-lr {} --adam-beta2 {}",
                         dir, rc.layer, rc.head, rc.window_from, rc.lr, rc.beta2));
    if (!gnuplot_available()) {
      html.paragraph("gnuplot is not available: the figure of the measured curves was not drawn.");
      continue;
    }
    try {
      const std::string png = draw_run(rc, fmt::format("{}/figures/run{}_growth.png", theory_out_dir, idx));
      html.figure(png, label + ": measured gap and |v_BOS| (solid), the two rival laws fitted in the late phase "
                               "(dashed), and the theory's law with its predicted rate placed through the window (grey).");
    } catch (const std::exception& e) {
      html.paragraph(std::string("The figure could not be drawn: ") + e.what());
    }
  }
}

}  // namespace sinklab::report

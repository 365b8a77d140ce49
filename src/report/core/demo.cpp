// The figure/report layer's demonstration (`sinklab report demo`): one of each figure
// kind drawn from synthetic training dynamics with the paper's shape, a claims table,
// a plain table, dynamics.csv and claims.json, in a self-contained demo.html. It checks
// the report layer (and the gnuplot install) without any trained model; nothing in it
// is a measurement.
#include "report/core/demo.h"

#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "io/csv.h"
#include "io/error.h"
#include "io/files.h"
#include "report/core/claims.h"
#include "report/core/figures.h"
#include "report/core/html.h"

namespace sinklab::report {

namespace {


std::vector<double> logspace(double a, double b, int n) {
  std::vector<double> v(n);
  for (int i = 0; i < n; ++i) v[i] = std::pow(10.0, a + (b - a) * i / (n - 1));
  return v;
}

// Synthetic training dynamics with the paper's shape: Markov part learned first,
// then backcopy; then the sink logit gap grows ~log(step) and the BOS value norm
// shrinks.
struct Dynamics {
  std::vector<double> step, loss, loss_trig, loss_non, gap, vnorm, bos_mass, resid;
};
Dynamics synth_dynamics(double drain, double sink, double resid_slope, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0.0, 1.0);
  Dynamics d;
  d.step = logspace(0, 4, 60);
  for (double s : d.step) {
    double markov = 1.0 / (1.0 + std::pow(s / 40.0, 2.0));
    double copy = 1.0 / (1.0 + std::pow(s / 400.0, 3.0));
    double ln = 2.2 + 1.9 * markov + 0.02 * noise(rng);
    double lt = 0.15 + 2.0 * copy + 1.9 * markov + 0.03 * noise(rng);
    d.loss_non.push_back(ln);
    d.loss_trig.push_back(lt);
    d.loss.push_back(0.7 * ln + 0.3 * lt);
    double formed = 1.0 / (1.0 + std::exp(-(std::log10(s) - 2.3) * 5));
    d.gap.push_back(sink * formed * (1.0 + 1.6 * std::log(1 + s / 200.0)) + 0.05 * noise(rng));
    d.vnorm.push_back(3.0 * (1 - drain * formed) / (1.0 + drain * 0.4 * std::log(1 + s / 300.0)) +
                      0.02 * noise(rng));
    d.bos_mass.push_back(0.05 + sink * 0.93 * formed);
    d.resid.push_back(12.0 + resid_slope * s / 1000.0 + 0.1 * noise(rng));
  }
  return d;
}

}  // namespace

int write_demo(const std::string& out, bool svg) {
  ensure_writable_dir(out);
  namespace fs = std::filesystem;
  auto path = [&](const std::string& f) { return (fs::path(out) / f).string(); };
  RenderOptions ro;
  ro.svg = svg;
  std::vector<std::pair<std::string, std::string>> figs;  // file, caption

  // 1. Line plot: losses over steps, log x, bands, oracle line, marker.
  Dynamics adam = synth_dynamics(0.9, 1.0, 8.0, 1);
  {
    LinePlot p;
    p.title = "Training loss, 1-layer softmax attention, Adam";
    p.xlabel = "training step";
    p.ylabel = "cross-entropy (nats/token)";
    p.log_x = true;
    auto band = [](const std::vector<double>& y, double w) {
      std::vector<double> lo, hi;
      for (double v : y) lo.push_back(v - w), hi.push_back(v + w);
      return std::make_pair(lo, hi);
    };
    auto all = Series::line("all positions", adam.step, adam.loss);
    auto [lo, hi] = band(adam.loss, 0.08);
    all.band(lo, hi);
    auto trig = Series::line("trigger positions", adam.step, adam.loss_trig);
    auto non = Series::line("non-trigger positions", adam.step, adam.loss_non);
    p.series = {all, trig, non};
    p.hlines = {{1.55, "oracle loss (all positions)"}};
    p.vlines = {{200, "sink forms"}};
    render(p, path("loss.png"), ro);
    figs.emplace_back("loss.png", "Losses over training (log step axis); shaded: spread over 5 seeds (synthetic).");
  }
  // 2. Line plot with a fitted curve (dashed) through measured points, log x.
  {
    LinePlot p;
    p.title = "Sink logit gap: measured vs fitted a + b log(step)";
    p.xlabel = "training step";
    p.ylabel = "BOS logit − mean other logit";
    p.log_x = true;
    p.legend = Legend::TopLeft;
    // Least-squares fit of gap = a + b log(step) over the late phase.
    double sx = 0, sy = 0, sxx = 0, sxy = 0, m = 0;
    for (std::size_t i = 0; i < adam.step.size(); ++i)
      if (adam.step[i] >= 300) {
        double lx = std::log(adam.step[i]);
        sx += lx, sy += adam.gap[i], sxx += lx * lx, sxy += lx * adam.gap[i], ++m;
      }
    double slope = (m * sxy - sx * sy) / (m * sxx - sx * sx), icpt = (sy - slope * sx) / m;
    std::vector<double> fx, fy;
    for (double s : logspace(std::log10(300), 4, 40)) fx.push_back(s), fy.push_back(icpt + slope * std::log(s));
    auto meas = Series::points("measured", adam.step, adam.gap, 0);
    auto fit = Series::fitted(fmt::format("fit: {:.2f} + {:.2f} log t", icpt, slope), fx, fy, 1);
    p.series = {meas, fit};
    p.vlines = {{300, "fit window starts"}};
    render(p, path("gap_fit.png"), ro);
    figs.emplace_back("gap_fit.png", "Measured sink logit gap (points) with the fitted growth law (dashed).");
  }
  // 2b. Two y axes: the gap rises (left) while the BOS value norm falls (right).
  {
    LinePlot p;
    p.title = "Mutual reinforcement: sink logit gap and BOS value norm";
    p.xlabel = "training step";
    p.ylabel = "BOS logit gap";
    p.y2label = "|v_BOS| (log scale)";
    p.log_x = true;
    p.log_y2 = true;
    p.legend = Legend::Below;
    auto gap = Series::line("logit gap (left axis)", adam.step, adam.gap, 0);
    auto vn = Series::line("BOS value norm (right axis)", adam.step, adam.vnorm, 1);
    vn.y2 = true;
    p.series = {gap, vn};
    p.vlines = {{200, "sink forms"}};
    render(p, path("reinforcement.png"), ro);
    figs.emplace_back("reinforcement.png", "Two y axes: the gap (left) keeps rising as the value norm (right, log) falls.");
  }
  // 3. Small multiples: compare the mitigations.
  {
    SmallMultiples sm;
    sm.title = "Compare the mitigations: BOS attention mass and BOS value norm";
    struct Run {
      const char* name;
      double drain, sink, slope;
    } runs[] = {{"softmax, Adam (1 layer)", 0.9, 1.0, 8}, {"ReLU attention, Adam", 0.05, 0.1, 1},
                {"softmax, SGD (3 layers)", 0.7, 0.9, 0.3}, {"softmax, Adam (3 layers)", 0.9, 1.0, 12}};
    unsigned seed = 10;
    for (auto& r : runs) {
      Dynamics d = synth_dynamics(r.drain, r.sink, r.slope, seed++);
      LinePlot p;
      p.title = r.name;
      p.xlabel = "step";
      p.ylabel = "value";
      p.log_x = true;
      p.series = {Series::line("BOS attention mass", d.step, d.bos_mass),
                  Series::line("|v_BOS| / mean |v_other|", d.step, {})};
      for (double v : d.vnorm) p.series[1].y.push_back(v / 3.0);
      p.hlines = {{0.9, ""}};
      p.legend = Legend::BottomLeft;
      sm.panels.push_back(p);
    }
    sm.same_y_range = true;
    sm.columns = 2;
    render(sm, path("mitigations.png"), ro);
    figs.emplace_back("mitigations.png", "One panel per run; dotted line: the 0.9 sink threshold.");
  }
  // 4. Heatmaps: layer x head sink mass, and a diverging difference map.
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> U(0, 1);
  {
    Heatmap h;
    h.title = "BOS attention mass per head (prose)";
    h.xlabel = "head";
    h.ylabel = "layer";
    h.cbar_label = "mean attention on BOS";
    int L = 30, H = 9;
    for (int l = 0; l < L; ++l) {
      std::vector<double> row;
      for (int k = 0; k < H; ++k) {
        double base = l < 2 ? 0.1 : 0.55 + 0.4 * U(rng);
        row.push_back(std::min(1.0, std::max(0.0, base + 0.1 * (U(rng) - 0.5))));
      }
      h.values.push_back(row);
    }
    h.values[5][3] = NAN;  // a head that was not measured shows as blank
    h.z_range = {0, 1};
    render(h, path("heatmap_sink.png"), ro);
    figs.emplace_back("heatmap_sink.png", "30 layers x 9 heads (SmolLM2-135M shape), synthetic; blank = not measured.");

    Heatmap d;
    d.title = "Sink mass difference: code − prose";
    d.xlabel = "head";
    d.ylabel = "layer";
    d.cbar_label = "Δ BOS mass";
    d.diverging = true;
    for (int l = 0; l < 8; ++l) {
      std::vector<double> row;
      for (int k = 0; k < 8; ++k) row.push_back(0.25 * (U(rng) - 0.5));
      d.values.push_back(row);
    }
    d.values[5][2] = -0.71;
    d.values[3][6] = 0.48;
    for (int l = 0; l < 8; ++l) d.row_labels.push_back("L" + std::to_string(l));
    for (int k = 0; k < 8; ++k) d.col_labels.push_back("H" + std::to_string(k));
    render(d, path("heatmap_diff.png"), ro);
    figs.emplace_back("heatmap_diff.png", "Difference map, diverging palette centred at 0, values annotated.");
  }
  // 5. Attention pattern of a BB-like sequence, triggers marked.
  {
    std::string text = "Tho' \"thee\" be kin,\nlet them speak; & e'en";
    std::vector<std::string> toks = {"<s>"};
    for (char c : text) toks.push_back(std::string(1, c));
    int T = (int)toks.size();
    auto is_trigger = [](const std::string& t) { return t == " " || t == "e" || t == "t"; };
    AttentionPattern a;
    a.title = "Layer 0 head 0: dormant on BOS, active on triggers";
    a.tokens = toks;
    for (int qi = 0; qi < T; ++qi) {
      std::vector<double> w(qi + 1, 0.0);
      bool trig = qi >= 1 && is_trigger(toks[qi]);
      if (qi == 0) {
        w[0] = 1;
      } else if (trig) {
        w[qi - 1] = 0.86;
        w[0] = 0.08;
        double rest = 0.06 / qi;
        for (int k = 0; k <= qi; ++k) w[k] += rest;
        a.marked_queries.push_back(qi);
      } else {
        w[0] = 0.94;
        double rest = 0.06 / qi;
        for (int k = 1; k <= qi; ++k) w[k] += rest;
      }
      a.weights.push_back(w);
    }
    render(a, path("attention.png"), ro);
    figs.emplace_back("attention.png", "Query x key attention weights; dots mark trigger queries (space, e, t).");
  }
  // 6. Bar plots: per-position value norms (BOS highlighted), residual norms per layer.
  {
    BarPlot b;
    b.title = "Value-state norm per position (value drain)";
    b.xlabel = "position";
    b.ylabel = "‖W_V x‖";
    std::vector<double> v;
    for (int i = 0; i < 32; ++i) v.push_back(i == 0 ? 0.21 : 2.6 + 0.5 * (U(rng) - 0.5));
    b.series = {{"other tokens", v, {}}};
    b.highlight = {0};
    b.highlight_label = "BOS";
    render(b, path("value_norms.png"), ro);
    figs.emplace_back("value_norms.png", "The BOS value state is ~10x smaller than the others'.");

    BarPlot g;
    g.title = "Residual-stream norm after each layer";
    g.xlabel = "layer";
    g.ylabel = "‖h‖ (log scale)";
    g.log_y = true;
    g.categories = {"embed", "L0", "L1", "L2"};
    g.series = {{"BOS", {3.1, 95.0, 180.0, 210.0}, {0.2, 6.0, 9.0, 12.0}},
                {"other tokens (mean ± sd)", {3.3, 11.0, 16.0, 21.0}, {0.4, 2.0, 2.5, 3.0}}};
    g.legend = Legend::TopLeft;
    render(g, path("residual_norms.png"), ro);
    figs.emplace_back("residual_norms.png", "Residual peak: BOS vs other tokens, grouped bars with error bars.");
  }
  // 7. Vector field: the reduced model's gradient flow in (alpha, |beta|).
  {
    const double n = 8, s2 = 1.0;
    auto flow = [&](double a, double b, double& da, double& db) {
      double E = std::exp(a), w = E / (E + n);
      da = n * E * (s2 - E * b * b) / std::pow(E + n, 3);
      db = -w * w * b;
    };
    VectorField f;
    f.title = "Reduced model: gradient flow of (α, |β|)";
    f.xlabel = "sink logit α";
    f.ylabel = "sink value norm |β|";
    for (int i = 0; i < 17; ++i)
      for (int j = 0; j < 13; ++j) {
        double a = -2 + 8.0 * i / 16, b = 0.05 + 1.95 * j / 12, da, db;
        flow(a, b, da, db);
        f.x.push_back(a), f.y.push_back(b), f.dx.push_back(da), f.dy.push_back(db);
      }
    double starts[][2] = {{-1.5, 1.8}, {0.5, 1.2}, {-1.0, 0.4}, {2.0, 1.9}};
    int k = 0;
    for (auto& st : starts) {
      Series t;
      t.name = fmt::format("start ({:.1f}, {:.1f})", st[0], st[1]);
      double a = st[0], b = st[1];
      for (int it = 0; it < 200000 && a < 6; ++it) {
        if (it % 10 == 0) t.x.push_back(a), t.y.push_back(b);
        double da, db;
        flow(a, b, da, db);
        a += 0.2 * da, b += 0.2 * db;
      }
      t.x.push_back(a), t.y.push_back(b);
      f.trajectories.push_back(t);
      ++k;
    }
    f.x_range = {-2.2, 6.2};
    f.y_range = {0, 2.05};
    f.legend = Legend::TopRight;
    render(f, path("phase_portrait.png"), ro);
    figs.emplace_back("phase_portrait.png", "Arrows: flow direction (colour: speed); lines: trajectories from 4 starts.");
  }

  // CSV of the numbers behind the dynamics figures.
  write_csv_columns(path("dynamics.csv"), {"step", "loss", "loss_trigger", "loss_nontrigger", "gap", "vnorm"},
                        {adam.step, adam.loss, adam.loss_trig, adam.loss_non, adam.gap, adam.vnorm});

  // Claims (synthetic) and the report.
  std::vector<Claim> claims = {
      {"C1", "Dormant at non-trigger, active at trigger queries", "BOS mass at non-trigger queries", 0.94, ">= 0.9",
       Verdict::PASS, "prev-token mass at triggers 0.86 (>= 0.8)", {}, {}},
      {"C2", "BOS value state drains", "|v_BOS| / mean |v_other|", 0.08, "<= 0.3", Verdict::PASS, "", {}, {}},
      {"C6", "ReLU attention has no sink", "BOS share at non-trigger queries", 0.62, "<= 0.5", Verdict::FAIL,
       "synthetic example of a failing claim", {}, {}},
      {"C7", "SGD removes the residual peak", "relative change of BOS residual norm", NAN, "<= 5%",
       Verdict::NOT_RUN, "run skipped in the demo", {}, {}}};
  write_claims_json(path("claims.json"), claims);

  HtmlReport r("sinklab report demo", "Every figure kind of the report layer, drawn from synthetic data.");
  r.section("Claims").claims(claims);
  r.section("Figures");
  for (auto& [f, c] : figs) r.figure(path(f), c);
  r.section("Tables");
  r.table({"run", "optimizer", "final loss", "verdict"},
          {{"softmax-1L", "Adam", "2.071", "PASS"}, {"relu-1L", "Adam", "2.113", "FAIL"}, {"sgd-3L", "SGD", "2.30", "NOT_RUN"}},
          "A plain table: verdict cells are coloured automatically.");
  r.pre("sinklab report demo --out " + out + (svg ? " --svg" : ""));
  r.write(path("demo.html"));
  return (int)figs.size();
}


}  // namespace sinklab::report

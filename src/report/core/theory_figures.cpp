#include "report/core/theory_figures.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include <nlohmann/json.hpp>

#include "analysis/core/growth_fit.h"
#include "io/error.h"
#include "io/json_io.h"
#include "report/core/figures.h"

namespace sinklab::report {
namespace {

namespace fs = std::filesystem;

struct Table {
  CsvTable t;
  bool ok = false;
  std::vector<double> col(const std::string& name) const {
    std::vector<double> out;
    const int c = t.column(name);
    if (c < 0) return out;
    for (const auto& r : t.rows) out.push_back(r[c]);
    return out;
  }
};

Table load(const std::string& path) {
  Table T;
  if (!fs::exists(path)) return T;
  T.t = read_numeric_csv(path);
  T.ok = true;
  return T;
}

// Drops t <= 0 and non-finite y (log axes, and fitted columns that are empty).
Series series(const std::string& name, const std::vector<double>& x, const std::vector<double>& y, SeriesStyle st,
              int color, bool positive_y = false) {
  Series s;
  s.name = name;
  s.style = st;
  s.color = color;
  for (size_t i = 0; i < x.size() && i < y.size(); ++i)
    if (x[i] > 0 && std::isfinite(y[i]) && (!positive_y || y[i] > 0)) s.x.push_back(x[i]), s.y.push_back(y[i]);
  return s;
}

}  // namespace

std::vector<std::string> draw_theory_figures(const std::string& dir) {
  require(fs::exists(dir + "/summary.json"), "'" + dir + "': not a sinklab theory output (no summary.json)");
  const auto S = read_json_file(dir + "/summary.json");
  const std::string figs = dir + "/figures";
  std::vector<std::string> out;
  const std::vector<std::string> methods{"flow", "gd", "sgd", "adam"};
  const std::map<std::string, int> color{{"flow", 0}, {"gd", 1}, {"sgd", 2}, {"adam", 3}};
  const std::map<std::string, std::string> label{
      {"flow", "gradient flow"}, {"gd", "GD (t = lr step)"}, {"sgd", "SGD (t = lr step)"}, {"adam", "Adam"}};

  // 1-2. Free dynamics of alpha and |beta| (flow, GD, SGD) with fits and theory.
  {
    LinePlot pa, pb;
    pa.title = "Sink logit alpha, free dynamics: alpha ~ 1/2 log(2 K t)";
    pa.xlabel = "t";
    pa.ylabel = "alpha (sink logit)";
    pa.log_x = true;
    pa.legend = Legend::TopLeft;
    pb.title = "Sink value norm: |beta| ~ E[n] |mu| / sqrt(2 K t)";
    pb.xlabel = "t";
    pb.ylabel = "|beta| (sink value norm)";
    pb.log_x = pb.log_y = true;
    pb.legend = Legend::BottomLeft;
    bool any = false;
    std::vector<double> tt;
    for (const auto& m : {"flow", "gd", "sgd"}) {
      const auto T = load(dir + "/trajectories/free_" + std::string(m) + ".csv");
      if (!T.ok) continue;
      any = true;
      const auto t = T.col("t");
      if (t.size() > tt.size()) tt = t;
      pa.series.push_back(series(label.at(m), t, T.col("alpha"), SeriesStyle::Line, color.at(m)));
      pa.series.push_back(series("", t, T.col("alpha_fit"), SeriesStyle::Fitted, color.at(m)));
      pb.series.push_back(series(label.at(m), t, T.col("beta_norm"), SeriesStyle::Line, color.at(m), true));
      pb.series.push_back(series("", t, T.col("beta_norm_fit"), SeriesStyle::Fitted, color.at(m), true));
    }
    if (any) {
      const auto T = load(dir + "/trajectories/free_flow.csv");
      if (T.ok) {
        pa.series.push_back(series("theory 1/2 log(2Kt)", T.col("t"), T.col("alpha_theory"), SeriesStyle::Fitted, 6));
        pb.series.push_back(
            series("theory", T.col("t"), T.col("beta_norm_theory"), SeriesStyle::Fitted, 6, true));
      }
      pa.series.erase(std::remove_if(pa.series.begin(), pa.series.end(), [](const Series& s) { return s.x.empty(); }),
                      pa.series.end());
      pb.series.erase(std::remove_if(pb.series.begin(), pb.series.end(), [](const Series& s) { return s.x.empty(); }),
                      pb.series.end());
      out.push_back(render(pa, figs + "/theory_alpha.png").png);
      out.push_back(render(pb, figs + "/theory_beta.png").png);
    }
  }

  // 3. Counterfactuals (gradient flow, else the first method present).
  for (const auto& m : methods) {
    const auto F = load(dir + "/trajectories/free_" + m + ".csv");
    const auto FB = load(dir + "/trajectories/freeze_beta_" + m + ".csv");
    const auto FA = load(dir + "/trajectories/freeze_alpha_" + m + ".csv");
    if (!F.ok && !FB.ok && !FA.ok) continue;
    SmallMultiples sm;
    sm.title = "Mutual reinforcement (" + label.at(m) + "): freeze one variable, the other stalls";
    LinePlot a, b;
    a.title = "sink logit alpha";
    a.xlabel = b.xlabel = m == "adam" ? "step" : "t";
    a.ylabel = "alpha";
    b.title = "sink value norm |beta|";
    b.ylabel = "|beta|";
    a.log_x = b.log_x = b.log_y = true;
    a.legend = Legend::TopLeft;
    int c = 0;
    for (auto [name, T] : {std::pair<std::string, const Table*>{"free", &F}, {"beta frozen", &FB},
                           {"alpha frozen", &FA}}) {
      if (T->ok) {
        a.series.push_back(series(name, T->col("t"), T->col("alpha"), SeriesStyle::Line, c));
        b.series.push_back(series(name, T->col("t"), T->col("beta_norm"), SeriesStyle::Line, c, true));
      }
      ++c;
    }
    sm.panels = {a, b};
    sm.columns = 2;
    out.push_back(render(sm, figs + "/theory_counterfactuals.png").png);
    break;
  }

  // 4. Adam: linear growth of alpha in steps, exponential drain of |beta|.
  {
    const auto T = load(dir + "/trajectories/free_adam.csv");
    if (T.ok) {
      SmallMultiples sm;
      sm.title = "Adam: alpha grows linearly in steps (slope c lr), |beta| decays exponentially";
      LinePlot a, b;
      a.title = "sink logit alpha";
      a.xlabel = b.xlabel = "step";
      a.ylabel = "alpha";
      b.title = "sink value norm |beta|";
      b.ylabel = "|beta|";
      b.log_y = true;
      a.legend = Legend::TopLeft;
      const auto t = T.col("t");
      a.series.push_back(series("Adam", t, T.col("alpha"), SeriesStyle::Line, 3));
      a.series.push_back(series("linear fit", t, T.col("alpha_fit"), SeriesStyle::Fitted, 1));
      a.series.push_back(series("theory slope c lr", t, T.col("alpha_theory"), SeriesStyle::Fitted, 6));
      b.series.push_back(series("Adam", t, T.col("beta_norm"), SeriesStyle::Line, 3, true));
      b.series.push_back(series("exponential fit", t, T.col("beta_norm_fit"), SeriesStyle::Fitted, 1, true));
      for (auto* p : {&a, &b})
        p->series.erase(std::remove_if(p->series.begin(), p->series.end(), [](const Series& s) { return s.x.empty(); }),
                        p->series.end());
      if (S.contains("predictions")) {
        const double lim = S["predictions"]["adam"].value("linear_phase_ends_near_alpha", NAN);
        if (std::isfinite(lim)) a.hlines.push_back({lim, "eps limit"});
      }
      a.y_range = {0, kAuto};
      sm.panels = {a, b};
      sm.columns = 2;
      out.push_back(render(sm, figs + "/theory_adam.png").png);
    }
  }

  // 5. Phase portrait on the invariant plane beta = b mu/|mu|.
  {
    const auto F = load(dir + "/phase_field.csv");
    if (F.ok) {
      VectorField v;
      v.title = "Phase portrait of gradient flow on the plane beta = b mu/|mu|";
      v.xlabel = "alpha (sink logit)";
      v.ylabel = "b = beta . mu/|mu|";
      v.x = F.col("alpha");
      v.y = F.col("beta_par");
      v.dx = F.col("d_alpha");
      v.dy = F.col("d_beta");
      v.legend = Legend::BottomRight;
      double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
      for (size_t i = 0; i < v.x.size(); ++i) {
        xmin = std::min(xmin, v.x[i]), xmax = std::max(xmax, v.x[i]);
        ymin = std::min(ymin, v.y[i]), ymax = std::max(ymax, v.y[i]);
      }
      v.x_range = {xmin, xmax};
      v.y_range = {ymin, ymax};
      const auto P = load(dir + "/phase_trajectories.csv");
      if (P.ok) {
        const auto id = P.col("traj"), a = P.col("alpha"), b = P.col("beta_par");
        std::map<int, Series> by;
        for (size_t i = 0; i < id.size(); ++i) {
          auto& s = by[int(id[i])];
          s.x.push_back(a[i]);
          s.y.push_back(b[i]);
          s.color = 1;
          s.width = 1.5;
        }
        bool first = true;
        for (auto& [k, s] : by) {
          if (s.x.size() < 2) continue;
          if (first) s.name = "flow trajectories", first = false;
          v.trajectories.push_back(s);
        }
      }
      const auto M = load(dir + "/slow_manifold.csv");
      if (M.ok) {
        Series s;
        s.name = "slow manifold beta*(alpha)";
        s.color = 2;
        s.style = SeriesStyle::Fitted;
        const auto a = M.col("alpha"), b = M.col("beta_par");
        for (size_t i = 0; i < a.size(); ++i)
          if (b[i] >= ymin && b[i] <= ymax) s.x.push_back(a[i]), s.y.push_back(b[i]);
        if (s.x.size() >= 2) v.trajectories.push_back(s);
      }
      out.push_back(render(v, figs + "/theory_phase_portrait.png").png);
    }
  }
  require(!out.empty(), "'" + dir + "': no theory trajectories to draw");
  return out;
}

}  // namespace sinklab::report

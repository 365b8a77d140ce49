#include "report/llm_series_report.h"

#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include "analysis/core/heads.h"
#include "io/csv.h"
#include "report/core/figures.h"
#include "report/core/html.h"

namespace sinklab::report {

std::vector<Emergence> emergence_steps(const llm::SeriesResult& r) {
  std::vector<Emergence> out;
  for (size_t d = 0; d < r.domain_names.size(); ++d) {
    Emergence e;
    e.domain = r.domain_names[d];
    auto holds_from = [](int64_t& slot, int64_t step, bool yes) {
      if (!yes)
        slot = -1;
      else if (slot < 0)
        slot = step;
    };
    for (const auto& c : r.checkpoints) {
      if (d >= c.domains.size()) continue;
      const auto& ds = c.domains[d];
      holds_from(e.sink_heads, c.step, ds.sink_heads > 0);
      holds_from(e.dormant, c.step, ds.dormant > 0);
      holds_from(e.half_sink, c.step, 2 * ds.sink_heads >= ds.heads);
      holds_from(e.resid_peak, c.step, ds.max_resid_ratio >= 2);
    }
    out.push_back(e);
  }
  return out;
}

std::vector<std::string> write_series_report(const std::string& out_dir, const llm::SeriesResult& r,
                                             const SeriesTraining* training) {
  namespace fs = std::filesystem;
  const double threshold = r.opt.scan.dormant_threshold;
  CsvWriter heads({"step", "path", "domain", "layer", "head", "sink_mass", "class", "v_ratio"});
  CsvWriter summary({"step", "domain", "dormant_heads", "heads", "mean_sink_mass", "max_resid_ratio",
                     "max_resid_layer", "docs", "sink_heads", "mean_v_ratio", "max_over_median", "kurtosis_resid",
                     "kurtosis_attn", "loss", "loss_w8a8", "w8a8_increase"});
  CsvWriter layers({"step", "domain", "layer", "resid_sink", "resid_other", "resid_ratio", "sink_top_dim",
                    "sink_top_val", "max_over_median", "kurtosis_resid", "kurtosis_attn"});
  const size_t nd = r.domain_names.size();
  std::vector<double> steps;
  std::vector<std::vector<double>> dormant_frac(nd), mean_mass(nd), resid(nd), sink_frac(nd), vratio(nd);
  for (const auto& c : r.checkpoints) {
    steps.push_back((double)c.step);
    for (size_t d = 0; d < c.domains.size(); ++d) {
      const auto& ds = c.domains[d];
      for (const auto& h : ds.per_head)
        heads.add_row({c.step, c.path, ds.name, h.layer, h.head, h.sink_mass, head_state(h.sink_mass, threshold),
                       h.v_ratio});
      summary.add_row({c.step, ds.name, ds.dormant, ds.heads, ds.mean_sink_mass, ds.max_resid_ratio,
                       ds.max_resid_layer, ds.docs, ds.sink_heads, ds.mean_v_ratio, ds.outliers.max_over_median,
                       ds.outliers.kurtosis_resid, ds.outliers.kurtosis_attn, ds.outliers.loss, ds.outliers.loss_w8a8,
                       ds.outliers.w8a8_increase});
      for (const auto& l : ds.per_layer) {
        const OutlierLayer* o = (size_t)l.layer < ds.outliers.layers.size() ? &ds.outliers.layers[l.layer] : nullptr;
        layers.add_row({c.step, ds.name, l.layer, l.resid_sink, l.resid_other,
                        l.resid_other > 0 ? l.resid_sink / l.resid_other : 0.0, l.sink_top_dim, l.sink_top_val,
                        o ? o->max_over_median : std::nan(""), o ? o->kurtosis_resid : std::nan(""),
                        o ? o->kurtosis_attn : std::nan("")});
      }
      sink_frac[d].push_back((double)ds.sink_heads / ds.heads);
      vratio[d].push_back(ds.mean_v_ratio);
      dormant_frac[d].push_back((double)ds.dormant / ds.heads);
      mean_mass[d].push_back(ds.mean_sink_mass);
      resid[d].push_back(ds.max_resid_ratio);
    }
  }
  fs::create_directories(fs::path(out_dir) / "figures");
  std::vector<std::string> written;
  auto out = [&](const std::string& name) { return written.emplace_back((fs::path(out_dir) / name).string()); };
  heads.write(out("series_heads.csv"));
  summary.write(out("series_summary.csv"));
  layers.write(out("series_layers.csv"));

  HtmlReport rep(training ? training->title : "sinklab llm scan-series",
                 fmt::format("{} checkpoints, {} documents x {} tokens per domain, sink position {}",
                             r.checkpoints.size(), r.opt.scan.docs, r.opt.scan.ctx, r.opt.scan.sink_pos));
  auto step_text = [](int64_t s) { return s < 0 ? std::string("never") : std::to_string(s); };
  {
    rep.section("When each phenomenon appears");
    std::vector<std::vector<std::string>> rows;
    CsvWriter em({"domain", "first_sink_head", "first_dormant_head", "half_heads_sinks", "first_resid_peak"});
    for (const auto& e : emergence_steps(r)) {
      rows.push_back({e.domain, step_text(e.sink_heads), step_text(e.dormant), step_text(e.half_sink),
                      step_text(e.resid_peak)});
      em.add_row({e.domain, e.sink_heads, e.dormant, e.half_sink, e.resid_peak});
    }
    em.write(out("emergence.csv"));
    rep.table({"domain", fmt::format("a sink head (mass > {}) from", r.opt.sink_epsilon),
               fmt::format("a dormant head (mass >= {}) from", threshold), "half of the heads sinks from",
               "a residual peak (ratio >= 2) from"},
              rows, "the checkpoint step from which each holds at every later checkpoint; 'never': not at "
              "the last one");
  }
  rep.section("Checkpoints");
  std::vector<std::vector<std::string>> rows;
  for (auto& c : r.checkpoints) rows.push_back({std::to_string(c.step), c.model_type, c.path});
  rep.table({"step", "model_type", "path"}, rows, "ordered by step");
  if (gnuplot_available() && !steps.empty()) {
    const bool logx = steps.front() > 0;
    auto panel = [&](const std::string& title, const std::string& ylabel, const std::vector<std::vector<double>>& ys,
                     const std::string& file) {
      LinePlot p;
      p.title = title, p.xlabel = "training step", p.ylabel = ylabel, p.log_x = logx;
      for (size_t d = 0; d < ys.size(); ++d) {
        auto s = Series::line(r.domain_names[d], steps, ys[d], (int)d);
        s.style = SeriesStyle::LinePoints;
        p.series.push_back(s);
      }
      rep.figure(try_render(p, (fs::path(out_dir) / "figures" / file).string()), title, 60);
    };
    rep.section("Sinks over training");
    panel(fmt::format("Dormant heads (sink mass >= {})", threshold), "fraction of heads", dormant_frac,
          "dormant_fraction.png");
    panel(fmt::format("Sink heads (Gu et al.: mean attention on the sink > {})", r.opt.sink_epsilon),
          "fraction of heads", sink_frac, "sink_heads.png");
    panel("Mean attention on the sink", "mean sink mass over heads", mean_mass, "mean_sink_mass.png");
    panel("Value drain", "mean over heads of |v sink| / |v others|", vratio, "value_ratio.png");
    panel("Residual-state peak", "max over layers of |resid sink| / |resid others|", resid, "resid_peak.png");
    if (training && !training->steps.empty()) {
      LinePlot p;
      p.title = "Held-out loss", p.xlabel = "training step", p.ylabel = "nats per token", p.log_x = logx;
      std::vector<double> xs(training->steps.begin(), training->steps.end());
      int k = 0;
      for (const auto& [name, ys] : training->val_loss) {
        auto sr = Series::line(name.empty() ? "mean" : name, xs, ys, k++);
        sr.style = SeriesStyle::LinePoints;
        p.series.push_back(sr);
      }
      rep.figure(try_render(p, (fs::path(out_dir) / "figures" / "val_loss.png").string()), "Held-out loss", 60);
    }
  } else {
    rep.paragraph("gnuplot was not found: figures are omitted; every number is in the CSV files.");
  }
  rep.section("Files");
  rep.paragraph("series_summary.csv (per checkpoint and domain; with the outlier metrics: the largest max|x| / "
                "median|x| of the residual stream over layers, mean kurtosis of the residual stream and the attention "
                "output, and the loss in float and under simulated W8A8), series_heads.csv (per checkpoint, domain, "
                "layer, head), series_layers.csv (per checkpoint, domain and layer: residual norms at the sink and "
                "elsewhere, the sink's largest activation and its dimension, max/median and kurtosis).");
  for (const auto& w : rep.warnings()) fmt::print(stderr, "sinklab: warning: {}\n", w);
  rep.write(out("report.html"));
  return written;
}

}  // namespace sinklab::report

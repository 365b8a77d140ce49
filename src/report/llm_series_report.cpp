#include "report/llm_series_report.h"

#include <filesystem>

#include <fmt/format.h>

#include "analysis/core/heads.h"
#include "io/csv.h"
#include "report/core/figures.h"
#include "report/core/html.h"

namespace sinklab::report {

std::vector<std::string> write_series_report(const std::string& out_dir, const llm::SeriesResult& r) {
  namespace fs = std::filesystem;
  const double threshold = r.opt.scan.dormant_threshold;
  CsvWriter heads({"step", "path", "domain", "layer", "head", "sink_mass", "class", "v_ratio"});
  CsvWriter summary({"step", "domain", "dormant_heads", "heads", "mean_sink_mass", "max_resid_ratio",
                     "max_resid_layer", "docs"});
  const size_t nd = r.domain_names.size();
  std::vector<double> steps;
  std::vector<std::vector<double>> dormant_frac(nd), mean_mass(nd), resid(nd);
  for (const auto& c : r.checkpoints) {
    steps.push_back((double)c.step);
    for (size_t d = 0; d < c.domains.size(); ++d) {
      const auto& ds = c.domains[d];
      for (const auto& h : ds.per_head)
        heads.add_row({c.step, c.path, ds.name, h.layer, h.head, h.sink_mass, head_state(h.sink_mass, threshold),
                       h.v_ratio});
      summary.add_row({c.step, ds.name, ds.dormant, ds.heads, ds.mean_sink_mass, ds.max_resid_ratio,
                       ds.max_resid_layer, ds.docs});
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

  HtmlReport rep("sinklab llm scan-series",
                 fmt::format("{} checkpoints, {} documents x {} tokens per domain, sink position {}",
                             r.checkpoints.size(), r.opt.scan.docs, r.opt.scan.ctx, r.opt.scan.sink_pos));
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
    panel("Mean attention on the sink", "mean sink mass over heads", mean_mass, "mean_sink_mass.png");
    panel("Residual-state peak", "max over layers of |resid sink| / |resid others|", resid, "resid_peak.png");
  } else {
    rep.paragraph("gnuplot was not found: figures are omitted; every number is in the CSV files.");
  }
  rep.section("Files");
  rep.paragraph("series_summary.csv (per checkpoint and domain), series_heads.csv (per checkpoint, domain, layer, head).");
  for (const auto& w : rep.warnings()) fmt::print(stderr, "sinklab: warning: {}\n", w);
  rep.write(out("report.html"));
  return written;
}

}  // namespace sinklab::report

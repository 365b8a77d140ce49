#include "report/toy_figures.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "analysis/core/heads.h"
#include "analysis/run_analysis.h"
#include "model/transformer.h"
#include "report/core/figures.h"

namespace sinklab {

using namespace report;

std::vector<report::FigureResult> draw_dynamics(const RunAnalysis& a, const std::string& out, const std::string& title) {
  std::vector<report::FigureResult> files;
  if (a.series.empty()) return files;
  std::vector<double> steps;
  for (auto& m : a.series) steps.push_back(std::max<double>(1.0, (double)m.step));  // step 0 drawn at 1 on log x
  auto col = [&](auto f) {
    std::vector<double> v;
    for (auto& m : a.series) v.push_back(f(m));
    return v;
  };
  {
    LinePlot p;
    p.title = title + ": loss (excess over the Bayes oracle)";
    p.xlabel = "step", p.ylabel = "excess loss (nats/token)", p.log_x = true, p.log_y = true;
    p.series.push_back(Series::line("all", steps, col([](auto& m) { return m.loss.excess; })));
    p.series.push_back(Series::line("trigger (active)", steps, col([](auto& m) { return m.loss.excess_trigger; })));
    p.series.push_back(
        Series::line("non-trigger (dormant)", steps, col([](auto& m) { return m.loss.excess_nontrigger; })));
    files.push_back(try_render(p, out + "/dyn_loss.png"));
  }
  const auto& first = a.series.front();
  LinePlot mass, gap, val;
  mass.title = title + ": attention mass";
  mass.xlabel = "step", mass.ylabel = "mean attention weight", mass.log_x = true, mass.y_range = {0, 1.02};
  mass.legend = Legend::OutsideRight;
  gap.title = title + ": BOS logit gap at non-trigger queries";
  gap.xlabel = "step", gap.ylabel = "BOS logit - mean other logit", gap.log_x = true;
  val.title = title + ": value-state norms";
  val.xlabel = "step", val.ylabel = "|v|", val.log_x = true, val.log_y = true;
  for (size_t k = 0; k < first.heads.size(); ++k) {
    const int L = first.heads[k].layer, H = first.heads[k].head;
    std::string tag = first.heads.size() > 1 ? head_label(L, H) + " " : "";
    auto hcol = [&](auto f) { return col([&](auto& m) { return f(m.heads[k]); }); };
    int c = (int)k * 3;
    mass.series.push_back(Series::line(tag + "BOS @ non-trigger", steps, hcol([](auto& h) { return h.bos_mass_nontrigger; }), c));
    mass.series.push_back(Series::line(tag + "BOS @ trigger", steps, hcol([](auto& h) { return h.bos_mass_trigger; }), c + 1));
    mass.series.push_back(Series::line(tag + "prev @ trigger", steps, hcol([](auto& h) { return h.prev_mass_trigger; }), c + 2));
    auto gm = hcol([](auto& h) { return h.gap_mean; }), gs = hcol([](auto& h) { return h.gap_std; });
    std::vector<double> lo(gm.size()), hi(gm.size());
    for (size_t i = 0; i < gm.size(); ++i) lo[i] = gm[i] - gs[i], hi[i] = gm[i] + gs[i];
    gap.series.push_back(Series::line(tag + "mean +- sd over queries", steps, gm, (int)k).band(lo, hi));
    val.series.push_back(Series::line(tag + "|v_BOS|", steps, hcol([](auto& h) { return h.v_bos_norm; }), 2 * (int)k));
    val.series.push_back(Series::line(tag + "mean |v_other|", steps, hcol([](auto& h) { return h.v_other_norm; }), 2 * (int)k + 1));
  }
  if (!first.heads.empty()) {
    files.push_back(try_render(mass, out + "/dyn_attention.png"));
    files.push_back(try_render(gap, out + "/dyn_logit_gap.png"));
    files.push_back(try_render(val, out + "/dyn_value_norm.png"));
  }
  LinePlot res;
  res.title = title + ": residual-state norms after each layer";
  res.xlabel = "step", res.ylabel = "|x|", res.log_x = true;
  res.legend = Legend::OutsideRight;
  for (size_t l = 0; l < first.layers.size(); ++l) {
    res.series.push_back(Series::line(fmt::format("BOS, layer {}", l), steps,
                                      col([&](auto& m) { return m.layers[l].resid_bos; }), 2 * (int)l));
    auto s = Series::line(fmt::format("others, layer {}", l), steps,
                          col([&](auto& m) { return m.layers[l].resid_other; }), 2 * (int)l + 1);
    s.style = SeriesStyle::LinePoints;
    res.series.push_back(s);
  }
  files.push_back(try_render(res, out + "/dyn_residual_norm.png"));
  return files;
}

std::vector<report::FigureResult> draw_snapshot(const LoadedRun& run, const EvalBatch& eval, const std::string& out,
                                       const std::string& title, int n_positions) {
  torch::NoGradGuard ng;
  std::vector<report::FigureResult> files;
  const auto& s = run.model->spec();
  const int64_t T = std::min<int64_t>(n_positions, eval.is_trigger.size(1));
  auto toks = eval.tokens.narrow(0, 0, 1).narrow(1, 0, T);
  Hooks h;
  for (int l = 0; l < s.n_layers; ++l) {
    h.record(HookPoint::ResidPost, l);
    if (s.layers[l].attn) h.record(HookPoint::Pattern, l), h.record(HookPoint::V, l);
  }
  run.model->forward(toks, &h);
  std::vector<std::string> labels;
  std::vector<int> trig;
  for (int64_t t = 0; t < T; ++t) {
    labels.push_back(run.task->token_string(toks[0][t].item<int64_t>()));
    if (eval.is_trigger[0][t].item<bool>()) trig.push_back((int)t);
  }
  for (int l = 0; l < s.n_layers; ++l) {
    if (!s.layers[l].attn) continue;
    auto pat = h.get(HookPoint::Pattern, l).to(torch::kFloat64);
    auto v = h.get(HookPoint::V, l).to(torch::kFloat64);
    for (int hd = 0; hd < s.n_heads; ++hd) {
      AttentionPattern ap;
      ap.title = fmt::format("{}: layer {} head {}, step {}", title, l, hd, run.step);
      ap.tokens = labels;
      ap.marked_queries = trig;
      ap.weights.assign(T, std::vector<double>(T, 0.0));
      for (int64_t i = 0; i < T; ++i)
        for (int64_t j = 0; j <= i; ++j) ap.weights[i][j] = pat[0][hd][i][j].item<double>();
      files.push_back(try_render(ap, fmt::format("{}/pattern_L{}H{}.png", out, l, hd)));
      BarPlot vb;
      vb.title = fmt::format("{}: value-state norm per position, layer {} head {}", title, l, hd);
      vb.xlabel = "position (token)", vb.ylabel = "|v|";
      vb.categories = labels;
      BarSeries bs;
      bs.name = "|v|";
      for (int64_t t = 0; t < T; ++t) bs.values.push_back(v[0][t][hd].norm().item<double>());
      vb.series.push_back(bs);
      vb.highlight = {0};
      vb.label_limit = 64;
      files.push_back(try_render(vb, fmt::format("{}/value_norm_L{}H{}.png", out, l, hd)));
    }
  }
  BarPlot rb;
  rb.title = fmt::format("{}: residual-state norm per position, step {}", title, run.step);
  rb.xlabel = "position (token)", rb.ylabel = "|x| after the layer";
  rb.categories = labels;
  rb.label_limit = 64;
  rb.legend = Legend::TopRight;
  for (int l = 0; l < s.n_layers; ++l) {
    auto r = h.get(HookPoint::ResidPost, l).to(torch::kFloat64);
    BarSeries bs;
    bs.name = fmt::format("layer {}", l);
    for (int64_t t = 0; t < T; ++t) bs.values.push_back(r[0][t].norm().item<double>());
    rb.series.push_back(bs);
  }
  files.push_back(try_render(rb, out + "/residual_norm.png"));
  return files;
}

}  // namespace sinklab

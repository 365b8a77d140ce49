#include "report/llm_report.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include <fmt/format.h>

#include "analysis/core/heads.h"
#include "io/error.h"
#include "io/csv.h"
#include "report/core/figures.h"
#include "report/core/html.h"

namespace sinklab::report {

using llm::HeadDoc;
using llm::LayerDoc;
using llm::ScanResult;

namespace {

std::string cfg_name(const ScanResult& r) { return r.opt.add_bos ? "bos" : "no-bos"; }

const llm::AblationResult* find_ablation(const llm::AblationRun* run, const llm::HeadRef& h, Intervention k, int dom) {
  if (!run) return nullptr;
  for (auto& a : run->results)
    if (a.head == h && a.kind == k && a.domain == dom) return &a;
  return nullptr;
}

void head_rows(const ScanResult& r, CsvWriter& w) {
  for (size_t d = 0; d < r.domains.size(); ++d) {
    const auto& dom = r.domains[d];
    for (int l = 0; l < r.n_layers; ++l)
      for (int h = 0; h < r.n_heads; ++h) {
        auto m = [&](double HeadDoc::*f) { return llm::head_mean(dom, r.n_heads, l, h, f); };
        auto ci = llm::bootstrap_mean(llm::head_values(dom, r.n_heads, l, h, &HeadDoc::sink_mass), 1000,
                                      1234 + l * 1000 + h);
        w.add_row({cfg_name(r), dom.name, l, h, ci.mean, ci.lo, ci.hi, m(&HeadDoc::top1), m(&HeadDoc::top2),
                   m(&HeadDoc::row_entropy), m(&HeadDoc::col_entropy), m(&HeadDoc::v_sink), m(&HeadDoc::v_other),
                   m(&HeadDoc::v_sink) / m(&HeadDoc::v_other), m(&HeadDoc::gap_mean), m(&HeadDoc::gap_std),
                   head_state(ci.mean, r.opt.dormant_threshold)});
      }
  }
}

void head_doc_rows(const ScanResult& r, CsvWriter& w) {
  for (auto& dom : r.domains)
    for (size_t di = 0; di < dom.heads.size(); ++di)
      for (int l = 0; l < r.n_layers; ++l)
        for (int h = 0; h < r.n_heads; ++h) {
          const auto& o = dom.heads[di][(size_t)l * r.n_heads + h];
          w.add_row({cfg_name(r), dom.name, (int)di, l, h, o.sink_mass, o.top1, o.top2, o.row_entropy, o.col_entropy,
                     o.v_sink, o.v_other, o.gap_mean, o.gap_std});
        }
}

void layer_rows(const ScanResult& r, CsvWriter& w) {
  for (auto& dom : r.domains)
    for (int l = 0; l < r.n_layers; ++l) {
      auto m = [&](double LayerDoc::*f) { return llm::layer_mean(dom, l, f); };
      // The sink's top dims and values, and the peak position, from the first document;
      // magnitudes averaged over documents.
      std::map<int, int> dim_count, pos_count;
      double t[3] = {0, 0, 0};
      for (auto& doc : dom.layers) {
        ++dim_count[doc[l].top_dim[0]];
        ++pos_count[doc[l].max_pos];
        for (int i = 0; i < 3; ++i) t[i] += std::abs(doc[l].top_val[i]) / dom.layers.size();
      }
      auto mode = [](const std::map<int, int>& c) {
        int best = -1, n = -1;
        for (auto& [k, v] : c)
          if (v > n) best = k, n = v;
        return best;
      };
      const auto& f = dom.layers.front()[l];
      w.add_row({cfg_name(r), dom.name, l, m(&LayerDoc::resid_sink), m(&LayerDoc::resid_other),
                 m(&LayerDoc::resid_sink) / m(&LayerDoc::resid_other), t[0], t[1], t[2], f.top_dim[0], f.top_val[0],
                 f.top_dim[1], f.top_val[1], f.top_dim[2], f.top_val[2], mode(dim_count), m(&LayerDoc::median_abs),
                 m(&LayerDoc::max_abs), mode(pos_count)});
    }
}

}  // namespace

std::vector<std::string> write_llm_csv(const std::string& out_dir, const LlmReportInput& in) {
  require(in.scan != nullptr, "llm report: no scan");
  const auto& r = *in.scan;
  std::vector<std::string> written;
  auto put = [&](const CsvWriter& w, const std::string& name) {
    auto p = (std::filesystem::path(out_dir) / name).string();
    w.write(p);
    written.push_back(p);
  };
  std::vector<const ScanResult*> cfgs{in.scan};
  if (in.other_bos) cfgs.push_back(in.other_bos);

  CsvWriter heads({"bos", "domain", "layer", "head", "sink_mass", "sink_mass_lo", "sink_mass_hi", "top1_mass",
                   "top2_mass", "row_entropy", "col_entropy", "v_sink_norm", "v_other_norm", "v_ratio",
                   "sink_logit_gap_mean", "sink_logit_gap_std", "class"});
  CsvWriter hdocs({"bos", "domain", "doc", "layer", "head", "sink_mass", "top1_mass", "top2_mass", "row_entropy",
                   "col_entropy", "v_sink_norm", "v_other_norm", "sink_logit_gap_mean", "sink_logit_gap_std"});
  CsvWriter layers({"bos", "domain", "layer", "resid_sink_norm", "resid_other_norm", "resid_ratio", "sink_top1_abs",
                    "sink_top2_abs", "sink_top3_abs", "doc0_top1_dim", "doc0_top1_val", "doc0_top2_dim",
                    "doc0_top2_val", "doc0_top3_dim", "doc0_top3_val", "top1_dim_mode", "median_abs",
                    "max_abs_any_position", "max_abs_position_mode"});
  CsvWriter sec({"bos", "domain", "doc", "layer", "head", "position", "token", "mass_from_later_queries"});
  CsvWriter sect({"bos", "domain", "token", "events", "documents", "heads", "mean_mass"});
  CsvWriter docs({"bos", "domain", "doc", "source_line", "base_loss_nats", "skipped_short_in_domain"});
  for (auto* c : cfgs) {
    head_rows(*c, heads);
    head_doc_rows(*c, hdocs);
    layer_rows(*c, layers);
    for (auto& dom : c->domains) {
      struct Agg {
        int events = 0;
        std::set<int> docs;
        std::set<std::string> heads;
        double mass = 0;
      };
      std::map<std::string, Agg> agg;
      for (auto& s : dom.secondary) {
        sec.add_row({cfg_name(*c), dom.name, s.doc, s.layer, s.head, s.position, s.token, s.mass});
        auto& a = agg[s.token];
        ++a.events, a.docs.insert(s.doc), a.heads.insert(llm::head_label({s.layer, s.head})), a.mass += s.mass;
      }
      std::vector<std::pair<std::string, Agg>> sorted(agg.begin(), agg.end());
      std::sort(sorted.begin(), sorted.end(), [](auto& x, auto& y) { return x.second.events > y.second.events; });
      for (auto& [tok, a] : sorted)
        sect.add_row({cfg_name(*c), dom.name, tok, a.events, (int)a.docs.size(), (int)a.heads.size(),
                      a.mass / a.events});
      for (size_t di = 0; di < dom.docs.size(); ++di)
        docs.add_row({cfg_name(*c), dom.name, (int)di, dom.docs[di].source_index + 1, dom.base_loss[di],
                      dom.skipped_short});
    }
  }
  put(heads, "heads.csv");
  put(hdocs, "head_docs.csv");
  put(layers, "layers.csv");
  CsvWriter outl({"config", "domain", "docs", "layer", "max_abs", "median_abs", "max_over_median", "kurtosis_resid",
                  "kurtosis_attn", "loss", "loss_w8a8", "w8a8_increase"});
  for (const auto* c : {in.scan, in.other_bos}) {
    if (!c) continue;
    for (const auto& dom : c->domains)
      for (const auto& o : dom.outliers.layers)
        outl.add_row({cfg_name(*c), dom.name, dom.outlier_docs, o.layer, o.max_abs, o.median_abs, o.max_over_median,
                      o.kurtosis_resid, o.kurtosis_attn, dom.outliers.loss, dom.outliers.loss_w8a8,
                      dom.outliers.w8a8_increase});
  }
  put(outl, "outliers.csv");
  put(sec, "secondary_sinks.csv");
  put(sect, "secondary_tokens.csv");
  put(docs, "docs.csv");

  CsvWriter rank({"rank", "layer", "head", "domain_a", "domain_b", "sink_mass_a", "sink_mass_b", "diff", "diff_lo",
                  "diff_hi", "class_a", "class_b", "domain_dependent"});
  for (size_t i = 0; i < in.ranked.size(); ++i) {
    const auto& h = in.ranked[i];
    rank.add_row({(int)i + 1, h.head.layer, h.head.head, r.domains[h.dom_a].name, r.domains[h.dom_b].name, h.mass_a,
                  h.mass_b, h.diff.mean, h.diff.lo, h.diff.hi, h.dormant_a ? "dormant" : "active",
                  h.dormant_b ? "dormant" : "active", h.domain_dependent() ? "yes" : "no"});
  }
  put(rank, "ranking.csv");

  if (in.ablation) {
    CsvWriter ab({"layer", "head", "intervention", "domain", "sink_mass", "class", "delta_loss_nats", "delta_lo",
                  "delta_hi", "docs"});
    CsvWriter abd({"layer", "head", "intervention", "domain", "doc", "delta_loss_nats"});
    for (auto& a : in.ablation->results) {
      double mass = llm::head_mean(r.domains[a.domain], r.n_heads, a.head.layer, a.head.head, &HeadDoc::sink_mass);
      ab.add_row({a.head.layer, a.head.head, intervention_name(a.kind), r.domains[a.domain].name, mass,
                  head_state(mass, r.opt.dormant_threshold), a.ci.mean, a.ci.lo, a.ci.hi,
                  (int)a.delta.size()});
      for (size_t di = 0; di < a.delta.size(); ++di)
        abd.add_row({a.head.layer, a.head.head, intervention_name(a.kind), r.domains[a.domain].name, (int)di,
                     a.delta[di]});
    }
    put(ab, "ablation.csv");
    put(abd, "ablation_docs.csv");
  }
  if (in.attribution) {
    CsvWriter at({"layer", "head", "intervention", "domain", "sink_mass", "class", "est_delta_loss_nats", "est_lo",
                  "est_hi", "docs", "method"});
    for (auto& a : in.attribution->results) {
      double mass = llm::head_mean(r.domains[a.domain], r.n_heads, a.head.layer, a.head.head, &HeadDoc::sink_mass);
      at.add_row({a.head.layer, a.head.head, intervention_name(a.kind), r.domains[a.domain].name, mass,
                  head_state(mass, r.opt.dormant_threshold), a.ci.mean, a.ci.lo, a.ci.hi,
                  (int)a.delta.size(), in.attribution->method});
    }
    put(at, "attribution.csv");
  }
  CsvWriter sa({"head", "domain", "query", "key", "query_token", "key_token", "weight"});
  for (auto& s : in.samples)
    for (size_t q = 0; q < s.weights.size(); ++q)
      for (size_t k = 0; k <= q && k < s.weights[q].size(); ++k)
        sa.add_row({llm::head_label(s.head), r.domains[s.domain].name, (int)q, (int)k, s.tokens[q], s.tokens[k],
                    s.weights[q][k]});
  put(sa, "sample_attention.csv");
  return written;
}

std::vector<std::string> ablation_verdicts(const LlmReportInput& in, int max_heads) {
  std::vector<std::string> out;
  if (!in.ablation || !in.scan || in.scan->domains.size() < 2) return out;
  const auto& r = *in.scan;
  int n = 0;
  for (auto& h : in.ranked) {
    if (n >= max_heads) break;
    if (!h.domain_dependent()) continue;  // the verdict is about domain-dependent heads only
    auto* za = find_ablation(in.ablation, h.head, Intervention::ZeroHead, h.dom_a);
    auto* zb = find_ablation(in.ablation, h.head, Intervention::ZeroHead, h.dom_b);
    if (!za || !zb) continue;
    ++n;
    // "act" = the domain where the head puts less mass on the sink (more active).
    bool a_active = h.mass_a < h.mass_b;
    const auto* act = a_active ? za : zb;
    const auto* dor = a_active ? zb : za;
    double m_act = a_active ? h.mass_a : h.mass_b, m_dor = a_active ? h.mass_b : h.mass_a;
    const std::string& n_act = r.domains[act->domain].name;
    const std::string& n_dor = r.domains[dor->domain].name;
    bool hurt_act = act->ci.lo > 0, hurt_dor = dor->ci.lo > 0;
    std::string verdict;
    if (hurt_act && !hurt_dor)
      verdict = "AS PREDICTED: hurts where more active, not measurably where more dormant";
    else if (hurt_act && hurt_dor)
      verdict = act->ci.mean > dor->ci.mean ? "PARTLY: hurts in both domains, more where more active"
                                           : "NOT AS PREDICTED: hurts in both, not more where more active";
    else if (!hurt_act && hurt_dor)
      verdict = "NOT AS PREDICTED: hurts only where more dormant";
    else
      verdict = "NO EFFECT: no measurable loss change in either domain";
    out.push_back(fmt::format(
        "{} ({}): sink mass {:.3f} on {} ({}), {:.3f} on {} ({}); zero-head Δloss {:+.4f} [{:+.4f}, {:+.4f}] on {}, "
        "{:+.4f} [{:+.4f}, {:+.4f}] on {} nats/token",
        llm::head_label(h.head), verdict, m_act, n_act, head_state(m_act, r.opt.dormant_threshold), m_dor,
        n_dor, head_state(m_dor, r.opt.dormant_threshold), act->ci.mean, act->ci.lo, act->ci.hi, n_act,
        dor->ci.mean, dor->ci.lo, dor->ci.hi, n_dor));
  }
  return out;
}

std::vector<std::string> attribution_summary(const LlmReportInput& in) {
  std::vector<std::string> out;
  if (!in.attribution || !in.scan || in.scan->domains.size() < 2) return out;
  int n = 0, larger = 0, larger_sig = 0, sig = 0;
  for (auto& h : in.ranked) {
    if (!h.domain_dependent()) continue;
    auto* za = find_ablation(in.attribution, h.head, Intervention::ZeroHead, h.dom_a);
    auto* zb = find_ablation(in.attribution, h.head, Intervention::ZeroHead, h.dom_b);
    if (!za || !zb) continue;
    const auto* act = h.dormant_a ? zb : za;  // the domain where the head is active
    const auto* dor = h.dormant_a ? za : zb;
    ++n;
    larger += act->ci.mean > dor->ci.mean;
    auto diff = llm::bootstrap_diff(act->delta, dor->delta, 500, 99);
    if (diff.lo > 0 || diff.hi < 0) {
      ++sig;
      larger_sig += diff.lo > 0;
    }
  }
  if (n == 0) {
    out.push_back("no head is dormant in one domain and active in the other at this threshold");
    return out;
  }
  out.push_back(fmt::format(
      "{} domain-dependent heads (dormant in one domain, active in the other): the estimated zero-head cost is "
      "larger where the head is active in {} of them ({:.0f}%); {} differences are significant (95% bootstrap CI "
      "of the difference excludes 0), {} of those in the predicted direction",
      n, larger, 100.0 * larger / n, sig, larger_sig));
  return out;
}

namespace {

Heatmap sink_heatmap(const ScanResult& r, size_t d) {
  Heatmap hm;
  hm.title = fmt::format("Sink mass (position {}), {}, {}", r.opt.sink_pos, r.domains[d].name,
                         r.opt.add_bos ? "with BOS" : "no BOS");
  hm.xlabel = "head", hm.ylabel = "layer", hm.cbar_label = "mean attention on the sink";
  hm.z_range = {0, 1};
  hm.annotate = 0;
  for (int l = 0; l < r.n_layers; ++l) {
    std::vector<double> row;
    for (int h = 0; h < r.n_heads; ++h) row.push_back(llm::head_mean(r.domains[d], r.n_heads, l, h, &HeadDoc::sink_mass));
    hm.values.push_back(row);
  }
  return hm;
}

RenderOptions tall() {
  RenderOptions o;
  o.width = 520, o.height = 760;
  return o;
}

std::vector<double> iota_d(int n) {
  std::vector<double> v;
  for (int i = 0; i < n; ++i) v.push_back(i);
  return v;
}

}  // namespace

std::string write_llm_report(const std::string& out_dir, const LlmReportInput& in) {
  require(in.scan != nullptr, "llm report: no scan");
  const auto& r = *in.scan;
  namespace fs = std::filesystem;
  const std::string figdir = (fs::path(out_dir) / "figures").string();
  fs::create_directories(figdir);
  const bool plots = gnuplot_available();
  auto fig = [&](const std::string& name) { return (fs::path(figdir) / name).string(); };

  HtmlReport rep("sinklab llm scan: " + in.model_name,
                 fmt::format("{} documents x {} tokens per domain, sink position {}, {}", r.domains[0].docs.size(),
                             r.opt.ctx, r.opt.sink_pos, r.opt.add_bos ? "BOS prepended" : "no BOS"));
  rep.section("Run");
  rep.pre(in.command);
  std::vector<std::string> info;
  for (auto& d : r.domains)
    info.push_back(fmt::format("{}: {} documents used, {} skipped as shorter than {} tokens, base loss {:.4f} nats/token",
                               d.name, d.docs.size(), d.skipped_short, r.opt.ctx + 1,
                               llm::bootstrap_mean(d.base_loss, 200).mean));
  info.push_back(fmt::format("scan: {:.1f} s for {} forward passes ({:.3f} s each)", r.seconds, r.forward_passes,
                             r.seconds / std::max(1, r.forward_passes)));
  if (in.ablation)
    info.push_back(fmt::format("ablation: {:.1f} s for {} batched forward passes ({} ablated document copies, "
                               "{:.3f} s per copy)",
                               in.ablation->seconds, in.ablation->forward_passes, in.ablation->ablated_sequences,
                               in.ablation->seconds / std::max(1, in.ablation->ablated_sequences)));
  info.push_back(fmt::format("dormant threshold: sink mass >= {}; secondary sink: mean attention from later queries >= "
                             "{} (from at least {} queries)",
                             r.opt.dormant_threshold, r.opt.secondary_threshold, r.opt.min_later));
  rep.list(info);
  if (!plots) rep.paragraph("gnuplot was not found: figures are omitted; every number is in the CSV files.");

  // Heatmaps.
  rep.section("Sink mass per layer and head");
  if (plots) {
    std::vector<FigureResult> paths;
    std::vector<std::string> caps;
    for (size_t d = 0; d < r.domains.size(); ++d) {
      auto p = fig("sink_mass_" + r.domains[d].name + ".png");
      paths.push_back(try_render(sink_heatmap(r, d), p, tall())), caps.push_back(r.domains[d].name);
    }
    if (r.domains.size() >= 2) {
      Heatmap diff = sink_heatmap(r, 0);
      diff.title = fmt::format("Sink mass difference: {} - {}", r.domains[0].name, r.domains[1].name);
      diff.diverging = true, diff.z_range = {};
      diff.cbar_label = "difference of sink mass";
      auto b = sink_heatmap(r, 1);
      for (size_t i = 0; i < diff.values.size(); ++i)
        for (size_t j = 0; j < diff.values[i].size(); ++j) diff.values[i][j] -= b.values[i][j];
      auto p = fig("sink_mass_diff.png");
      paths.push_back(try_render(diff, p, tall())), caps.push_back("difference");
    }
    rep.figure_row(paths, caps);
    if (in.other_bos) {
      std::vector<FigureResult> p2;
      std::vector<std::string> c2;
      for (size_t d = 0; d < in.other_bos->domains.size(); ++d) {
        auto p = fig("sink_mass_" + in.other_bos->domains[d].name + "_" + cfg_name(*in.other_bos) + ".png");
        p2.push_back(try_render(sink_heatmap(*in.other_bos, d), p, tall())), c2.push_back(in.other_bos->domains[d].name + " (" + cfg_name(*in.other_bos) + ")");
      }
      rep.paragraph(in.other_bos->opt.add_bos ? "The same with BOS prepended:"
                                              : "The same without BOS (the sink position is then a text token):");
      rep.figure_row(p2, c2);
    }
  }
  std::vector<std::vector<std::string>> cls_rows;
  for (auto* c : {in.scan, in.other_bos}) {
    if (!c) continue;
    for (auto& d : c->domains) {
      int dormant = 0;
      double mass = 0;
      for (int l = 0; l < c->n_layers; ++l)
        for (int h = 0; h < c->n_heads; ++h) {
          double m = llm::head_mean(d, c->n_heads, l, h, &HeadDoc::sink_mass);
          mass += m;
          dormant += is_dormant(m, c->opt.dormant_threshold);
        }
      cls_rows.push_back({cfg_name(*c), d.name, std::to_string(dormant), std::to_string(c->n_layers * c->n_heads),
                          format_measured(mass / (c->n_layers * c->n_heads))});
    }
  }
  rep.table({"BOS", "domain", "dormant heads", "heads", "mean sink mass"}, cls_rows, "Dormant heads per domain");

  // Residual and value norms.
  rep.section("Residual stream: sink vs other tokens (massive activations)");
  if (plots) {
    LinePlot lp;
    lp.title = "Residual norm after each layer";
    lp.xlabel = "layer", lp.ylabel = "L2 norm", lp.log_y = true;
    LinePlot ma;
    ma.title = "Massive activations of the sink";
    ma.xlabel = "layer", ma.ylabel = "|activation|", ma.log_y = true;
    int c = 0;
    for (auto& d : r.domains) {
      std::vector<double> s, o, t1, med;
      for (int l = 0; l < r.n_layers; ++l) {
        s.push_back(llm::layer_mean(d, l, &LayerDoc::resid_sink));
        o.push_back(llm::layer_mean(d, l, &LayerDoc::resid_other));
        double a = 0;
        for (auto& doc : d.layers) a += std::abs(doc[l].top_val[0]) / d.layers.size();
        t1.push_back(a);
        med.push_back(llm::layer_mean(d, l, &LayerDoc::median_abs));
      }
      lp.series.push_back(Series::line(d.name + ": sink", iota_d(r.n_layers), s, c));
      auto so = Series::line(d.name + ": others (mean)", iota_d(r.n_layers), o, c);
      so.style = SeriesStyle::Fitted;
      lp.series.push_back(so);
      ma.series.push_back(Series::line(d.name + ": sink top-1 |activation|", iota_d(r.n_layers), t1, c));
      auto sm = Series::line(d.name + ": median |activation|", iota_d(r.n_layers), med, c);
      sm.style = SeriesStyle::Fitted;
      ma.series.push_back(sm);
      ++c;
    }
    lp.legend = ma.legend = Legend::Below;
    auto p1 = fig("resid_norms.png"), p2 = fig("massive_activations.png");
    rep.figure_row(std::vector<FigureResult>{try_render(lp, p1), try_render(ma, p2)},
                   {"residual norms", "top-1 activation of the sink vs median"});
  }
  {
    std::vector<std::vector<std::string>> rows;
    const auto& d = r.domains[0];
    for (int l = 0; l < r.n_layers; ++l) {
      const auto& f = d.layers.front()[l];
      rows.push_back({std::to_string(l), format_measured(llm::layer_mean(d, l, &LayerDoc::resid_sink)),
                      format_measured(llm::layer_mean(d, l, &LayerDoc::resid_other)),
                      fmt::format("{}: {:.1f}, {}: {:.1f}, {}: {:.1f}", f.top_dim[0], f.top_val[0], f.top_dim[1],
                                  f.top_val[1], f.top_dim[2], f.top_val[2]),
                      format_measured(llm::layer_mean(d, l, &LayerDoc::median_abs)),
                      fmt::format("pos {} dim {}: {:.1f}", f.max_pos, f.max_dim, f.max_abs)});
    }
    rep.table({"layer", "sink norm", "others norm", "sink top-3 dims: values (doc 0)", "median |act|",
               "largest |act| anywhere (doc 0)"},
              rows, "Domain " + d.name + " (all domains in layers.csv)");
  }
  {
    std::vector<std::vector<std::string>> rows;
    for (const auto& d : r.domains)
      if (d.outlier_docs > 0)
        rows.push_back({d.name, std::to_string(d.outlier_docs), format_measured(d.outliers.max_over_median),
                        format_measured(d.outliers.kurtosis_resid), format_measured(d.outliers.kurtosis_attn),
                        format_measured(d.outliers.loss), format_measured(d.outliers.loss_w8a8),
                        fmt::format("{:+.4f}", d.outliers.w8a8_increase)});
    if (!rows.empty()) {
      rep.section("Outliers and quantisation");
      rep.paragraph("The quantisation view of the same phenomena (Bondarenko et al. 2023): the largest max|x| / "
                    "median|x| of the residual stream over layers, the kurtosis of the residual stream and of the "
                    "attention output across dimensions (mean over tokens and layers; a Gaussian gives 3), and the "
                    "loss with every linear layer's input and weight rounded to per-tensor symmetric int8 (simulated "
                    "W8A8) against float. Per layer: outliers.csv.");
      rep.table({"domain", "docs", "max/median", "kurtosis (residual)", "kurtosis (attention out)", "loss",
                 "loss W8A8", "W8A8 increase"},
                rows);
    }
  }
  rep.section("Value states: sink vs other tokens");
  if (plots) {
    LinePlot vp;
    vp.title = "Value norm per layer (mean over heads)";
    vp.xlabel = "layer", vp.ylabel = "L2 norm of v";
    int c = 0;
    for (auto& d : r.domains) {
      std::vector<double> s, o;
      for (int l = 0; l < r.n_layers; ++l) {
        double a = 0, b = 0;
        for (int h = 0; h < r.n_heads; ++h) {
          a += llm::head_mean(d, r.n_heads, l, h, &HeadDoc::v_sink) / r.n_heads;
          b += llm::head_mean(d, r.n_heads, l, h, &HeadDoc::v_other) / r.n_heads;
        }
        s.push_back(a), o.push_back(b);
      }
      vp.series.push_back(Series::line(d.name + ": sink", iota_d(r.n_layers), s, c));
      auto so = Series::line(d.name + ": others (mean)", iota_d(r.n_layers), o, c);
      so.style = SeriesStyle::Fitted;
      vp.series.push_back(so);
      ++c;
    }
    vp.legend = Legend::Below;
    auto p = fig("value_norms.png");
    rep.figure(try_render(vp, p), "Value-state norms (per-head values in heads.csv)", 70);
  }

  // Top heads table: with two or more domains, ranked by the sink-mass difference (and
  // whether each is domain-dependent); with one, by sink mass (no comparison).
  const bool compare = r.domains.size() > 1;
  rep.section(compare ? "Domain-dependent heads" : "Heads by sink mass");
  {
    std::vector<std::string> hdr{"rank", "head"};
    if (compare)
      for (const char* c : {"domains (a - b)", "sink mass a", "sink mass b", "diff [95% CI]", "class a / b",
                            "domain-dependent"})
        hdr.push_back(c);
    else
      for (const char* c : {"sink mass [95% CI]", "class"}) hdr.push_back(c);
    if (in.ablation)
      for (auto k : llm::scan_interventions())
        for (auto& d : r.domains) hdr.push_back(intervention_name(k) + " Δloss " + d.name);
    std::vector<std::vector<std::string>> rows;
    for (size_t i = 0; i < in.ranked.size() && (int)i < in.top_table; ++i) {
      const auto& h = in.ranked[i];
      std::vector<std::string> row{std::to_string(i + 1), llm::head_label(h.head)};
      if (compare) {
        for (auto c : {r.domains[h.dom_a].name + " - " + r.domains[h.dom_b].name, format_measured(h.mass_a),
                       format_measured(h.mass_b), fmt::format("{:+.3f} [{:+.3f}, {:+.3f}]", h.diff.mean, h.diff.lo, h.diff.hi),
                       std::string(h.dormant_a ? "dormant" : "active") + " / " + (h.dormant_b ? "dormant" : "active"),
                       std::string(h.domain_dependent() ? "yes" : "no")})
          row.push_back(c);
      } else {
        row.push_back(fmt::format("{:.3f} [{:.3f}, {:.3f}]", h.diff.mean, h.diff.lo, h.diff.hi));
        row.push_back(h.dormant_a ? "dormant" : "active");
      }
      if (in.ablation)
        for (auto k : llm::scan_interventions())
          for (size_t d = 0; d < r.domains.size(); ++d) {
            auto* a = find_ablation(in.ablation, h.head, k, (int)d);
            row.push_back(a ? fmt::format("{:+.4f} [{:+.4f}, {:+.4f}]", a->ci.mean, a->ci.lo, a->ci.hi) : "—");
          }
      rows.push_back(row);
    }
    rep.table(hdr, rows,
              compare ? "Heads ranked by |sink-mass difference| between domains (bootstrap 95% CI over documents); "
                        "domain-dependent = dormant in one domain and active in the other (what --ablate top:K "
                        "picks); Δloss in nats/token with bootstrap 95% CI; — = not ablated"
                      : "Heads ranked by sink mass (bootstrap 95% CI over documents); Δloss in nats/token with "
                        "bootstrap 95% CI; — = not ablated");
  }
  auto verdicts = ablation_verdicts(in);
  if (!verdicts.empty()) {
    rep.section("Does ablation hurt where the head is active?", 3);
    rep.list(verdicts);
  }
  if (in.ablation && plots) {
    BarPlot bp;
    bp.title = "Zero-head ablation: loss change per domain";
    bp.xlabel = "head", bp.ylabel = "Δ loss (nats/token)";
    std::vector<llm::HeadRef> hs;
    for (auto& a : in.ablation->results)
      if (std::find(hs.begin(), hs.end(), a.head) == hs.end()) hs.push_back(a.head);
    if (hs.size() > 40) hs.resize(40);
    for (auto& h : hs) bp.categories.push_back(llm::head_label(h));
    for (size_t d = 0; d < r.domains.size(); ++d) {
      BarSeries s;
      s.name = r.domains[d].name;
      for (auto& h : hs) {
        auto* a = find_ablation(in.ablation, h, Intervention::ZeroHead, (int)d);
        s.values.push_back(a ? a->ci.mean : 0.0);
        s.errors.push_back(a ? (a->ci.hi - a->ci.lo) / 2 : 0.0);
      }
      bp.series.push_back(s);
    }
    auto p = fig("ablation_zero_head.png");
    rep.figure(try_render(bp, p), "Loss change when the head's output is zeroed (error bars: half the 95% CI width)", 80);
  }

  if (in.attribution) {
    rep.section("Every head: estimated ablation cost");
    const bool gd = in.attribution->magnitude;
    std::vector<std::string> lines{fmt::format(
        "Linear (first-order) estimate of both ablations for all {} heads ({:.1f} s, {} forward and backward "
        "passes): the change of the document's loss when z moves to its ablated value, from the gradient of the "
        "loss with respect to z.{}",
        r.n_layers * r.n_heads, in.attribution->seconds, in.attribution->forward_passes,
        gd ? " With AtP*'s GradDrop (Kramár et al. 2024): per document, the mean over layers l of |estimate with "
             "the gradient through layer l's outputs dropped|, an estimate of the SIZE of the effect (never "
             "negative), robust to cancellation between a head's paths to the loss."
           : "")};
    if (in.ablation) {
      auto ag = llm::estimate_agreement(*in.ablation, *in.attribution);
      std::string top = ag.top_n ? fmt::format(" Of the top {} entries by exact effect in each (intervention, domain), "
                                               "{}/{} are in the estimate's top {}.",
                                               ag.top_k, ag.top_hits, ag.top_n, ag.top_pool)
                                 : "";
      lines.push_back(fmt::format(
          "Check against exact ablation{} on the {} (head, intervention, domain) entries run both ways: Pearson r = "
          "{:.3f}, Spearman {:.3f}{}.{} {}",
          gd ? " (its mean |loss change| per document)" : "", ag.n, ag.pearson, ag.spearman,
          gd ? "" : fmt::format(", same sign in {:.0f}%", 100 * ag.sign_agree), top,
          ag.pearson >= 0.8 ? "The estimate ranks heads like exact ablation here."
                            : "The estimate does NOT track exact ablation well here: use it only to choose heads "
                              "for exact ablation."));
    }
    for (auto& l : attribution_summary(in)) lines.push_back(l);
    rep.list(lines);
    if (plots) {
      std::vector<FigureResult> paths;
    std::vector<std::string> caps;
      for (size_t d = 0; d < r.domains.size(); ++d) {
        Heatmap hm;
        hm.title = "Estimated zero-head Δloss, " + r.domains[d].name;
        hm.xlabel = "head", hm.ylabel = "layer", hm.cbar_label = "nats/token";
        hm.diverging = true, hm.annotate = 0;
        for (int l = 0; l < r.n_layers; ++l) {
          std::vector<double> row;
          for (int h = 0; h < r.n_heads; ++h) {
            auto* a = find_ablation(in.attribution, {l, h}, Intervention::ZeroHead, (int)d);
            row.push_back(a ? a->ci.mean : std::nan(""));
          }
          hm.values.push_back(row);
        }
        auto p = fig("attribution_zero_head_" + r.domains[d].name + ".png");
        paths.push_back(try_render(hm, p, tall())), caps.push_back(r.domains[d].name);
      }
      rep.figure_row(paths, caps);
      if (in.ablation) {
        LinePlot sp;
        sp.title = "Estimate vs exact ablation";
        sp.xlabel = "exact Δloss (nats/token)", sp.ylabel = "estimated Δloss (nats/token)";
        std::vector<double> xs, ys;
        for (auto& e : in.ablation->results)
          if (auto* a = find_ablation(in.attribution, e.head, e.kind, e.domain)) xs.push_back(e.ci.mean), ys.push_back(a->ci.mean);
        sp.series.push_back(Series::points("(head, intervention, domain)", xs, ys, 0));
        if (!xs.empty()) {
          double lo = std::min(*std::min_element(xs.begin(), xs.end()), *std::min_element(ys.begin(), ys.end()));
          double hi = std::max(*std::max_element(xs.begin(), xs.end()), *std::max_element(ys.begin(), ys.end()));
          auto diag = Series::line("y = x", {lo, hi}, {lo, hi}, 1);
          diag.style = SeriesStyle::Fitted;
          sp.series.push_back(diag);
        }
        auto p = fig("attribution_vs_exact.png");
        rep.figure(try_render(sp, p), "Each point: one head, intervention and domain ablated exactly and estimated", 60);
      }
    }
  }

  // Sample attention patterns.
  if (!in.samples.empty()) {
    rep.section("Attention patterns of the top heads on sample text");
    if (plots) {
      std::vector<FigureResult> paths;
    std::vector<std::string> caps;
      for (auto& s : in.samples) {
        AttentionPattern ap;
        ap.title = fmt::format("head {} on {}", llm::head_label(s.head), r.domains[s.domain].name);
        ap.weights = s.weights;
        ap.tokens = s.tokens;
        auto p = fig(fmt::format("attn_{}_{}_{}.png", s.head.layer, s.head.head, r.domains[s.domain].name));
        paths.push_back(try_render(ap, p)), caps.push_back(ap.title);
        if (paths.size() == 2) {
          rep.figure_row(paths, caps);
          paths.clear(), caps.clear();
        }
      }
      if (!paths.empty()) rep.figure_row(paths, caps);
    }
  }

  // Secondary sinks.
  rep.section("Secondary sinks");
  {
    std::vector<std::vector<std::string>> rows;
    for (auto* c : {in.scan, in.other_bos}) {
      if (!c) continue;
      for (auto& d : c->domains) {
        std::map<std::string, std::pair<int, std::set<std::string>>> agg;
        for (auto& s : d.secondary) {
          auto& a = agg[s.token];
          ++a.first;
          a.second.insert(llm::head_label({s.layer, s.head}));
        }
        std::vector<std::pair<int, std::string>> order;
        for (auto& [t, a] : agg) order.push_back({a.first, t});
        std::sort(order.rbegin(), order.rend());
        for (size_t i = 0; i < order.size() && i < 8; ++i)
          rows.push_back({cfg_name(*c), d.name, display_token(order[i].second, 16), std::to_string(order[i].first),
                          std::to_string(agg[order[i].second].second.size())});
      }
    }
    rep.table({"BOS", "domain", "token", "events (doc x head)", "heads"}, rows,
              "Key positions other than the sink receiving >= the secondary threshold from later queries "
              "(all in secondary_sinks.csv)");
  }
  rep.section("Files");
  rep.paragraph("CSV files next to this report hold every number behind the figures: heads.csv, head_docs.csv, "
                "layers.csv, outliers.csv, ranking.csv, secondary_sinks.csv, secondary_tokens.csv, docs.csv, ablation.csv, "
                "ablation_docs.csv, attribution.csv, sample_attention.csv.");
  auto path = (fs::path(out_dir) / "report.html").string();
  // A figure that could not be drawn is a note in the report; say so on stderr too.
  for (const auto& w : rep.warnings()) fmt::print(stderr, "sinklab: warning: {}\n", w);
  rep.write(path);
  return path;
}

}  // namespace sinklab::report

#include "report/llm_trace_report.h"

#include <cmath>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "analysis/core/heads.h"
#include "io/csv.h"
#include "io/files.h"
#include "io/safetensors.h"
#include "report/core/figures.h"
#include "report/core/html.h"

namespace sinklab::report {

namespace {
nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
}  // namespace

nlohmann::json trace_to_json(const TraceReportInput& in) {
  const auto& t = *in.trace;
  nlohmann::json j;
  j["model"] = in.model_name;
  j["n_tokens"] = t.ids.size();
  j["ids"] = t.ids;
  j["tokens"] = t.pieces;
  j["sink_pos"] = t.opt.sink_pos;
  j["threshold"] = t.opt.dormant_threshold;
  j["heads"] = nlohmann::json::array();
  for (const auto& h : t.heads)
    j["heads"].push_back({{"layer", h.layer},
                          {"head", h.head},
                          {"label", head_label(h.layer, h.head)},
                          {"sink_mass", num(h.sink_mass)},
                          {"class", std::isfinite(h.sink_mass) ? head_state(h.sink_mass, t.opt.dormant_threshold) : "-"},
                          {"v_sink_norm", num(h.v_sink)},
                          {"v_other_norm", num(h.v_other)},
                          {"sink_logit_gap_mean", num(h.gap_mean)}});
  j["layers"] = nlohmann::json::array();
  for (const auto& l : t.layers) {
    size_t best = 0;
    for (size_t i = 1; i < l.max_abs.size(); ++i)
      if (l.max_abs[i] > l.max_abs[best]) best = i;
    j["layers"].push_back({{"layer", l.layer},
                           {"resid_norm", l.resid_norm},
                           {"max_abs", l.max_abs[best]},
                           {"max_abs_position", best},
                           {"max_abs_dim", l.max_dim[best]}});
  }
  j["edits"] = nlohmann::json::array();
  for (const auto& [kind, h] : t.opt.edits) j["edits"].push_back(intervention_name(kind) + " " + head_label(h));
  j["next"] = nlohmann::json::array();
  for (const auto& n : t.next) j["next"].push_back({{"id", n.id}, {"token", n.piece}, {"p", n.p}, {"p_edited", num(n.p_edited)}});
  j["edited_kl"] = num(t.edited_kl);
  j["saved"] = nlohmann::json::object();
  for (const auto& [name, x] : t.saved) j["saved"][name] = std::vector<int64_t>(x.sizes().begin(), x.sizes().end());
  return j;
}

std::vector<std::string> write_trace_report(const std::string& out_dir, const TraceReportInput& in) {
  namespace fs = std::filesystem;
  const auto& t = *in.trace;
  const int64_t T = (int64_t)t.ids.size();
  std::vector<std::string> written;
  auto out = [&](const std::string& name) { return written.emplace_back((fs::path(out_dir) / name).string()); };
  fs::create_directories(fs::path(out_dir) / "figures");

  CsvWriter tokens({"layer", "position", "id", "token", "resid_norm", "max_abs", "max_abs_dim"});
  for (const auto& l : t.layers)
    for (int64_t i = 0; i < T; ++i)
      tokens.add_row({l.layer, i, t.ids[i], t.pieces[i], l.resid_norm[i], l.max_abs[i], l.max_dim[i]});
  CsvWriter heads({"layer", "head", "sink_mass", "class", "v_sink_norm", "v_other_norm", "v_ratio",
                   "sink_logit_gap_mean"});
  CsvWriter values({"layer", "head", "position", "token", "v_norm"});
  CsvWriter patterns({"layer", "head", "query", "key", "weight"});
  for (const auto& h : t.heads) {
    if (h.pattern.empty()) continue;  // a layer without attention
    heads.add_row({h.layer, h.head, h.sink_mass, head_state(h.sink_mass, t.opt.dormant_threshold), h.v_sink, h.v_other,
                   h.v_other > 0 ? h.v_sink / h.v_other : std::nan(""), h.gap_mean});
    for (int64_t i = 0; i < T; ++i) values.add_row({h.layer, h.head, i, t.pieces[i], h.v_norm[i]});
    for (int64_t q = 0; q < T; ++q)
      for (int64_t k = 0; k <= q; ++k) patterns.add_row({h.layer, h.head, q, k, h.pattern[q * T + k]});
  }
  CsvWriter next({"rank", "id", "token", "p", "p_edited"});
  for (size_t i = 0; i < t.next.size(); ++i)
    next.add_row({(long long)i + 1, t.next[i].id, t.next[i].piece, t.next[i].p, t.next[i].p_edited});
  tokens.write(out("trace_tokens.csv"));
  heads.write(out("trace_heads.csv"));
  values.write(out("trace_values.csv"));
  patterns.write(out("trace_patterns.csv"));
  next.write(out("next_token.csv"));
  if (!t.saved.empty()) {
    std::vector<TensorToWrite> tw;
    for (const auto& [name, x] : t.saved)
      tw.push_back({name, DType::F32, std::vector<int64_t>(x.sizes().begin(), x.sizes().end()), x.data_ptr<float>(),
                    (size_t)x.numel() * sizeof(float)});
    write_safetensors(out("hooks.safetensors"), tw, {{"format", "pt"}, {"producer", "sinklab llm trace"}});
  }
  write_file_atomic(out("trace.json"), trace_to_json(in).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");

  // The report.
  std::vector<std::string> labels;
  for (const auto& p : t.pieces) labels.push_back(display_token(p, 10));
  HtmlReport rep("sinklab llm trace", fmt::format("{}: {} tokens, sink position {}", in.model_name, T, t.opt.sink_pos));
  rep.section("Prompt");
  {
    std::vector<std::vector<std::string>> rows;
    for (int64_t i = 0; i < T; ++i) rows.push_back({std::to_string(i), std::to_string(t.ids[i]), labels[i]});
    rep.table({"position", "id", "token"}, rows);
  }
  rep.section("Next token");
  {
    std::vector<std::vector<std::string>> rows;
    const bool edited = !t.opt.edits.empty();
    for (size_t i = 0; i < t.next.size(); ++i) {
      std::vector<std::string> r{std::to_string(i + 1), display_token(t.next[i].piece, 24), fmt::format("{:.4f}", t.next[i].p)};
      if (edited) r.push_back(fmt::format("{:.4f}", t.next[i].p_edited));
      rows.push_back(r);
    }
    std::vector<std::string> hdr{"rank", "token", "p"};
    std::string cap;
    if (edited) {
      std::string what;
      for (const auto& [kind, h] : t.opt.edits) what += (what.empty() ? "" : ", ") + intervention_name(kind) + " " + head_label(h);
      hdr.push_back("p with " + what);
      cap = fmt::format("KL(unedited || edited) = {:.4g} nats", t.edited_kl);
    }
    rep.table(hdr, rows, cap);
  }
  const int L = t.n_layers, H = t.n_heads;
  rep.section("Sink mass per head");
  {
    Heatmap hm;
    hm.title = fmt::format("Mean attention on position {} (queries after it)", t.opt.sink_pos);
    hm.xlabel = "head", hm.ylabel = "layer", hm.cbar_label = "sink mass";
    hm.z_range = Range{0, 1};
    for (int l = 0; l < L; ++l) {
      std::vector<double> row;
      for (int h = 0; h < H; ++h) row.push_back(t.head(l, h).sink_mass);
      hm.values.push_back(row);
    }
    rep.figure(try_render(hm, (fs::path(out_dir) / "figures" / "sink_mass.png").string()),
               fmt::format("A head is dormant when its sink mass is at least {}.", t.opt.dormant_threshold), 70);
  }
  rep.section("Residual norms per token");
  {
    Heatmap hm;
    hm.title = "log10 |residual| after each layer";
    hm.xlabel = "token", hm.ylabel = "layer", hm.cbar_label = "log10 norm";
    hm.col_labels = labels;
    hm.annotate = 0;
    for (const auto& l : t.layers) {
      std::vector<double> row;
      for (float v : l.resid_norm) row.push_back(v > 0 ? std::log10((double)v) : std::nan(""));
      hm.values.push_back(row);
    }
    rep.figure(try_render(hm, (fs::path(out_dir) / "figures" / "resid_norms.png").string()),
               "Massive activations show as one bright column (the sink token's residual state).", 90);
    std::vector<std::vector<std::string>> rows;
    for (const auto& l : t.layers) {
      size_t b = 0;
      for (size_t i = 1; i < l.max_abs.size(); ++i)
        if (l.max_abs[i] > l.max_abs[b]) b = i;
      rows.push_back({std::to_string(l.layer), fmt::format("{:.1f}", l.max_abs[b]), labels[b] + " (" + std::to_string(b) + ")",
                      std::to_string(l.max_dim[b])});
    }
    rep.table({"layer", "largest |activation|", "at token", "dimension"}, rows);
  }
  rep.section("Attention patterns");
  rep.paragraph("Every head of each layer; rows are queries, columns keys; the colour scale is 0..1 for all.");
  for (int l = 0; l < L; ++l) {
    if (t.head(l, 0).pattern.empty()) continue;
    AttentionGrid g;
    g.title = fmt::format("Layer {}", l);
    g.tokens = t.pieces;
    for (int h = 0; h < H; ++h) {
      const auto& th = t.head(l, h);
      std::vector<std::vector<double>> p(T, std::vector<double>(T));
      for (int64_t q = 0; q < T; ++q)
        for (int64_t k = 0; k < T; ++k) p[q][k] = th.pattern[q * T + k];
      g.panels.push_back(std::move(p));
      g.panel_titles.push_back(fmt::format("{}  sink {:.2f}", head_label(l, h), th.sink_mass));
    }
    rep.figure(try_render(g, (fs::path(out_dir) / "figures" / fmt::format("layer{:02d}.png", l)).string()),
               fmt::format("Layer {}", l));
  }
  rep.section("Files");
  rep.paragraph("trace_heads.csv, trace_tokens.csv, trace_values.csv, trace_patterns.csv, next_token.csv, trace.json" +
                std::string(t.saved.empty() ? "" : ", hooks.safetensors (keys: hook names)") + ".");
  if (!in.command.empty()) rep.pre(in.command);
  for (const auto& w : rep.warnings()) fmt::print(stderr, "sinklab: warning: {}\n", w);
  rep.write(out("report.html"));
  return written;
}

}  // namespace sinklab::report

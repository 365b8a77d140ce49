// sinklab llm scan-series: the sink scan over the training checkpoints of one model
// (a checkpoint series, src/io/hf_dir.h), ordered by step: how attention sinks and
// dormant heads appear during pre-training (the paper's OLMo checkpoint study).
#include <cmath>
#include <filesystem>
#include <memory>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <torch/torch.h>

#include "analysis/core/heads.h"
#include "analysis/llm_scan.h"
#include "cli/command.h"
#include "data/corpus.h"
#include "data/tokenizer_hf.h"
#include "io/error.h"
#include "io/hf_dir.h"
#include "model/pretrained.h"
#include "model/transformer.h"
#include "io/csv.h"
#include "report/core/figures.h"
#include "report/core/html.h"

namespace sinklab::cli {
namespace {

struct SeriesArgs {
  std::vector<std::string> paths, domains;
  std::string tokenizer, out = "llm-series";
  int docs = 16, ctx = 128, sink_pos = 0, threads = 0;
  double threshold = 0.5;
  bool no_bos = false, no_progress = false;
};

void run_series(const SeriesArgs& a) {
  require(!a.domains.empty(), "give at least one --domain NAME=CORPUS.jsonl");
  {
    llm::ScanOptions check;
    check.docs = a.docs, check.ctx = a.ctx, check.sink_pos = a.sink_pos, check.dormant_threshold = a.threshold;
    llm::validate(check);
  }
  if (a.threads > 0) at::set_num_threads(a.threads);
  auto series = hf::checkpoint_series(a.paths);
  require(!series.empty(), "no checkpoint with a step in its name among the given paths");
  std::vector<std::pair<std::string, std::vector<std::string>>> corpora;
  for (auto& d : llm::parse_domain_specs(a.domains)) corpora.push_back({d.name, read_jsonl_corpus(d.path)});
  std::unique_ptr<Tokenizer> shared_tok;
  if (!a.tokenizer.empty()) shared_tok = std::make_unique<Tokenizer>(tokenizer_from_path(a.tokenizer));

  llm::ScanOptions o;
  o.docs = a.docs, o.ctx = a.ctx, o.sink_pos = a.sink_pos, o.add_bos = !a.no_bos, o.dormant_threshold = a.threshold;
  o.progress = !a.no_progress;
  CsvWriter heads({"step", "path", "domain", "layer", "head", "sink_mass", "class", "v_ratio"});
  CsvWriter summary({"step", "domain", "dormant_heads", "heads", "mean_sink_mass", "max_resid_ratio",
                             "max_resid_layer", "docs"});
  std::vector<double> steps;
  std::vector<std::vector<double>> dormant_frac(corpora.size()), mean_mass(corpora.size()), resid(corpora.size());
  for (const auto& c : series) {
    auto pm = load_pretrained(c.path);
    const Tokenizer& tok = shared_tok ? *shared_tok : pm.tok();
    require((int64_t)tok.vocab_size() <= pm.model->spec().vocab,
            fmt::format("'{}': the tokenizer has {} tokens but the model only {}", c.path, tok.vocab_size(),
                        pm.model->spec().vocab));
    std::vector<llm::DomainDocs> dd;
    for (auto& [name, texts] : corpora) dd.push_back(llm::prepare_domain(tok, name, texts, o));
    auto r = llm::scan(*pm.model, dd, o);
    steps.push_back((double)c.step);
    for (size_t d = 0; d < r.domains.size(); ++d) {
      const auto& ds = r.domains[d];
      int dormant = 0;
      double mass = 0;
      for (int l = 0; l < r.n_layers; ++l)
        for (int h = 0; h < r.n_heads; ++h) {
          const double m = llm::head_mean(ds, r.n_heads, l, h, &llm::HeadDoc::sink_mass);
          const double vs = llm::head_mean(ds, r.n_heads, l, h, &llm::HeadDoc::v_sink);
          const double vo = llm::head_mean(ds, r.n_heads, l, h, &llm::HeadDoc::v_other);
          dormant += is_dormant(m, a.threshold);
          mass += m;
          heads.add_row({c.step, c.path, ds.name, l, h, m, head_state(m, a.threshold),
                         vo > 0 ? vs / vo : std::nan("")});
        }
      double best = 0;
      int best_l = 0;
      for (int l = 0; l < r.n_layers; ++l) {
        const double so = llm::layer_mean(ds, l, &llm::LayerDoc::resid_other);
        const double ratio = so > 0 ? llm::layer_mean(ds, l, &llm::LayerDoc::resid_sink) / so : 0;
        if (ratio > best) best = ratio, best_l = l;
      }
      const int n = r.n_layers * r.n_heads;
      summary.add_row({c.step, ds.name, dormant, n, mass / n, best, best_l, (int)ds.docs.size()});
      dormant_frac[d].push_back((double)dormant / n);
      mean_mass[d].push_back(mass / n);
      resid[d].push_back(best);
      fmt::print("step {:>8}  {:<10} dormant heads {:>4}/{:<4} mean sink mass {:.3f}  peak residual ratio {:.2f} "
                 "(layer {})\n",
                 c.step, ds.name, dormant, n, mass / n, best, best_l);
    }
  }

  namespace fs = std::filesystem;
  fs::create_directories(fs::path(a.out) / "figures");
  heads.write((fs::path(a.out) / "series_heads.csv").string());
  summary.write((fs::path(a.out) / "series_summary.csv").string());
  report::HtmlReport rep("sinklab llm scan-series",
                         fmt::format("{} checkpoints, {} documents x {} tokens per domain, sink position {}",
                                     series.size(), a.docs, a.ctx, a.sink_pos));
  rep.section("Checkpoints");
  std::vector<std::vector<std::string>> rows;
  for (auto& c : series) rows.push_back({std::to_string(c.step), c.config.model_type, c.path});
  rep.table({"step", "model_type", "path"}, rows, "ordered by step");
  if (report::gnuplot_available()) {
    const bool logx = steps.front() > 0;
    auto panel = [&](const std::string& title, const std::string& ylabel,
                     const std::vector<std::vector<double>>& ys, const std::string& file) {
      report::LinePlot p;
      p.title = title, p.xlabel = "training step", p.ylabel = ylabel, p.log_x = logx;
      for (size_t d = 0; d < ys.size(); ++d) {
        auto s = report::Series::line(corpora[d].first, steps, ys[d], (int)d);
        s.style = report::SeriesStyle::LinePoints;
        p.series.push_back(s);
      }
      auto path = (fs::path(a.out) / "figures" / file).string();
      rep.figure(report::try_render(p, path), title, 60);
    };
    rep.section("Sinks over training");
    panel(fmt::format("Dormant heads (sink mass >= {})", a.threshold), "fraction of heads", dormant_frac,
          "dormant_fraction.png");
    panel("Mean attention on the sink", "mean sink mass over heads", mean_mass, "mean_sink_mass.png");
    panel("Residual-state peak", "max over layers of |resid sink| / |resid others|", resid, "resid_peak.png");
  } else {
    rep.paragraph("gnuplot was not found: figures are omitted; every number is in the CSV files.");
  }
  rep.section("Files");
  rep.paragraph("series_summary.csv (per checkpoint and domain), series_heads.csv (per checkpoint, domain, layer, head).");
  for (const auto& w : rep.warnings()) fmt::print(stderr, "sinklab: warning: {}\n", w);
  rep.write((fs::path(a.out) / "report.html").string());
  fmt::print("wrote {}/series_summary.csv, series_heads.csv and report.html\n", a.out);
}

Registrar reg(52, [](CLI::App& app) {
  auto* g = group(app, "llm");
  auto a = std::make_shared<SeriesArgs>();
  auto* c = g->add_subcommand(
      "scan-series", "Sink mass and dormant heads across the training checkpoints of one model, ordered by step");
  c->add_option("checkpoints", a->paths,
                "Hugging Face revision directories named with 'step<N>', or directories of them")
      ->required();
  c->add_option("--domain", a->domains, "NAME=CORPUS.jsonl (repeat for several domains)")->required();
  c->add_option("--tokenizer", a->tokenizer,
                "tokenizer for every checkpoint (HF dir, tokenizer.json, tokenizer.model or GGUF); default: each "
                "checkpoint's own");
  c->add_option("--docs", a->docs, "documents per domain")->capture_default_str();
  c->add_option("--ctx", a->ctx, "tokens per document (BOS included)")->capture_default_str();
  c->add_option("--sink-pos", a->sink_pos, "sink position P")->capture_default_str();
  c->add_option("--threshold", a->threshold, "dormant when sink mass >= this")->capture_default_str();
  c->add_flag("--no-bos", a->no_bos, "do not prepend BOS");
  c->add_option("--threads", a->threads, "intra-op threads (0 = LibTorch default)")->capture_default_str();
  c->add_option("--out", a->out, "output directory")->capture_default_str();
  c->add_flag("--no-progress", a->no_progress, "no progress bars");
  c->callback([a]() { run_series(*a); });
});

}  // namespace
}  // namespace sinklab::cli

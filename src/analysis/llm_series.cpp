#include "analysis/llm_series.h"

#include <cmath>
#include <memory>

#include <fmt/format.h>
#include <torch/torch.h>

#include "analysis/core/heads.h"
#include "data/corpus.h"
#include "data/tokenizer.h"
#include "data/tokenizer_hf.h"
#include "io/error.h"
#include "model/arch/hf_dir.h"
#include "model/pretrained.h"
#include "model/transformer.h"

namespace sinklab::llm {

namespace {

SeriesDomain summarize_domain(const ScanResult& r, const DomainScan& ds, double threshold, double epsilon) {
  SeriesDomain out;
  out.name = ds.name;
  out.heads = r.n_layers * r.n_heads;
  out.docs = (int)ds.docs.size();
  double mass = 0, vr = 0;
  int n_vr = 0;
  for (int l = 0; l < r.n_layers; ++l)
    for (int h = 0; h < r.n_heads; ++h) {
      const double m = head_mean(ds, r.n_heads, l, h, &HeadDoc::sink_mass);
      const double vs = head_mean(ds, r.n_heads, l, h, &HeadDoc::v_sink);
      const double vo = head_mean(ds, r.n_heads, l, h, &HeadDoc::v_other);
      out.dormant += is_dormant(m, threshold);
      out.sink_heads += m > epsilon;
      mass += m;
      out.per_head.push_back({l, h, m, vo > 0 ? vs / vo : std::nan("")});
      if (vo > 0) vr += vs / vo, ++n_vr;
    }
  out.mean_sink_mass = mass / out.heads;
  out.mean_v_ratio = n_vr ? vr / n_vr : std::nan("");
  for (int l = 0; l < r.n_layers; ++l) {
    const double so = layer_mean(ds, l, &LayerDoc::resid_other);
    const double ss = layer_mean(ds, l, &LayerDoc::resid_sink);
    const double ratio = so > 0 ? ss / so : 0;
    SeriesLayer sl{l, ss, so, 0, 0};
    // The sink's largest activation in the first document (its dimension is what
    // massive-activation studies track; it is the same across documents once formed).
    if (!ds.layers.empty() && (size_t)l < ds.layers[0].size())
      sl.sink_top_val = ds.layers[0][l].top_val[0], sl.sink_top_dim = ds.layers[0][l].top_dim[0];
    out.per_layer.push_back(sl);
    if (ratio > out.max_resid_ratio) out.max_resid_ratio = ratio, out.max_resid_layer = l;
  }
  return out;
}

}  // namespace

std::vector<SeriesDomain> scan_checkpoint(Transformer& model, const std::vector<DomainDocs>& docs,
                                          const ScanOptions& opt, double sink_epsilon) {
  auto r = scan(model, docs, opt);
  measure_domain_outliers(model, r);
  std::vector<SeriesDomain> out;
  for (const auto& ds : r.domains) {
    out.push_back(summarize_domain(r, ds, opt.dormant_threshold, sink_epsilon));
    out.back().outliers = ds.outliers;
  }
  return out;
}

SeriesResult series_scan(const SeriesOptions& opt, const std::function<void(const SeriesCheckpoint&)>& on_checkpoint) {
  require(!opt.domains.empty(), "give at least one --domain NAME=CORPUS.jsonl");
  validate(opt.scan);
  auto series = hf::checkpoint_series(opt.paths);
  require(!series.empty(), "no checkpoint with a step in its name among the given paths");
  std::vector<std::pair<std::string, std::vector<std::string>>> corpora;
  for (auto& d : parse_domain_specs(opt.domains)) corpora.push_back({d.name, read_jsonl_corpus(d.path)});
  std::unique_ptr<Tokenizer> shared_tok;
  if (!opt.tokenizer.empty()) shared_tok = std::make_unique<Tokenizer>(tokenizer_from_path(opt.tokenizer));

  SeriesResult res;
  res.opt = opt;
  for (auto& c : corpora) res.domain_names.push_back(c.first);
  for (const auto& c : series) {
    auto pm = load_pretrained(c.path, opt.load);
    const Tokenizer& tok = shared_tok ? *shared_tok : pm.tok();
    require((int64_t)tok.vocab_size() <= pm.model->spec().vocab,
            fmt::format("'{}': the tokenizer has {} tokens but the model only {}", c.path, tok.vocab_size(),
                        pm.model->spec().vocab));
    require(opt.scan.ctx <= pm.model->spec().n_ctx, fmt::format("'{}': --ctx = {} exceeds the model's context of {} tokens",
                                                               c.path, opt.scan.ctx, pm.model->spec().n_ctx));
    std::vector<DomainDocs> dd;
    for (auto& [name, texts] : corpora) dd.push_back(prepare_domain(tok, name, texts, opt.scan));
    SeriesCheckpoint cp;
    cp.step = c.step, cp.path = c.path, cp.model_type = c.config.model_type;
    cp.domains = scan_checkpoint(*pm.model, dd, opt.scan, opt.sink_epsilon);
    if (on_checkpoint) on_checkpoint(cp);
    res.checkpoints.push_back(std::move(cp));
  }
  return res;
}

}  // namespace sinklab::llm

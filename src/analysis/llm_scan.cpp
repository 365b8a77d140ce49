#include "analysis/llm_scan.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <set>

#include <fmt/format.h>
#include <torch/torch.h>

#include "analysis/llm_scan_util.h"
#include "analysis/sink_metrics.h"
#include "data/tokenizer.h"
#include "io/error.h"
#include "io/progress.h"
#include "model/transformer.h"

namespace sinklab::llm {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
at::Tensor to_tensor(const std::vector<int32_t>& ids) {
  return torch::tensor(std::vector<int64_t>(ids.begin(), ids.end()), torch::kInt64).unsqueeze(0);
}

DomainDocs prepare_domain(const Tokenizer& tok, const std::string& name, const std::vector<std::string>& texts,
                          const ScanOptions& opt) {
  validate(opt);
  if (opt.add_bos) require(tok.bos_id() >= 0, "the tokenizer has no BOS token (use --no-bos)");
  DomainDocs d;
  d.name = name;
  EncodeOptions e;
  e.add_bos = opt.add_bos;
  e.add_eos = false;
  for (size_t i = 0; i < texts.size() && (int)d.docs.size() < opt.docs; ++i) {
    auto ids = tok.encode(texts[i], e);
    if ((int)ids.size() < opt.ctx + 1) {
      ++d.skipped_short;
      continue;
    }
    ids.resize(opt.ctx + 1);
    Document doc;
    doc.ids = std::move(ids);
    for (auto id : doc.ids) doc.pieces.push_back(tok.token_to_piece(id));
    doc.source_index = (int)i;
    d.docs.push_back(std::move(doc));
  }
  require(!d.docs.empty(), fmt::format("domain '{}': no document has the {} tokens needed ({} skipped as shorter)",
                                       name, opt.ctx + 1, d.skipped_short));
  return d;
}

namespace {

void reduce_layer(const Hooks& h, int l, const ScanOptions& opt, int doc_index, const Document& doc, int n_heads,
                  DomainScan& out, std::vector<HeadDoc>& heads, LayerDoc& ld) {
  const int64_t P = opt.sink_pos;
  // Residual (massive activations).
  auto R = h.get(HookPoint::ResidPost, l)[0].to(torch::kCPU, torch::kFloat64);  // [T, d]
  const int64_t T = R.size(0), d = R.size(1);
  auto rn = sink::norms_at_sink(R, 0, P);
  ld.resid_sink = rn.sink.item<double>();
  ld.resid_other = rn.other.item<double>();
  auto A = R.abs();
  ld.median_abs = A.flatten().median().item<double>();
  auto [tv, ti] = A[P].topk(3);
  for (int i = 0; i < 3; ++i) {
    ld.top_dim[i] = (int)ti[i].item<int64_t>();
    ld.top_val[i] = R[P][ld.top_dim[i]].item<double>();
  }
  auto flat_idx = A.flatten().argmax().item<int64_t>();
  ld.max_abs = A.flatten()[flat_idx].item<double>();
  ld.max_pos = (int)(flat_idx / d), ld.max_dim = (int)(flat_idx % d);

  // On the CPU (the model may run on a GPU or in bfloat16).
  auto pat = h.get(HookPoint::Pattern, l)[0].to(torch::kCPU, torch::kFloat32);     // [H, T, T] (float32: 2x faster, sums of <= T terms)
  auto sc = h.get(HookPoint::AttnScores, l)[0].to(torch::kCPU, torch::kFloat32);   // [H, T, T]
  auto v = h.get(HookPoint::V, l)[0].to(torch::kCPU, torch::kFloat64);             // [T, H, hd]
  const int64_t nq = T - 1 - P;
  auto ps = pat.narrow(1, P + 1, nq);                                  // [H, nq, T]
  auto sink = sink::mass(ps, P).mean(1);                               // [H]
  auto top = std::get<0>(ps.topk(2, -1));                              // [H, nq, 2]
  auto top1 = top.select(2, 0).mean(1), top2 = top.sum(-1).mean(1);
  auto logn = torch::arange(P + 2, T + 1, torch::kFloat32).log();     // visible keys of q: q + 1
  auto ent = -(ps * ps.clamp_min(1e-30).log()).sum(-1);              // [H, nq]
  auto rowent = (ent / logn).mean(1);
  auto col = ps.sum(1);                                                // [H, T]
  auto c = col / col.sum(-1, true);
  auto colent = -(c * c.clamp_min(1e-30).log()).sum(-1) / std::log((double)T);
  auto vn = sink::norms_at_sink(v, 0, P);                              // [H]
  auto vs = vn.sink, vo = vn.other;
  auto gap = sink::logit_gap(sc.narrow(1, P + 1, nq), P);              // [H, nq]
  auto gmean = gap.mean(1), gstd = nq > 1 ? gap.std(1) : torch::zeros_like(gmean);
  // Secondary sinks: mean attention on key k from queries q > k (q > P).
  auto diag = torch::zeros({pat.size(0), T}, torch::kFloat32);         // p[q=k, k] when k > P
  diag.narrow(1, P + 1, nq).copy_(ps.diagonal(P + 1, 1, 2));
  auto kk = torch::arange(T, torch::kFloat32);
  auto later = torch::where(kk >= (double)P, (double)(T - 1) - kk, torch::full_like(kk, (double)nq));
  auto recv = (col - diag) / later.clamp_min(1.0);                     // [H, T]
  auto sec = (recv >= opt.secondary_threshold) & (later >= (double)opt.min_later).unsqueeze(0);
  sec.select(1, P).fill_(false);
  auto idx = sec.nonzero();  // [n, 2]
  for (int64_t i = 0; i < idx.size(0); ++i) {
    SecondarySink s;
    s.doc = doc_index, s.layer = l, s.head = (int)idx[i][0].item<int64_t>();
    s.position = (int)idx[i][1].item<int64_t>();
    s.token = doc.pieces[s.position];
    s.mass = (double)recv[s.head][s.position].item<float>();
    out.secondary.push_back(std::move(s));
  }
  auto acc = [](const at::Tensor& t) { return t.to(torch::kFloat64).contiguous(); };
  auto a_sink = acc(sink), a_t1 = acc(top1), a_t2 = acc(top2), a_re = acc(rowent), a_ce = acc(colent);
  auto a_vs = acc(vs), a_vo = acc(vo), a_gm = acc(gmean), a_gs = acc(gstd);
  for (int hh = 0; hh < n_heads; ++hh) {
    HeadDoc& o = heads[(size_t)l * n_heads + hh];
    o.sink_mass = a_sink.data_ptr<double>()[hh];
    o.top1 = a_t1.data_ptr<double>()[hh];
    o.top2 = a_t2.data_ptr<double>()[hh];
    o.row_entropy = a_re.data_ptr<double>()[hh];
    o.col_entropy = a_ce.data_ptr<double>()[hh];
    o.v_sink = a_vs.data_ptr<double>()[hh];
    o.v_other = a_vo.data_ptr<double>()[hh];
    o.gap_mean = a_gm.data_ptr<double>()[hh];
    o.gap_std = a_gs.data_ptr<double>()[hh];
  }
}

}  // namespace

double scan_memory_bytes(int n_layers, int n_heads, int ctx, int batch) {
  const double tt = (double)ctx * (double)ctx * (double)n_heads;
  return (double)n_layers * tt * (4 + 4 + 8 + 8) + (double)batch * tt * 4 * 3;
}

void validate(const ScanOptions& o) {
  require(o.docs >= 1, "--docs must be at least 1");
  require(o.ctx >= 2 && o.ctx <= (1 << 20), fmt::format("--ctx = {} must be in [2, 1048576]", o.ctx));
  require(o.sink_pos >= 0 && o.sink_pos <= o.ctx - 2,
          fmt::format("--sink-pos {} is outside the context (valid: 0..{} for --ctx {})", o.sink_pos, o.ctx - 2,
                      o.ctx));
  require(o.dormant_threshold >= 0 && o.dormant_threshold <= 1, "--threshold must be in [0, 1]");
}

at::Tensor doc_batch(const std::vector<Document>& docs) {
  std::vector<int64_t> flat;
  for (const auto& d : docs) flat.insert(flat.end(), d.ids.begin(), d.ids.end());
  return torch::tensor(flat, torch::kInt64).view({(int64_t)docs.size(), -1});
}

void measure_domain_outliers(Transformer& model, ScanResult& r, int max_docs) {
  for (auto& d : r.domains) {
    const int n = std::min<int>(max_docs, (int)d.docs.size());
    if (n == 0) continue;
    d.outliers = measure_outliers(model, doc_batch({d.docs.begin(), d.docs.begin() + n}));
    d.outlier_docs = n;
  }
}

ScanResult scan(const Transformer& model, const std::vector<DomainDocs>& domains, const ScanOptions& opt) {
  torch::NoGradGuard ng;
  const auto& s = model.spec();
  ScanResult r;
  r.opt = opt;
  r.n_layers = s.n_layers, r.n_heads = s.n_heads;
  auto t0 = std::chrono::steady_clock::now();
  int64_t total = 0;
  for (auto& d : domains) total += (int64_t)d.docs.size();
  Progress bar(total, opt.add_bos ? "scan (BOS)" : "scan (no BOS)", opt.progress);
  int64_t done = 0;
  for (auto& dd : domains) {
    DomainScan ds;
    ds.name = dd.name;
    ds.skipped_short = dd.skipped_short;
    ds.docs = dd.docs;
    for (size_t di = 0; di < dd.docs.size(); ++di) {
      const auto& doc = dd.docs[di];
      require((int)doc.ids.size() >= opt.sink_pos + 3, "document too short for the sink position");
      Hooks h;
      sink::record_inputs(h, s);
      auto nll = model.token_nll(to_tensor(doc.ids).to(torch::Device(model.device())), &h);
      ++r.forward_passes;
      ds.base_loss.push_back(nll.to(torch::kFloat64).mean().item<double>());
      std::vector<HeadDoc> heads((size_t)s.n_layers * s.n_heads);
      std::vector<LayerDoc> layers(s.n_layers);
      for (int l = 0; l < s.n_layers; ++l)
        reduce_layer(h, l, opt, (int)di, doc, s.n_heads, ds, heads, layers[l]);
      ds.heads.push_back(std::move(heads));
      ds.layers.push_back(std::move(layers));
      bar.update(++done);
    }
    r.domains.push_back(std::move(ds));
  }
  bar.finish();
  r.seconds = seconds_since(t0);
  return r;
}

std::vector<double> head_values(const DomainScan& d, int n_heads, int layer, int head, double HeadDoc::*field) {
  std::vector<double> v;
  for (auto& doc : d.heads) v.push_back(doc[(size_t)layer * n_heads + head].*field);
  return v;
}
double head_mean(const DomainScan& d, int n_heads, int layer, int head, double HeadDoc::*field) {
  auto v = head_values(d, n_heads, layer, head, field);
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? std::nan("") : s / v.size();
}
double layer_mean(const DomainScan& d, int layer, double LayerDoc::*field) {
  double s = 0;
  for (auto& doc : d.layers) s += doc[layer].*field;
  return d.layers.empty() ? std::nan("") : s / d.layers.size();
}

}  // namespace sinklab::llm

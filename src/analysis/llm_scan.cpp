#include "analysis/llm_scan.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "data/tokenizer.h"
#include "io/error.h"
#include "io/progress.h"
#include "model/transformer.h"

namespace sinklab::llm {

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
at::Tensor to_tensor(const std::vector<int32_t>& ids) {
  return torch::tensor(std::vector<int64_t>(ids.begin(), ids.end()), torch::kInt64).unsqueeze(0);
}
}  // namespace

DomainDocs prepare_domain(const Tokenizer& tok, const std::string& name, const std::vector<std::string>& texts,
                          const ScanOptions& opt) {
  require(opt.ctx >= 2, "--ctx must be at least 2");
  require(opt.docs >= 1, "--docs must be at least 1");
  require(opt.sink_pos >= 0 && opt.sink_pos <= opt.ctx - 2,
          fmt::format("sink position {} is outside the context (valid: 0..{} for --ctx {})", opt.sink_pos,
                      opt.ctx - 2, opt.ctx));
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
  auto R = h.get(HookPoint::ResidPost, l)[0].to(torch::kFloat64);  // [T, d]
  const int64_t T = R.size(0), d = R.size(1);
  auto norms = R.norm(2, -1);
  ld.resid_sink = norms[P].item<double>();
  ld.resid_other = ((norms.sum() - norms[P]) / double(T - 1)).item<double>();
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

  auto pat = h.get(HookPoint::Pattern, l)[0].to(torch::kFloat32);     // [H, T, T] (float32: 2x faster, sums of <= T terms)
  auto sc = h.get(HookPoint::AttnScores, l)[0].to(torch::kFloat32);   // [H, T, T]
  auto v = h.get(HookPoint::V, l)[0].to(torch::kFloat64);             // [T, H, hd]
  const int64_t nq = T - 1 - P;
  auto ps = pat.narrow(1, P + 1, nq);                                  // [H, nq, T]
  auto sink = ps.select(2, P).mean(1);                                 // [H]
  auto top = std::get<0>(ps.topk(2, -1));                              // [H, nq, 2]
  auto top1 = top.select(2, 0).mean(1), top2 = top.sum(-1).mean(1);
  auto logn = torch::arange(P + 2, T + 1, torch::kFloat32).log();     // visible keys of q: q + 1
  auto ent = -(ps * ps.clamp_min(1e-30).log()).sum(-1);              // [H, nq]
  auto rowent = (ent / logn).mean(1);
  auto col = ps.sum(1);                                                // [H, T]
  auto c = col / col.sum(-1, true);
  auto colent = -(c * c.clamp_min(1e-30).log()).sum(-1) / std::log((double)T);
  auto vn = v.norm(2, -1);                                             // [T, H]
  auto vs = vn[P], vo = (vn.sum(0) - vn[P]) / double(T - 1);
  auto ss = sc.narrow(1, P + 1, nq);                                   // [H, nq, T]
  auto fin = torch::isfinite(ss);
  auto s0 = torch::where(fin, ss, torch::zeros_like(ss));
  auto cnt = fin.sum(-1).to(torch::kFloat32) - 1.0;
  auto gap = s0.select(2, P) - (s0.sum(-1) - s0.select(2, P)) / cnt.clamp_min(1.0);  // [H, nq]
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

void validate(const ScanOptions& o) {
  require(o.docs >= 1, "--docs must be at least 1");
  require(o.ctx >= 2, "--ctx must be at least 2");
  require(o.sink_pos >= 0 && o.sink_pos <= o.ctx - 2,
          fmt::format("--sink-pos {} is outside the context (valid: 0..{} for --ctx {})", o.sink_pos, o.ctx - 2,
                      o.ctx));
  require(o.dormant_threshold >= 0 && o.dormant_threshold <= 1, "--threshold must be in [0, 1]");
}

std::vector<DomainSpec> parse_domain_specs(const std::vector<std::string>& specs) {
  std::vector<DomainSpec> out;
  std::set<std::string> names;
  for (auto& spec : specs) {
    auto eq = spec.find('=');
    require(eq != std::string::npos, fmt::format("--domain '{}': expected NAME=CORPUS.jsonl", spec));
    DomainSpec d{spec.substr(0, eq), spec.substr(eq + 1)};
    require(!d.name.empty() && !d.path.empty(), fmt::format("--domain '{}': expected NAME=CORPUS.jsonl", spec));
    require(d.name.find_first_of("/\\ ") == std::string::npos,
            fmt::format("--domain '{}': the name must not contain '/', '\\' or spaces", spec));
    require(names.insert(d.name).second, fmt::format("--domain '{}': domain '{}' given twice", spec, d.name));
    out.push_back(std::move(d));
  }
  return out;
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
      h.record(HookPoint::Pattern);
      h.record(HookPoint::AttnScores);
      h.record(HookPoint::V);
      h.record(HookPoint::ResidPost);
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

// ---------------------------------------------------------------- bootstrap
namespace {
double mean_of(const std::vector<double>& x) {
  double s = 0;
  for (double v : x) s += v;
  return x.empty() ? std::nan("") : s / x.size();
}
double resample_mean(const std::vector<double>& x, std::mt19937_64& rng) {
  std::uniform_int_distribution<size_t> u(0, x.size() - 1);
  double s = 0;
  for (size_t i = 0; i < x.size(); ++i) s += x[u(rng)];
  return s / x.size();
}
Interval percentile(double mean, std::vector<double>& boots) {
  Interval iv;
  iv.mean = mean;
  if (boots.empty()) return iv.lo = iv.hi = mean, iv;
  std::sort(boots.begin(), boots.end());
  auto at = [&](double q) {
    double pos = q * (boots.size() - 1);
    size_t i = (size_t)pos;
    double f = pos - i;
    return i + 1 < boots.size() ? boots[i] * (1 - f) + boots[i + 1] * f : boots[i];
  };
  iv.lo = at(0.025), iv.hi = at(0.975);
  return iv;
}
}  // namespace

Interval bootstrap_mean(const std::vector<double>& x, int resamples, uint64_t seed) {
  require(!x.empty(), "bootstrap of no values");
  std::mt19937_64 rng(seed);
  std::vector<double> b;
  for (int i = 0; i < resamples; ++i) b.push_back(resample_mean(x, rng));
  return percentile(mean_of(x), b);
}

Interval bootstrap_diff(const std::vector<double>& a, const std::vector<double>& c, int resamples, uint64_t seed) {
  require(!a.empty() && !c.empty(), "bootstrap of no values");
  std::mt19937_64 rng(seed);
  std::vector<double> b;
  for (int i = 0; i < resamples; ++i) {
    double ma = resample_mean(a, rng);
    b.push_back(ma - resample_mean(c, rng));
  }
  return percentile(mean_of(a) - mean_of(c), b);
}

// ---------------------------------------------------------------- classification
std::vector<HeadRank> rank_heads(const ScanResult& r, int resamples, uint64_t seed) {
  require(!r.domains.empty(), "no domains scanned");
  const double thr = r.opt.dormant_threshold;
  std::vector<HeadRank> out;
  for (int l = 0; l < r.n_layers; ++l)
    for (int h = 0; h < r.n_heads; ++h) {
      HeadRank best;
      best.head = {l, h};
      double best_abs = -1;
      const size_t nd = r.domains.size();
      for (size_t a = 0; a < nd; ++a)
        for (size_t b = (nd == 1 ? a : a + 1); b < nd; ++b) {
          double ma = head_mean(r.domains[a], r.n_heads, l, h, &HeadDoc::sink_mass);
          double mb = head_mean(r.domains[b], r.n_heads, l, h, &HeadDoc::sink_mass);
          double diff = nd == 1 ? ma : ma - mb;
          if (std::abs(diff) <= best_abs) continue;
          best_abs = std::abs(diff);
          best.dom_a = (int)a, best.dom_b = (int)b, best.mass_a = ma, best.mass_b = mb;
        }
      auto va = head_values(r.domains[best.dom_a], r.n_heads, l, h, &HeadDoc::sink_mass);
      uint64_t s = seed + (uint64_t)(l * 1000 + h);
      if (nd == 1)
        best.diff = bootstrap_mean(va, resamples, s);
      else
        best.diff = bootstrap_diff(va, head_values(r.domains[best.dom_b], r.n_heads, l, h, &HeadDoc::sink_mass),
                                   resamples, s);
      best.dormant_a = is_dormant(best.mass_a, thr), best.dormant_b = is_dormant(best.mass_b, thr);
      out.push_back(best);
    }
  std::stable_sort(out.begin(), out.end(),
                   [](const HeadRank& x, const HeadRank& y) { return std::abs(x.diff.mean) > std::abs(y.diff.mean); });
  return out;
}

// ---------------------------------------------------------------- ablation
std::string ablation_name(AblationKind k) { return k == AblationKind::ZeroHead ? "zero-head" : "attend-sink"; }

std::vector<HeadRef> parse_head_selection(const std::string& spec, int n_layers, int n_heads,
                                          const std::vector<HeadRank>& ranked) {
  std::vector<HeadRef> out;
  if (spec == "all") {
    for (int l = 0; l < n_layers; ++l)
      for (int h = 0; h < n_heads; ++h) out.push_back({l, h});
    return out;
  }
  if (spec.rfind("top:", 0) == 0) {
    int k = 0;
    try {
      size_t pos = 0;
      k = std::stoi(spec.substr(4), &pos);
      require(pos == spec.size() - 4, "");
    } catch (...) {
      fail("--ablate '" + spec + "': top:K needs a whole number K");
    }
    require(k >= 0, "--ablate '" + spec + "': K must be >= 0");
    for (int i = 0; i < k && i < (int)ranked.size(); ++i) out.push_back(ranked[i].head);
    return out;
  }
  std::stringstream ss(spec);
  std::string item;
  while (std::getline(ss, item, ',')) {
    HeadRef r = parse_head(item, "--ablate (a head as L3H5 or 3.5, 'top:K' or 'all')");
    require(r.layer < n_layers && r.head < n_heads,
            fmt::format("--ablate: unknown head {} (the model has layers 0..{} and heads 0..{})", item,
                        n_layers - 1, n_heads - 1));
    if (std::find(out.begin(), out.end(), r) == out.end()) out.push_back(r);
  }
  require(!out.empty(), "--ablate: no heads given");
  return out;
}

void add_ablation(Hooks& hooks, AblationKind kind, const HeadRef& hr, int sink_pos, int64_t batch_index) {
  const int head = hr.head;
  if (kind == AblationKind::ZeroHead) {
    hooks.add_override(HookPoint::Z, hr.layer, [=](const at::Tensor& z) {  // [B, T, H, hd]
      auto o = z.clone();
      if (batch_index >= 0)
        o[batch_index].select(1, head).zero_();
      else
        o.select(2, head).zero_();
      return o;
    });
  } else {
    hooks.add_override(HookPoint::Pattern, hr.layer, [=](const at::Tensor& p) {  // [B, H, T, T]
      auto o = p.clone();
      const int64_t T = p.size(2);
      if (sink_pos >= T) return o;
      auto set = [&](at::Tensor ph) {  // [T, T] of one batch element's head
        auto sub = ph.narrow(0, sink_pos, T - sink_pos);
        sub.zero_();
        sub.select(1, sink_pos).fill_(1.0);
      };
      if (batch_index >= 0)
        set(o[batch_index][head]);
      else
        for (int64_t b = 0; b < o.size(0); ++b) set(o[b][head]);
      return o;
    });
  }
}

std::vector<double> sequence_loss(const Transformer& model, const at::Tensor& tokens, Hooks* hooks) {
  torch::NoGradGuard ng;
  auto nll = model.token_nll(tokens.to(torch::Device(model.device())), hooks).to(torch::kFloat64).mean(1).cpu();
  std::vector<double> out(nll.size(0));
  for (int64_t i = 0; i < nll.size(0); ++i) out[i] = nll[i].item<double>();
  return out;
}

AblationRun ablate(const Transformer& model, const ScanResult& r, const std::vector<HeadRef>& heads,
                   const AblationOptions& opt) {
  torch::NoGradGuard ng;
  require(opt.batch >= 1, "ablation batch must be >= 1");
  AblationRun run;
  auto t0 = std::chrono::steady_clock::now();
  struct Job {
    HeadRef head;
    AblationKind kind;
  };
  std::vector<Job> jobs;
  for (auto& h : heads)
    for (auto k : {AblationKind::ZeroHead, AblationKind::SinkAttention}) jobs.push_back({h, k});
  // results[(job, domain)]
  auto ndocs = [&](size_t d) {
    size_t n = r.domains[d].docs.size();
    return opt.max_docs > 0 ? std::min(n, (size_t)opt.max_docs) : n;
  };
  std::vector<AblationResult> res;
  for (auto& j : jobs)
    for (size_t d = 0; d < r.domains.size(); ++d) {
      AblationResult a;
      a.head = j.head, a.kind = j.kind, a.domain = (int)d;
      a.delta.assign(ndocs(d), 0.0);
      res.push_back(std::move(a));
    }
  int64_t total = 0;
  const int64_t groups = ((int64_t)jobs.size() + opt.batch - 1) / opt.batch;
  for (size_t d = 0; d < r.domains.size(); ++d) total += groups * (int64_t)ndocs(d);
  Progress bar(total, "ablation", opt.progress);
  int64_t done = 0;
  const size_t nd = r.domains.size();
  for (size_t d = 0; d < nd; ++d) {
    const auto& dom = r.domains[d];
    for (size_t di = 0; di < ndocs(d); ++di) {
      auto x = to_tensor(dom.docs[di].ids);
      for (size_t g0 = 0; g0 < jobs.size(); g0 += opt.batch) {
        const size_t gn = std::min(jobs.size() - g0, (size_t)opt.batch);
        Hooks h;
        for (size_t i = 0; i < gn; ++i)
          add_ablation(h, jobs[g0 + i].kind, jobs[g0 + i].head, r.opt.sink_pos, (int64_t)i);
        auto losses = sequence_loss(model, x.expand({(int64_t)gn, x.size(1)}).contiguous(), &h);
        ++run.forward_passes;
        run.ablated_sequences += (int)gn;
        for (size_t i = 0; i < gn; ++i) res[(g0 + i) * nd + d].delta[di] = losses[i] - dom.base_loss[di];
        bar.update(++done);
      }
    }
  }
  bar.finish();
  for (size_t i = 0; i < res.size(); ++i)
    res[i].ci = bootstrap_mean(res[i].delta, opt.resamples, opt.seed + i);
  run.results = std::move(res);
  run.seconds = seconds_since(t0);
  return run;
}

AblationRun attribute_all_heads(const Transformer& model, const ScanResult& r, const AblationOptions& opt) {
  AblationRun run;
  auto t0 = std::chrono::steady_clock::now();
  const int L = r.n_layers, H = r.n_heads;
  const size_t nd = r.domains.size();
  const int64_t P = r.opt.sink_pos;
  auto ndocs = [&](size_t d) {
    size_t n = r.domains[d].docs.size();
    return opt.max_docs > 0 ? std::min(n, (size_t)opt.max_docs) : n;
  };
  const AblationKind kinds[2] = {AblationKind::ZeroHead, AblationKind::SinkAttention};
  std::vector<AblationResult> res;
  for (int l = 0; l < L; ++l)
    for (int h = 0; h < H; ++h)
      for (auto k : kinds)
        for (size_t d = 0; d < nd; ++d) {
          AblationResult a;
          a.head = {l, h}, a.kind = k, a.domain = (int)d;
          a.delta.assign(ndocs(d), 0.0);
          res.push_back(std::move(a));
        }
  auto slot = [&](int l, int h, int k, size_t d) -> AblationResult& { return res[((size_t)(l * H + h) * 2 + k) * nd + d]; };
  int64_t total = 0;
  for (size_t d = 0; d < nd; ++d) total += (int64_t)ndocs(d);
  Progress bar(total, "attribution", opt.progress);
  int64_t done = 0;
  const torch::Device dev(model.device());
  for (size_t d = 0; d < nd; ++d) {
    const auto& dom = r.domains[d];
    for (size_t di = 0; di < ndocs(d); ++di) {
      torch::AutoGradMode grad_on(true);
      Hooks hk;
      // Gradients flow from the embeddings on (the weights need none).
      hk.add_override(HookPoint::Embed, -1, [](const at::Tensor& t) { return t.detach().requires_grad_(true); });
      hk.record(HookPoint::Z);
      hk.record(HookPoint::V);
      auto loss = model.token_nll(to_tensor(dom.docs[di].ids).to(dev), &hk).mean();
      std::vector<at::Tensor> zs;
      for (int l = 0; l < L; ++l) zs.push_back(hk.get(HookPoint::Z, l));
      auto grads = torch::autograd::grad({loss}, zs);
      torch::NoGradGuard ng;
      for (int l = 0; l < L; ++l) {
        auto g = grads[l][0].to(torch::kFloat64);            // [T, H, hd]
        auto z = zs[l][0].detach().to(torch::kFloat64);      // [T, H, hd]
        auto v = hk.get(HookPoint::V, l)[0].to(torch::kFloat64);
        const int64_t T = z.size(0);
        const std::vector<int64_t> dims{0, 2};
        auto zero = (-(g * z)).sum(dims).cpu();            // [H]
        auto dz = v[P].unsqueeze(0) - z.narrow(0, P, T - P);
        auto sink = (g.narrow(0, P, T - P) * dz).sum(dims).cpu();
        for (int h = 0; h < H; ++h) {
          slot(l, h, 0, d).delta[di] = zero[h].item<double>();
          slot(l, h, 1, d).delta[di] = sink[h].item<double>();
        }
      }
      ++run.forward_passes;
      ++run.ablated_sequences;
      bar.update(++done);
    }
  }
  bar.finish();
  for (size_t i = 0; i < res.size(); ++i) res[i].ci = bootstrap_mean(res[i].delta, opt.resamples, opt.seed + i);
  run.results = std::move(res);
  run.seconds = seconds_since(t0);
  return run;
}

Agreement estimate_agreement(const AblationRun& exact, const AblationRun& estimate) {
  std::vector<std::pair<double, double>> xy;
  for (auto& e : exact.results)
    for (auto& s : estimate.results)
      if (s.head == e.head && s.kind == e.kind && s.domain == e.domain) {
        xy.push_back({e.ci.mean, s.ci.mean});
        break;
      }
  Agreement a;
  a.n = (int)xy.size();
  if (a.n < 3) {
    a.pearson = std::nan("");
    return a;
  }
  double mx = 0, my = 0;
  for (auto& [x, y] : xy) mx += x, my += y;
  mx /= a.n, my /= a.n;
  double sxx = 0, syy = 0, sxy = 0;
  int same = 0;
  for (auto& [x, y] : xy) {
    sxx += (x - mx) * (x - mx), syy += (y - my) * (y - my), sxy += (x - mx) * (y - my);
    same += (x >= 0) == (y >= 0);
  }
  a.pearson = (sxx > 0 && syy > 0) ? sxy / std::sqrt(sxx * syy) : std::nan("");
  a.sign_agree = (double)same / a.n;
  return a;
}

std::vector<std::vector<std::vector<double>>> attention_of(const Transformer& model, const std::vector<int32_t>& ids,
                                                           const std::vector<HeadRef>& heads) {
  torch::NoGradGuard ng;
  Hooks h;
  for (auto& hr : heads) h.record(HookPoint::Pattern, hr.layer);
  model.forward(to_tensor(ids).to(torch::Device(model.device())), &h);
  std::vector<std::vector<std::vector<double>>> out;
  for (auto& hr : heads) {
    auto p = h.get(HookPoint::Pattern, hr.layer)[0][hr.head].to(torch::kFloat64).cpu().contiguous();
    const int64_t T = p.size(0);
    std::vector<std::vector<double>> m(T, std::vector<double>(T));
    auto* ptr = p.data_ptr<double>();
    for (int64_t i = 0; i < T; ++i)
      for (int64_t j = 0; j < T; ++j) m[i][j] = ptr[i * T + j];
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace sinklab::llm

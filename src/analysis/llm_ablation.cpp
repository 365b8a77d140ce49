// Ablation of heads on the scanned documents (exact, one forward pass per head and
// kind) and its first-order estimate for every head (attribution), with their agreement.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>
#include <torch/torch.h>

#include "analysis/llm_scan.h"
#include "analysis/llm_scan_util.h"
#include "io/error.h"
#include "io/progress.h"
#include "model/transformer.h"

namespace sinklab::llm {

const std::vector<Intervention>& scan_interventions() {
  static const std::vector<Intervention> k = {Intervention::ZeroHead, Intervention::AttendSink};
  return k;
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
  const std::vector<Intervention>& kinds = opt.kinds.empty() ? scan_interventions() : opt.kinds;
  for (auto k : kinds)
    require(k == Intervention::ZeroHead || k == Intervention::AttendSink,
            "ablation: '" + intervention_name(k) + "' is not one of the scan's interventions (zero-head, attend-sink)");
  AblationRun run;
  auto t0 = std::chrono::steady_clock::now();
  struct Job {
    HeadRef head;
    Intervention kind;
  };
  std::vector<Job> jobs;
  for (auto& h : heads)
    for (auto k : kinds) jobs.push_back({h, k});
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
  // Copies ablated in one layer share the clean forward up to that layer: the jobs go
  // in layer order, in batches that never mix layers, each starting from the recorded
  // residual stream entering its layer (Transformer::forward_from).
  std::vector<size_t> order(jobs.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t x, size_t y) { return jobs[x].head.layer < jobs[y].head.layer; });
  std::vector<std::pair<size_t, size_t>> groups;  // [begin, end) in `order`
  for (size_t g0 = 0; g0 < order.size();) {
    size_t g1 = g0 + 1;
    while (g1 < order.size() && g1 - g0 < (size_t)opt.batch &&
           jobs[order[g1]].head.layer == jobs[order[g0]].head.layer)
      ++g1;
    groups.emplace_back(g0, g1);
    g0 = g1;
  }
  int64_t total = 0;
  for (size_t d = 0; d < r.domains.size(); ++d) total += (int64_t)groups.size() * (int64_t)ndocs(d);
  Progress bar(total, "ablation", opt.progress);
  int64_t done = 0;
  const size_t nd = r.domains.size();
  const torch::Device dev(model.device());
  for (size_t d = 0; d < nd; ++d) {
    const auto& dom = r.domains[d];
    for (size_t di = 0; di < ndocs(d); ++di) {
      auto ids = to_tensor(dom.docs[di].ids).to(dev);  // [1, T+1]
      const int64_t T = ids.size(1) - 1;
      auto x = ids.narrow(1, 0, T), targets = ids.narrow(1, 1, T);
      Hooks clean;
      clean.record(HookPoint::ResidPre);
      model.forward(x, &clean);
      for (const auto& [g0, g1] : groups) {
        const int layer = jobs[order[g0]].head.layer;
        const int64_t gn = (int64_t)(g1 - g0);
        Hooks h;
        for (size_t i = g0; i < g1; ++i) {
          InterventionSite site;
          site.head = jobs[order[i]].head, site.sink_pos = r.opt.sink_pos, site.batch_index = (int64_t)(i - g0);
          add_intervention(h, jobs[order[i]].kind, site);
        }
        auto resid = clean.get(HookPoint::ResidPre, layer).expand({gn, T, -1}).contiguous();
        auto logits = model.forward_from(layer, resid, &h);
        auto nll = -torch::log_softmax(logits, -1).gather(2, targets.expand({gn, T}).unsqueeze(-1)).squeeze(-1);
        auto loss = nll.to(torch::kFloat64).mean(1).cpu();
        ++run.forward_passes;
        run.ablated_sequences += (int)gn;
        for (int64_t i = 0; i < gn; ++i)
          res[order[g0 + (size_t)i] * nd + d].delta[di] = loss[i].item<double>() - dom.base_loss[di];
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

AblationRun attribute_all_heads(const Transformer& model, const ScanResult& r, const AblationOptions& opt,
                                AblationRun* plain_run) {
  AblationRun run;
  run.method = opt.graddrop ? "atp-graddrop" : "atp";
  run.magnitude = opt.graddrop;
  auto t0 = std::chrono::steady_clock::now();
  const int L = r.n_layers, H = r.n_heads;
  const size_t nd = r.domains.size();
  const int64_t P = r.opt.sink_pos;
  require(!opt.graddrop || L >= 2, "GradDrop needs a model of at least 2 layers");
  auto ndocs = [&](size_t d) {
    size_t n = r.domains[d].docs.size();
    return opt.max_docs > 0 ? std::min(n, (size_t)opt.max_docs) : n;
  };
  const auto& kinds = scan_interventions();
  const size_t K = kinds.size();
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
  auto slot = [&](int l, int h, size_t k, size_t d) -> AblationResult& { return res[((size_t)(l * H + h) * K + k) * nd + d]; };
  std::vector<AblationResult> plain_res = opt.graddrop && plain_run ? res : std::vector<AblationResult>{};
  // First-order estimates [layer][head * K + kind] of one document; the gradient through
  // the residual contributions of layer `drop` is dropped (-1: none), and only layers
  // below `upto` are estimated.
  const torch::Device dev(model.device());
  auto estimate = [&](const at::Tensor& ids, int drop, int upto) {
    torch::AutoGradMode grad_on(true);
    Hooks hk;
    // Gradients flow from the embeddings on (the weights need none).
    hk.add_override(HookPoint::Embed, -1, [](const at::Tensor& t) { return t.detach().requires_grad_(true); });
    if (drop >= 0)
      for (auto p : {HookPoint::AttnOut, HookPoint::MlpOut})
        hk.add_override(p, drop, [](const at::Tensor& t) { return t.detach(); });
    hk.record(HookPoint::Z);
    hk.record(HookPoint::V);
    auto loss = model.token_nll(ids, &hk).mean();
    std::vector<at::Tensor> zs;
    for (int l = 0; l < upto; ++l) zs.push_back(hk.get(HookPoint::Z, l));
    auto grads = torch::autograd::grad({loss}, zs, {}, false, false, /*allow_unused=*/true);
    torch::NoGradGuard ng;
    std::vector<std::vector<double>> out(upto, std::vector<double>((size_t)H * K, 0.0));
    for (int l = 0; l < upto; ++l) {
      if (!grads[l].defined()) continue;
      auto g = grads[l][0].to(torch::kFloat64);            // [T, H, hd]
      auto z = zs[l][0].detach().to(torch::kFloat64);      // [T, H, hd]
      auto v = hk.get(HookPoint::V, l)[0].to(torch::kFloat64);
      const int64_t T = z.size(0);
      const std::vector<int64_t> dims{0, 2};
      auto zero = (-(g * z)).sum(dims).cpu();            // [H]
      auto dz = v[P].unsqueeze(0) - z.narrow(0, P, T - P);
      auto sink = (g.narrow(0, P, T - P) * dz).sum(dims).cpu();
      for (int h = 0; h < H; ++h) {
        out[l][(size_t)h * K + 0] = zero[h].item<double>();
        out[l][(size_t)h * K + 1] = sink[h].item<double>();
      }
    }
    return out;
  };
  int64_t total = 0;
  for (size_t d = 0; d < nd; ++d) total += (int64_t)ndocs(d) * (opt.graddrop ? L : 1);
  Progress bar(total, run.method == "atp" ? "attribution" : "attribution (GradDrop)", opt.progress);
  int64_t done = 0;
  for (size_t d = 0; d < nd; ++d) {
    const auto& dom = r.domains[d];
    for (size_t di = 0; di < ndocs(d); ++di) {
      auto ids = to_tensor(dom.docs[di].ids).to(dev);
      auto plain = estimate(ids, -1, L);
      ++run.forward_passes;
      bar.update(++done);
      if (!opt.graddrop) {
        for (int l = 0; l < L; ++l)
          for (int h = 0; h < H; ++h)
            for (size_t k = 0; k < K; ++k) slot(l, h, k, d).delta[di] = plain[l][(size_t)h * K + k];
        continue;
      }
      if (!plain_res.empty())
        for (int l = 0; l < L; ++l)
          for (int h = 0; h < H; ++h)
            for (size_t k = 0; k < K; ++k)
              plain_res[((size_t)(l * H + h) * K + k) * nd + d].delta[di] = plain[l][(size_t)h * K + k];
      // sum over dropped layers: below the node's layer the estimate is the plain one,
      // at it zero, above it the pass with that layer dropped.
      std::vector<std::vector<double>> acc(L, std::vector<double>((size_t)H * K, 0.0));
      for (int l = 0; l < L; ++l)
        for (size_t i = 0; i < acc[l].size(); ++i) acc[l][i] = l * std::abs(plain[l][i]);
      for (int drop = 1; drop < L; ++drop) {
        auto g = estimate(ids, drop, drop);
        ++run.forward_passes;
        bar.update(++done);
        for (int l = 0; l < drop; ++l)
          for (size_t i = 0; i < acc[l].size(); ++i) acc[l][i] += std::abs(g[l][i]);
      }
      for (int l = 0; l < L; ++l)
        for (int h = 0; h < H; ++h)
          for (size_t k = 0; k < K; ++k) slot(l, h, k, d).delta[di] = acc[l][(size_t)h * K + k] / (L - 1);
    }
  }
  bar.finish();
  for (size_t i = 0; i < res.size(); ++i) res[i].ci = bootstrap_mean(res[i].delta, opt.resamples, opt.seed + i);
  run.ablated_sequences = run.forward_passes;
  run.results = std::move(res);
  run.seconds = seconds_since(t0);
  if (!plain_res.empty()) {
    for (size_t i = 0; i < plain_res.size(); ++i)
      plain_res[i].ci = bootstrap_mean(plain_res[i].delta, opt.resamples, opt.seed + i);
    plain_run->method = "atp";
    plain_run->results = std::move(plain_res);
  }
  return run;
}

namespace {
double pearson_of(const std::vector<double>& x, const std::vector<double>& y) {
  const size_t n = x.size();
  double mx = 0, my = 0;
  for (size_t i = 0; i < n; ++i) mx += x[i], my += y[i];
  mx /= (double)n, my /= (double)n;
  double sxx = 0, syy = 0, sxy = 0;
  for (size_t i = 0; i < n; ++i) sxx += (x[i] - mx) * (x[i] - mx), syy += (y[i] - my) * (y[i] - my), sxy += (x[i] - mx) * (y[i] - my);
  return (sxx > 0 && syy > 0) ? sxy / std::sqrt(sxx * syy) : std::nan("");
}
std::vector<double> ranks_of(const std::vector<double>& x) {  // average ranks of ties
  std::vector<size_t> o(x.size());
  for (size_t i = 0; i < o.size(); ++i) o[i] = i;
  std::sort(o.begin(), o.end(), [&](size_t a, size_t b) { return x[a] < x[b]; });
  std::vector<double> r(x.size());
  for (size_t i = 0; i < o.size();) {
    size_t j = i;
    while (j + 1 < o.size() && x[o[j + 1]] == x[o[i]]) ++j;
    for (size_t k = i; k <= j; ++k) r[o[k]] = 0.5 * (double)(i + j);
    i = j + 1;
  }
  return r;
}
}  // namespace

Agreement estimate_agreement(const AblationRun& exact, const AblationRun& estimate, bool magnitude) {
  magnitude = magnitude || estimate.magnitude;
  auto mean_abs = [](const std::vector<double>& v) {
    double x = 0;
    for (double e : v) x += std::abs(e);
    return x / (double)std::max<size_t>(1, v.size());
  };
  struct Pair {
    double x, y;
    int group;  // kind * domains + domain
  };
  std::vector<Pair> xy;
  for (auto& e : exact.results)
    for (auto& s : estimate.results)
      if (s.head == e.head && s.kind == e.kind && s.domain == e.domain) {
        const double x = magnitude ? mean_abs(e.delta) : e.ci.mean;
        const double y = magnitude && !estimate.magnitude ? mean_abs(s.delta) : s.ci.mean;
        xy.push_back({x, y, (int)e.kind * 1000 + e.domain});
        break;
      }
  Agreement a;
  a.n = (int)xy.size();
  if (a.n < 3) {
    a.pearson = a.spearman = std::nan("");
    return a;
  }
  std::vector<double> x, y;
  int same = 0;
  for (auto& p : xy) x.push_back(p.x), y.push_back(p.y), same += (p.x >= 0) == (p.y >= 0);
  a.pearson = pearson_of(x, y);
  a.spearman = pearson_of(ranks_of(x), ranks_of(y));
  a.sign_agree = (double)same / a.n;
  // Top-k by exact change within each (kind, domain), found in the estimate's top pool.
  std::map<int, std::vector<size_t>> groups;
  for (size_t i = 0; i < xy.size(); ++i) groups[xy[i].group].push_back(i);
  for (auto& [g, idx] : groups) {
    if ((int)idx.size() <= a.top_pool) continue;  // every entry is in the pool: nothing to test
    auto by = [&](auto key) {
      auto v = idx;
      std::sort(v.begin(), v.end(), [&](size_t p, size_t q) { return key(p) > key(q); });
      return v;
    };
    auto ex = by([&](size_t i) { return xy[i].x; });
    auto es = by([&](size_t i) { return xy[i].y; });
    std::set<size_t> pool(es.begin(), es.begin() + a.top_pool);
    for (int k = 0; k < a.top_k; ++k) a.top_hits += (int)pool.count(ex[(size_t)k]);
    a.top_n += a.top_k;
  }
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

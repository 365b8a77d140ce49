#include "analysis/llm_trace.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <torch/torch.h>

#include "analysis/sink_metrics.h"
#include "data/tokenizer.h"
#include "io/error.h"
#include "io/memory.h"
#include "analysis/llm_scan.h"
#include "model/hooks.h"
#include "model/transformer.h"

namespace sinklab::llm {

namespace {

std::vector<float> to_floats(const at::Tensor& t) {
  auto c = t.to(torch::kFloat32).contiguous().cpu();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

}  // namespace

TraceResult trace(const Transformer& model, const Tokenizer& tok, const std::string& prompt, const TraceOptions& opt) {
  require(!prompt.empty(), "the prompt is empty");
  const auto& s = model.spec();
  TraceResult r;
  r.opt = opt;
  EncodeOptions e;
  e.add_bos = opt.add_bos;
  e.parse_special = opt.parse_special;
  r.ids = tok.encode(prompt, e);
  const int64_t T = (int64_t)r.ids.size();
  require(T >= 1, "the prompt encodes to no tokens");
  require(T <= s.n_ctx, fmt::format("the prompt is {} tokens, longer than the model's context of {}", T, s.n_ctx));
  require_memory(scan_memory_bytes(s.n_layers, s.n_heads, (int)T, 1),
                 fmt::format("a trace of {} tokens (attention patterns of {} layers x {} heads)", T, s.n_layers, s.n_heads));
  require(opt.sink_pos >= 0 && opt.sink_pos < T,
          fmt::format("--sink-pos {} is outside the prompt's {} tokens", opt.sink_pos, T));
  require(opt.top_k >= 1, "--top must be at least 1");
  for (auto id : r.ids) r.pieces.push_back(tok.token_to_piece(id));
  r.n_layers = s.n_layers, r.n_heads = s.n_heads;
  for (const auto& [kind, h] : opt.edits)
    require(h.layer >= 0 && h.layer < s.n_layers && h.head >= 0 && h.head < s.n_heads && s.layers[h.layer].attn,
            fmt::format("--{}: head {} is outside the model ({} layers x {} heads)", intervention_name(kind),
                        head_label(h), s.n_layers, s.n_heads));

  torch::NoGradGuard ng;
  const torch::Device dev(model.device());
  auto x = torch::tensor(std::vector<int64_t>(r.ids.begin(), r.ids.end()), torch::kInt64).unsqueeze(0).to(dev);
  Hooks hk;
  for (const auto& name : opt.save) hk.record(name);  // InputError for names that are no hook
  sink::record_inputs(hk, s);
  auto logits = model.forward(x, &hk).select(1, T - 1)[0].to(torch::kFloat64).cpu();
  auto logp = torch::log_softmax(logits, -1);

  const int64_t P = opt.sink_pos, nq = T - 1 - P;
  for (int l = 0; l < s.n_layers; ++l) {
    TraceLayer tl;
    tl.layer = l;
    auto R = hk.get(HookPoint::ResidPost, l)[0].to(torch::kFloat64).cpu();  // [T, d]
    tl.resid_norm = to_floats(R.norm(2, -1));
    auto [mx, arg] = R.abs().max(-1);
    tl.max_abs = to_floats(mx);
    for (int64_t t = 0; t < T; ++t) tl.max_dim.push_back((int)arg[t].item<int64_t>());
    r.layers.push_back(std::move(tl));
    for (int h = 0; h < s.n_heads; ++h) {
      TraceHead th;
      th.layer = l, th.head = h;
      if (!s.layers[l].attn) {
        th.sink_mass = th.v_sink = th.v_other = th.gap_mean = std::nan("");
        r.heads.push_back(std::move(th));
        continue;
      }
      auto pat = hk.get(HookPoint::Pattern, l)[0][h].to(torch::kFloat64).cpu();    // [T, T]
      auto sc = hk.get(HookPoint::AttnScores, l)[0][h].to(torch::kFloat64).cpu();  // [T, T]
      auto v = hk.get(HookPoint::V, l)[0].select(1, h).to(torch::kFloat64).cpu();  // [T, hd]
      th.pattern = to_floats(pat);
      th.v_norm = to_floats(v.norm(2, -1));
      if (nq > 0) {
        th.sink_mass = sink::mass(pat, P).narrow(0, P + 1, nq).mean().item<double>();
        th.gap_mean = sink::logit_gap(sc, P).narrow(0, P + 1, nq).mean().item<double>();
      } else {
        th.sink_mass = th.gap_mean = std::nan("");
      }
      if (T > 1) {
        auto vn = sink::norms_at_sink(v, 0, P);
        th.v_sink = vn.sink.item<double>(), th.v_other = vn.other.item<double>();
      } else {
        th.v_sink = th.v_other = std::nan("");
      }
      r.heads.push_back(std::move(th));
    }
  }
  // The tensors asked for: exact names, or "blocks.*.<rest>" for every layer.
  auto wanted = [&](const std::string& name) {
    for (const auto& pat : opt.save) {
      if (pat == name) return true;
      const auto star = pat.find(".*.");
      if (star == std::string::npos || name.compare(0, star + 1, pat, 0, star + 1) != 0) continue;
      const auto dot = name.find('.', star + 1);
      if (dot != std::string::npos && name.compare(dot, std::string::npos, pat, star + 2) == 0) return true;
    }
    return false;
  };
  for (const auto& [name, t] : hk.records())
    if (wanted(name)) r.saved[name] = t.to(torch::kFloat32).contiguous().cpu();

  // Next token, unedited and edited.
  const int64_t K = std::min<int64_t>(opt.top_k, logp.size(0));
  auto top = std::get<1>(logp.topk(K));
  at::Tensor logp_edit;
  if (!opt.edits.empty()) {
    Hooks he;
    for (const auto& [kind, h] : opt.edits) {
      InterventionSite site;
      site.head = h, site.sink_pos = opt.sink_pos;
      add_intervention(he, kind, site);
    }
    auto le = model.forward(x, &he).select(1, T - 1)[0].to(torch::kFloat64).cpu();
    logp_edit = torch::log_softmax(le, -1);
    r.edited_kl = (logp.exp() * (logp - logp_edit)).sum().item<double>();
    // Candidates: the unedited top-K, then the edited top-K not already listed.
    auto top_e = std::get<1>(logp_edit.topk(K));
    std::vector<int64_t> ids;
    for (int64_t i = 0; i < K; ++i) ids.push_back(top[i].item<int64_t>());
    for (int64_t i = 0; i < K; ++i)
      if (std::find(ids.begin(), ids.end(), top_e[i].item<int64_t>()) == ids.end()) ids.push_back(top_e[i].item<int64_t>());
    top = torch::tensor(ids, torch::kInt64);
  }
  for (int64_t i = 0; i < top.size(0); ++i) {
    NextToken n;
    n.id = (int32_t)top[i].item<int64_t>();
    n.piece = n.id < (int64_t)tok.vocab_size() ? tok.token_to_piece(n.id) : fmt::format("<id {}>", n.id);
    n.p = std::exp(logp[n.id].item<double>());
    if (logp_edit.defined()) n.p_edited = std::exp(logp_edit[n.id].item<double>());
    r.next.push_back(std::move(n));
  }
  return r;
}

}  // namespace sinklab::llm

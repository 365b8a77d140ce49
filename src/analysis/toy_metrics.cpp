#include "analysis/toy_metrics.h"

#include <cmath>
#include <torch/torch.h>

#include "analysis/core/heads.h"
#include "io/error.h"
#include "model/transformer.h"

namespace sinklab {

EvalBatch make_eval_batch(const BBTask& task, int n_seqs, uint64_t seed) {
  require(n_seqs >= 1, "evaluation batch needs at least one sequence");
  Batch b;
  task.generate(seed, 0xE7A1, n_seqs, b, 0, true);
  EvalBatch e;
  e.tokens = torch::from_blob(b.tokens.data(), {b.B, b.T + 1}, torch::kInt64).clone();
  e.is_trigger = torch::from_blob(b.is_trigger.data(), {b.B, b.T}, torch::kUInt8).to(torch::kBool);
  e.oracle_nll = torch::from_blob(b.oracle_nll.data(), {b.B, b.T}, torch::kFloat32).clone();
  return e;
}

namespace {
double masked_mean(const at::Tensor& v, const at::Tensor& m) {
  auto n = m.sum().item<int64_t>();
  return n ? v.masked_select(m).to(torch::kFloat64).mean().item<double>() : std::nan("");
}
}  // namespace

LossMetrics measure_loss(const Transformer& model, const EvalBatch& eval, Hooks* hooks) {
  torch::NoGradGuard ng;
  auto dev = torch::Device(model.device());
  auto nll = model.token_nll(eval.tokens.to(dev), hooks).cpu().to(torch::kFloat32);
  auto trig = eval.is_trigger, non = trig.logical_not();
  LossMetrics l;
  l.loss = nll.to(torch::kFloat64).mean().item<double>();
  l.loss_trigger = masked_mean(nll, trig);
  l.loss_nontrigger = masked_mean(nll, non);
  l.excess = l.loss - eval.oracle_nll.to(torch::kFloat64).mean().item<double>();
  l.excess_trigger = l.loss_trigger - masked_mean(eval.oracle_nll, trig);
  l.excess_nontrigger = l.loss_nontrigger - masked_mean(eval.oracle_nll, non);
  return l;
}

ToyMetrics measure_toy(const Transformer& model, const EvalBatch& eval, double threshold, Hooks* hooks) {
  torch::NoGradGuard ng;
  const auto& s = model.spec();
  Hooks local;
  Hooks& h = hooks ? *hooks : local;
  for (int l = 0; l < s.n_layers; ++l) {
    h.record(HookPoint::ResidPost, l);
    if (!s.layers[l].attn) continue;
    h.record(HookPoint::Pattern, l);
    h.record(HookPoint::AttnScores, l);
    h.record(HookPoint::V, l);
  }
  ToyMetrics m;
  m.loss = measure_loss(model, eval, &h);
  const int64_t B = eval.is_trigger.size(0), T = eval.is_trigger.size(1);
  auto trig = eval.is_trigger;                     // [B, T]
  auto non = trig.logical_not();
  non.select(1, 0).fill_(false);                    // the BOS query itself has nothing else to see
  auto trig_q = trig.clone();
  for (int l = 0; l < s.n_layers; ++l) {
    auto resid = h.get(HookPoint::ResidPost, l).cpu().to(torch::kFloat64);  // [B, T, d]
    auto norms = resid.norm(2, -1);                                          // [B, T]
    LayerMetrics lm;
    lm.layer = l;
    lm.resid_bos = norms.select(1, 0).mean().item<double>();
    lm.resid_other = norms.narrow(1, 1, T - 1).mean().item<double>();
    lm.resid_ratio = lm.resid_bos / lm.resid_other;
    m.layers.push_back(lm);
    if (!s.layers[l].attn) continue;
    auto pat = h.get(HookPoint::Pattern, l).cpu().to(torch::kFloat64);       // [B, H, T, T]
    auto sc = h.get(HookPoint::AttnScores, l).cpu().to(torch::kFloat64);
    auto v = h.get(HookPoint::V, l).cpu().to(torch::kFloat64);               // [B, T, H, hd]
    for (int hd = 0; hd < s.n_heads; ++hd) {
      HeadMetrics hm;
      hm.layer = l, hm.head = hd;
      auto p = pat.select(1, hd);         // [B, T, T]
      auto bos = p.select(2, 0);          // [B, T] mass on key 0
      hm.bos_mass_nontrigger = masked_mean(bos, non);
      hm.bos_mass_trigger = masked_mean(bos, trig_q);
      // previous-token mass at query q: p[b, q, q-1]
      auto prev = torch::zeros({B, T}, torch::kFloat64);
      prev.narrow(1, 1, T - 1).copy_(p.diagonal(-1, 1, 2));
      hm.prev_mass_trigger = masked_mean(prev, trig_q);
      auto vn = v.select(2, hd).norm(2, -1);  // [B, T]
      hm.v_bos_norm = vn.select(1, 0).mean().item<double>();
      hm.v_other_norm = vn.narrow(1, 1, T - 1).mean().item<double>();
      hm.v_ratio = hm.v_bos_norm / hm.v_other_norm;
      // Logit gap at non-trigger queries q >= 1: s[q, 0] - mean_{1 <= k <= q} s[q, k].
      auto scq = sc.select(1, hd);  // [B, T, T], -inf above the diagonal
      auto finite = torch::isfinite(scq);
      auto sc0 = torch::where(finite, scq, torch::zeros_like(scq));
      auto cnt = finite.sum(-1).to(torch::kFloat64) - 1.0;  // other visible keys
      auto others = (sc0.sum(-1) - sc0.select(2, 0)) / cnt.clamp_min(1.0);
      auto gap = sc0.select(2, 0) - others;  // [B, T]
      auto g = gap.masked_select(non);
      hm.gap_mean = g.numel() ? g.mean().item<double>() : std::nan("");
      hm.gap_std = g.numel() > 1 ? g.std().item<double>() : 0.0;
      hm.dormant_nontrigger = is_dormant(hm.bos_mass_nontrigger, threshold);
      hm.dormant_trigger = is_dormant(hm.bos_mass_trigger, threshold);
      m.heads.push_back(hm);
    }
  }
  return m;
}

std::string intervention_name(Intervention k) {
  switch (k) {
    case Intervention::ZeroHead: return "zero-head";
    case Intervention::BosAttention: return "attend-bos";
    case Intervention::ZeroBosValue: return "zero-bos-value";
    case Intervention::OraclePattern: return "oracle-pattern";
  }
  return "?";
}
Intervention parse_intervention(const std::string& s) {
  for (auto k : {Intervention::ZeroHead, Intervention::BosAttention, Intervention::ZeroBosValue,
                 Intervention::OraclePattern})
    if (intervention_name(k) == s) return k;
  fail("unknown intervention '" + s + "' (valid: zero-head, attend-bos, zero-bos-value, oracle-pattern)");
}
std::string role_name(Role r) { return r == Role::Trigger ? "trigger" : r == Role::NonTrigger ? "non-trigger" : "all"; }
Role parse_role(const std::string& s) {
  for (auto r : {Role::Trigger, Role::NonTrigger, Role::All})
    if (role_name(r) == s) return r;
  fail("unknown role '" + s + "' (valid: trigger, non-trigger, all)");
}

at::Tensor role_mask(const EvalBatch& eval, Role r) {
  if (r == Role::Trigger) return eval.is_trigger.clone();
  if (r == Role::NonTrigger) return eval.is_trigger.logical_not();
  return torch::ones_like(eval.is_trigger);
}

void add_intervention(Hooks& hooks, Intervention kind, int layer, int head, const at::Tensor& query_mask,
                      const at::Tensor& is_trigger) {
  switch (kind) {
    case Intervention::ZeroHead:
      hooks.add_override(HookPoint::Z, layer, [=](const at::Tensor& z) {  // [B, T, H, hd]
        auto o = z.clone();
        auto keep = query_mask.logical_not().to(z.device(), z.scalar_type()).unsqueeze(-1);
        o.select(2, head).mul_(keep);
        return o;
      });
      break;
    case Intervention::BosAttention:
    case Intervention::OraclePattern:
      hooks.add_override(HookPoint::Pattern, layer, [=](const at::Tensor& p) {  // [B, H, T, T]
        auto o = p.clone();
        const int64_t T = p.size(-1);
        auto target = torch::zeros({T, T}, p.options());
        target.select(1, 0).fill_(1.0);  // all mass on BOS
        auto ph = o.select(1, head);     // [B, T, T]
        auto m = query_mask.to(p.device()).unsqueeze(-1);  // [B, T, 1]
        if (kind == Intervention::BosAttention) {
          ph.copy_(torch::where(m, target.unsqueeze(0).expand_as(ph), ph));
        } else {
          // Oracle: BOS at non-trigger queries, previous token at trigger queries.
          auto prev = torch::zeros({T, T}, p.options());
          prev[0][0] = 1.0;
          for (int64_t q = 1; q < T; ++q) prev[q][q - 1] = 1.0;
          auto trig = is_trigger.to(p.device()).unsqueeze(-1);
          auto want = torch::where(trig, prev.unsqueeze(0).expand_as(ph), target.unsqueeze(0).expand_as(ph));
          ph.copy_(torch::where(m, want, ph));
        }
        return o;
      });
      break;
    case Intervention::ZeroBosValue: {
      // At the selected queries, remove the BOS value's contribution from the head's
      // output: z_q -= pattern[q, 0] * v_BOS (the head's pattern and value are read
      // in the same forward pass).
      auto pat = std::make_shared<at::Tensor>();
      auto val = std::make_shared<at::Tensor>();
      hooks.add_override(HookPoint::V, layer, [=](const at::Tensor& v) {
        *val = v;
        return v;
      });
      hooks.add_override(HookPoint::Pattern, layer, [=](const at::Tensor& p) {
        *pat = p;
        return p;
      });
      hooks.add_override(HookPoint::Z, layer, [=](const at::Tensor& z) {
        auto o = z.clone();
        auto w0 = pat->select(1, head).select(2, 0);            // [B, T]
        auto vb = val->select(2, head).select(1, 0).unsqueeze(1);  // [B, 1, hd]
        auto m = query_mask.to(z.device(), z.scalar_type());
        o.select(2, head).sub_((w0 * m).unsqueeze(-1) * vb);
        return o;
      });
      break;
    }
  }
}

InterventionResult run_intervention(const Transformer& model, const EvalBatch& eval, Intervention kind, int layer,
                                    int head, Role role) {
  const auto& s = model.spec();
  require(layer >= 0 && layer < s.n_layers && s.layers[layer].attn,
          "intervention: layer " + std::to_string(layer) + " has no attention (model has " +
              std::to_string(s.n_layers) + " layers)");
  require(head >= 0 && head < s.n_heads, "intervention: head " + std::to_string(head) + " is outside [0, " +
                                             std::to_string(s.n_heads) + ")");
  InterventionResult r{kind, layer, head, role, measure_loss(model, eval), {}};
  Hooks h;
  add_intervention(h, kind, layer, head, role_mask(eval, role), eval.is_trigger);
  r.after = measure_loss(model, eval, &h);
  return r;
}

}  // namespace sinklab

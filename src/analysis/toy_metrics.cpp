#include "analysis/toy_metrics.h"

#include <cmath>
#include <torch/torch.h>

#include "analysis/core/heads.h"
#include "analysis/sink_metrics.h"
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
  sink::record_inputs(h, s);
  ToyMetrics m;
  m.loss = measure_loss(model, eval, &h);
  const int64_t B = eval.is_trigger.size(0), T = eval.is_trigger.size(1);
  auto trig = eval.is_trigger;                     // [B, T]
  auto non = trig.logical_not();
  non.select(1, 0).fill_(false);                    // the BOS query itself has nothing else to see
  auto trig_q = trig.clone();
  auto after = torch::zeros_like(non);  // non-trigger queries whose previous token is a trigger
  after.narrow(1, 1, T - 1).copy_(trig.narrow(1, 0, T - 1));
  after.logical_and_(non);
  auto plain = non.logical_and(after.logical_not());
  for (int l = 0; l < s.n_layers; ++l) {
    auto resid = sink::norms_at_sink(h.get(HookPoint::ResidPost, l).cpu().to(torch::kFloat64), 1, 0);  // [B]
    LayerMetrics lm;
    lm.layer = l;
    lm.resid_bos = resid.sink.mean().item<double>();
    lm.resid_other = resid.other.mean().item<double>();
    lm.resid_ratio = lm.resid_bos / lm.resid_other;
    m.layers.push_back(lm);
    if (!s.layers[l].attn) continue;
    auto pat = h.get(HookPoint::Pattern, l).cpu().to(torch::kFloat64);       // [B, H, T, T]
    auto sc = h.get(HookPoint::AttnScores, l).cpu().to(torch::kFloat64);
    auto v = h.get(HookPoint::V, l).cpu().to(torch::kFloat64);               // [B, T, H, hd]
    auto vn = sink::norms_at_sink(v, 1, 0);                                  // [B, H]
    auto gaps = sink::logit_gap(sc, 0);                                      // [B, H, T]
    for (int hd = 0; hd < s.n_heads; ++hd) {
      HeadMetrics hm;
      hm.layer = l, hm.head = hd;
      auto p = pat.select(1, hd);         // [B, T, T]
      auto bos = sink::mass(p, 0);        // [B, T] mass on key 0
      hm.bos_mass_nontrigger = masked_mean(bos, non);
      hm.bos_mass_trigger = masked_mean(bos, trig_q);
      hm.bos_mass_after_trigger = masked_mean(bos, after);
      hm.bos_mass_plain = masked_mean(bos, plain);
      // previous-token mass at query q: p[b, q, q-1]
      auto prev = torch::zeros({B, T}, torch::kFloat64);
      prev.narrow(1, 1, T - 1).copy_(p.diagonal(-1, 1, 2));
      hm.prev_mass_trigger = masked_mean(prev, trig_q);
      hm.v_bos_norm = vn.sink.select(1, hd).mean().item<double>();
      hm.v_other_norm = vn.other.select(1, hd).mean().item<double>();
      hm.v_ratio = hm.v_bos_norm / hm.v_other_norm;
      // Logit gap at non-trigger queries q >= 1.
      auto gap = gaps.select(1, hd);  // [B, T]
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
  add_intervention(h, kind, InterventionSite{{layer, head}, 0, role_mask(eval, role), -1, eval.is_trigger});
  r.after = measure_loss(model, eval, &h);
  return r;
}

}  // namespace sinklab

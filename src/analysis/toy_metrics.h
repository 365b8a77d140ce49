// Extreme-token metrics of toy BB models on a fixed evaluation batch, and the
// interventions of the paper, as overrides at hook points.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "data/bb.h"
#include "analysis/interventions.h"
#include "analysis/outliers.h"
#include "model/hooks.h"

namespace sinklab {

class Transformer;

struct EvalBatch {
  at::Tensor tokens;      // [B, T+1]
  at::Tensor is_trigger;  // [B, T] bool
  at::Tensor oracle_nll;  // [B, T]
};
// The fixed, seeded evaluation batch (seed and size stated in every report).
EvalBatch make_eval_batch(const BBTask& task, int n_seqs, uint64_t seed);

struct HeadMetrics {
  int layer = 0, head = 0;
  double bos_mass_nontrigger = 0, bos_mass_trigger = 0, prev_mass_trigger = 0;
  // BOS mass at the non-trigger queries that follow a trigger (the backcopied tokens)
  // and at the other non-trigger queries: where a head that is not fully dormant stays active.
  double bos_mass_after_trigger = 0, bos_mass_plain = 0;
  double v_bos_norm = 0, v_other_norm = 0, v_ratio = 0;  // |v_BOS| / mean |v_other|
  double gap_mean = 0, gap_std = 0;  // BOS logit minus mean other logit, non-trigger queries
  bool dormant_nontrigger = false, dormant_trigger = false;  // BOS mass >= threshold
};
struct LayerMetrics {
  int layer = 0;
  double resid_bos = 0, resid_other = 0, resid_ratio = 0;  // after the layer (hook_resid_post)
};
struct LossMetrics {
  double loss = 0, loss_trigger = 0, loss_nontrigger = 0;
  double excess = 0, excess_trigger = 0, excess_nontrigger = 0;
};
struct ToyMetrics {
  int64_t step = 0;
  LossMetrics loss;
  std::vector<HeadMetrics> heads;
  std::vector<LayerMetrics> layers;
  OutlierMetrics outliers;  // filled by analyze_run (src/analysis/outliers.h)
};

// threshold: a head is dormant for a role when its mean BOS mass there is >= threshold.
// `hooks` (optional) may carry overrides (e.g. an imposed pattern); records are added to it.
ToyMetrics measure_toy(const Transformer& model, const EvalBatch& eval, double threshold = 0.5,
                       Hooks* hooks = nullptr);
LossMetrics measure_loss(const Transformer& model, const EvalBatch& eval, Hooks* hooks = nullptr);

// The queries a toy intervention (src/analysis/interventions.h) acts on.
enum class Role { Trigger, NonTrigger, All };
std::string role_name(Role r);
Role parse_role(const std::string& s);
at::Tensor role_mask(const EvalBatch& eval, Role r);

struct InterventionResult {
  Intervention kind;
  int layer, head;
  Role role;
  LossMetrics base, after;
};
InterventionResult run_intervention(const Transformer& model, const EvalBatch& eval, Intervention kind, int layer,
                                    int head, Role role);

}  // namespace sinklab

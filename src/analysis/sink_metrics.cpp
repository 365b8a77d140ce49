#include "analysis/sink_metrics.h"

#include <torch/torch.h>

#include "model/hooks.h"
#include "model/spec.h"

namespace sinklab::sink {

void record_inputs(Hooks& hooks, const ModelSpec& spec) {
  for (int l = 0; l < spec.n_layers; ++l) {
    hooks.record(HookPoint::ResidPost, l);
    if (!spec.layers[l].attn) continue;
    hooks.record(HookPoint::Pattern, l);
    hooks.record(HookPoint::AttnScores, l);
    hooks.record(HookPoint::V, l);
  }
}

at::Tensor mass(const at::Tensor& pattern, int64_t P) { return pattern.select(-1, P); }

at::Tensor logit_gap(const at::Tensor& scores, int64_t P) {
  auto fin = torch::isfinite(scores);
  auto s0 = torch::where(fin, scores, torch::zeros_like(scores));
  auto others = fin.sum(-1).to(scores.scalar_type()) - 1.0;  // visible keys other than P
  auto sP = s0.select(-1, P);
  return sP - (s0.sum(-1) - sP) / others.clamp_min(1.0);
}

SinkOther norms_at_sink(const at::Tensor& x, int64_t pos_dim, int64_t P) {
  auto n = x.norm(2, -1);
  const int64_t T = x.size(pos_dim);
  auto sink = n.select(pos_dim, P);
  return {sink, (n.sum(pos_dim) - sink) / double(T - 1)};
}

}  // namespace sinklab::sink

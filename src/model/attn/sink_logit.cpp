// sink-logit: a learned logit s_h per head in the softmax's denominator with no value
// (the attention sinks gpt-oss ships): w_j = exp(l_j) / (exp(s_h) + sum_k exp(l_k)).
// The head can put weight exp(s_h) / (...) on "nothing" instead of on a sink token.
// Parameter blocks.{l}.attn.sink [H], initialised to 0 (softmax-off-by-one at the start).
#include <torch/torch.h>

#include "model/attention.h"
#include "model/spec.h"

namespace sinklab {

extern const AttnVariant kAttnSinkLogit = {
    "sink-logit", "exp(l) / (exp(s_h) + sum exp(l)), a learned per-head sink logit s_h (gpt-oss)",
    [](const ModelSpec& spec) { return std::vector<AttnParamSpec>{{"sink", {spec.n_heads}, 0.0}}; },
    [](const ModelSpec&, const at::Tensor& scores, int64_t, const AttnParams& params) {
      // The sink logit joins the keys as one more column; softmax over both, then the
      // sink's column is dropped. Stable for any magnitudes, and its gradient is exact.
      const at::Tensor& s = params("sink");  // [H]
      auto sink = s.view({1, -1, 1, 1}).expand({scores.size(0), scores.size(1), scores.size(2), 1});
      auto w = torch::softmax(torch::cat({scores, sink.to(scores.scalar_type())}, -1), -1);
      return w.narrow(-1, 0, scores.size(-1));
    }};

}  // namespace sinklab

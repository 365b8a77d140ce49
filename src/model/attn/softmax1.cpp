// softmax1: exp(l) / (1 + sum exp(l)), softmax-off-by-one (Miller 2023): a head may
// give every key almost no weight. Computed stably with m = max(0, max l).
#include <torch/torch.h>

#include "model/attention.h"
#include "model/spec.h"

namespace sinklab {

extern const AttnVariant kAttnSoftmax1 = {
    "softmax1", "exp(l) / (1 + sum exp(l)), softmax-off-by-one", nullptr,
    [](const ModelSpec&, const at::Tensor& scores, int64_t, const AttnParams&) {
      auto m = std::get<0>(scores.max(-1, true)).clamp_min(0.0);
      auto e = torch::exp(scores - m);
      return e / (torch::exp(-m) + e.sum(-1, true));
    }};

}  // namespace sinklab

// relu: ReLU(logits) / (number of visible keys), no normalisation over keys (PAPER.md,
// the paper's mitigation). Masked logits are -inf, so they contribute 0.
#include <torch/torch.h>

#include "model/attention.h"
#include "model/spec.h"

namespace sinklab {

extern const AttnVariant kAttnReLU = {
    "relu", "ReLU(logits) / number of visible keys (the paper's mitigation)", nullptr,
    [](const ModelSpec&, const at::Tensor& scores, int64_t q_offset, const AttnParams&) {
      return torch::relu(scores) / visible_keys(scores, q_offset);
    }};

}  // namespace sinklab

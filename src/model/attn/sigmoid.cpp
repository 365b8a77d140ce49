// sigmoid: sigmoid(l - log n), n the number of visible keys (Ramapuram et al. 2024's
// bias b = -log n); masked logits are -inf and give 0.
#include <torch/torch.h>

#include "model/attention.h"
#include "model/spec.h"

namespace sinklab {

extern const AttnVariant kAttnSigmoid = {
    "sigmoid", "sigmoid(l - log n), n visible keys", nullptr,
    [](const ModelSpec&, const at::Tensor& scores, int64_t q_offset, const AttnParams&) {
      return torch::sigmoid(scores - torch::log(visible_keys(scores, q_offset)));
    }};

}  // namespace sinklab

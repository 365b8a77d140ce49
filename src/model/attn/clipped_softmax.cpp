// clipped-softmax (Bondarenko et al., NeurIPS 2023, "Quantizable Transformers"):
// clip((zeta - gamma) softmax(l) + gamma, 0, 1) with gamma = -alpha / n, n the number of
// visible keys (their gamma = -alpha / T, written for causal attention where each query
// sees its own n). A head can give keys exactly 0 (no update) without pushing its
// logits to extremes, the behaviour that otherwise needs a sink. alpha = model.clip_alpha,
// zeta = model.clip_zeta. Weights below alpha / (n + alpha) (at zeta = 1) become 0.
#include <torch/torch.h>

#include "model/attention.h"
#include "model/spec.h"

namespace sinklab {

extern const AttnVariant kAttnClippedSoftmax = {
    "clipped-softmax", "clip((zeta - gamma) softmax(l) + gamma, 0, 1), gamma = -alpha / n (Bondarenko 2023)",
    nullptr, [](const ModelSpec& spec, const at::Tensor& scores, int64_t q_offset, const AttnParams&) {
      auto gamma = -spec.clip_alpha / visible_keys(scores, q_offset);  // [Tq, 1]
      return torch::clamp((spec.clip_zeta - gamma) * torch::softmax(scores, -1) + gamma, 0.0, 1.0);
    }};

}  // namespace sinklab

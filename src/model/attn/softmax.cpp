// softmax: weights = softmax over the visible keys (the standard head).
#include <torch/torch.h>

#include "model/attention.h"
#include "model/spec.h"

namespace sinklab {

extern const AttnVariant kAttnSoftmax = {
    "softmax", "softmax over the visible keys", nullptr,
    [](const ModelSpec&, const at::Tensor& scores, int64_t, const AttnParams&) { return torch::softmax(scores, -1); }};

}  // namespace sinklab

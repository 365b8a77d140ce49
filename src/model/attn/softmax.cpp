// softmax: weights = softmax over the visible keys (the standard head).
#include <torch/torch.h>

#include "model/attention.h"

namespace sinklab {

extern const AttnVariant kAttnSoftmax = {
    "softmax", "softmax over the visible keys", nullptr,
    [](const at::Tensor& scores, int64_t, const AttnParams&) { return torch::softmax(scores, -1); }};

}  // namespace sinklab

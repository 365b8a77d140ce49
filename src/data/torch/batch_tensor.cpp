#include "data/torch/batch_tensor.h"

#include <torch/torch.h>

namespace sinklab {

TensorBatch to_tensors(const Batch& b) {
  TensorBatch t;
  t.tokens = torch::from_blob(const_cast<int64_t*>(b.tokens.data()), {b.B, b.T + 1}, torch::kInt64).clone();
  if (!b.is_trigger.empty()) {
    t.is_trigger =
        torch::from_blob(const_cast<uint8_t*>(b.is_trigger.data()), {b.B, b.T}, torch::kUInt8).to(torch::kBool);
    t.oracle_nll = torch::from_blob(const_cast<float*>(b.oracle_nll.data()), {b.B, b.T}, torch::kFloat32).clone();
    t.oracle_entropy =
        torch::from_blob(const_cast<float*>(b.oracle_entropy.data()), {b.B, b.T}, torch::kFloat32).clone();
  }
  return t;
}

}  // namespace sinklab

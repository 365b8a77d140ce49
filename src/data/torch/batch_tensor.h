// BB batches as LibTorch tensors (the only torch-facing part of the data layer).
#pragma once
#include <ATen/core/Tensor.h>

#include "data/bb.h"

namespace sinklab {

struct TensorBatch {
  at::Tensor tokens;          // [B, T+1] int64
  at::Tensor is_trigger;      // [B, T] bool: role of query position t
  at::Tensor oracle_nll;      // [B, T] float32: -log q_t(x_{t+1})
  at::Tensor oracle_entropy;  // [B, T] float32: H(q_t)
};

// Copies a generated batch into CPU tensors (oracle fields undefined if absent).
TensorBatch to_tensors(const Batch& b);

}  // namespace sinklab

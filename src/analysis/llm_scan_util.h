// Helpers shared by the scan and the ablation (src/analysis/llm_*.cpp), not API.
#pragma once
#include <chrono>
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

namespace sinklab::llm {

double seconds_since(std::chrono::steady_clock::time_point t0);
at::Tensor to_tensor(const std::vector<int32_t>& ids);  // [1, n] int64

}  // namespace sinklab::llm

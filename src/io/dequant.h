// Dequantisation of ggml tensor blocks to float32 (torch-free).
//
// Supported: F32, F16, BF16, F64, I8, I16, I32, Q8_0, Q8_1, Q4_0, Q4_1, Q5_0, Q5_1,
// Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K, written from the published block layouts.
// Large tensors are split over OpenMP threads.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "io/gguf.h"

namespace sinklab::gguf {

bool dequant_supported(GgmlType t);

// Dequantises n elements (n a multiple of the type's block size) from the raw
// bytes at src (type_bytes(t, n) of them) into dst[0..n). InputError for an
// unsupported type or a bad n. Multi-threaded when n is large (threads=true).
void dequantize_into(GgmlType t, const void* src, float* dst, size_t n, bool threads = true);

// Whole tensor, in file order (row-major over shape(): dims[0] fastest).
std::vector<float> dequantize(const GgufFile& file, const TensorInfo& t);
void dequantize_into(const GgufFile& file, const TensorInfo& t, float* dst);

// One row (dims[0] elements) of a 2-D+ tensor, e.g. an embedding lookup.
void dequantize_row(const GgufFile& file, const TensorInfo& t, uint64_t row, float* dst);

// IEEE half / bfloat16 to float.
float fp16_to_f32(uint16_t h);
inline float bf16_to_f32(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

}  // namespace sinklab::gguf

// libFuzzer target for the safetensors reader: parse a buffer, touch every
// tensor's bytes through to_f32, and check that writing the parsed tensors back
// out gives a file that parses to the same tensors.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "io/error.h"
#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::uint8_t> buf(data, data + size);
  try {
    auto f = sinklab::SafetensorsFile::from_buffer(std::move(buf), "fuzz");
    volatile float sink = 0;
    bool writable = true;
    std::vector<sinklab::TensorToWrite> out;
    for (const auto& t : f.tensors()) {
      auto v = sinklab::to_f32(t);
      if (static_cast<std::int64_t>(v.size()) != t.numel()) std::abort();
      for (float x : v) sink = sink + x;
      if (f.find(t.name) != &t || !f.contains(t.name)) std::abort();
      if (t.name.empty()) writable = false;
      out.push_back({t.name, t.dtype, t.shape, t.data, t.nbytes});
    }
    (void)f.names();
    (void)f.metadata();
    if (writable) {
      auto bytes = sinklab::serialize_safetensors(out, f.metadata());
      auto g = sinklab::SafetensorsFile::from_buffer(std::move(bytes), "fuzz-roundtrip");
      if (g.size() != f.size() || g.metadata() != f.metadata()) std::abort();
      for (const auto& t : f.tensors()) {
        const auto& u = g.get(t.name);
        if (u.dtype != t.dtype || u.shape != t.shape || u.nbytes != t.nbytes) std::abort();
        if (t.nbytes && std::memcmp(u.data, t.data, t.nbytes) != 0) std::abort();
      }
    }
  } catch (const sinklab::InputError&) {
    // Rejected input: the expected outcome for most buffers.
  }
  return 0;
}

#include "model/checkpoint.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "io/error.h"
#include "io/safetensors.h"
#include "model/transformer.h"

namespace sinklab {
namespace {
// FNV-1a (64 bit) over the tensors' bytes in parameter order: a bit flip anywhere in the
// weights changes it. Stored in the file's metadata under kSumKey.
constexpr const char* kSumKey = "sinklab_fnv1a64";
struct Fnv {
  uint64_t h = 0xcbf29ce484222325ull;
  void add(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 0x100000001b3ull;
  }
  std::string hex() const { return fmt::format("{:016x}", h); }
};
}  // namespace

void save_weights(const Transformer& model, const std::string& path, const std::map<std::string, std::string>& meta,
                  const std::function<std::string(const std::string&)>& rename) {
  std::vector<at::Tensor> keep;
  std::vector<TensorToWrite> out;
  for (auto& [name, t] : model.named_parameters()) {
    auto c = model.value(name).detach().to(torch::kCPU, torch::kFloat32).contiguous();
    keep.push_back(c);
    TensorToWrite w;
    w.name = rename ? rename(name) : name;
    w.dtype = DType::F32;
    w.shape.assign(c.sizes().begin(), c.sizes().end());
    w.data = c.data_ptr();
    w.nbytes = c.numel() * sizeof(float);
    out.push_back(std::move(w));
  }
  Fnv sum;
  for (auto& w : out) sum.add(w.data, w.nbytes);
  auto m = meta;
  m[kSumKey] = sum.hex();
  write_safetensors(path, out, m);
}

std::map<std::string, std::string> load_weights(Transformer& model, const std::string& path) {
  SafetensorsFile f(path);
  const auto meta = f.metadata();
  if (auto it = meta.find(kSumKey); it != meta.end()) {
    Fnv sum;
    for (auto& [name, t] : model.named_parameters())
      if (const TensorView* v = f.find(name)) sum.add(v->data, v->nbytes);
    if (sum.hex() != it->second)
      fail(fmt::format("'{}': checksum mismatch (the file is corrupt: stored {}, computed {})", path, it->second,
                       sum.hex()));
  }
  for (auto& [name, t] : model.named_parameters()) {
    const TensorView* v = f.find(name);
    require(v != nullptr, fmt::format("'{}': checkpoint has no tensor '{}'", path, name));
    std::vector<int64_t> shape(v->shape.begin(), v->shape.end());
    if (shape != std::vector<int64_t>(t.sizes().begin(), t.sizes().end()))
      fail(fmt::format("'{}': tensor '{}' has the wrong shape for this model", path, name));
    auto vals = to_f32(*v);
    model.set_param(name, torch::from_blob(vals.data(), t.sizes(), torch::kFloat32));
  }
  return f.metadata();
}

}  // namespace sinklab

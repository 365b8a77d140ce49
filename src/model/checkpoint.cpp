#include "model/checkpoint.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "io/error.h"
#include "io/safetensors.h"
#include "model/transformer.h"

namespace sinklab {

void save_weights(const Transformer& model, const std::string& path, const std::map<std::string, std::string>& meta) {
  std::vector<at::Tensor> keep;
  std::vector<TensorToWrite> out;
  for (auto& [name, t] : model.named_parameters()) {
    auto c = model.value(name).detach().to(torch::kCPU, torch::kFloat32).contiguous();
    keep.push_back(c);
    TensorToWrite w;
    w.name = name;
    w.dtype = DType::F32;
    w.shape.assign(c.sizes().begin(), c.sizes().end());
    w.data = c.data_ptr();
    w.nbytes = c.numel() * sizeof(float);
    out.push_back(std::move(w));
  }
  write_safetensors(path, out, meta);
}

std::map<std::string, std::string> load_weights(Transformer& model, const std::string& path) {
  SafetensorsFile f(path);
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

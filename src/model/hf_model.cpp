#include "model/hf_model.h"

#include <set>
#include <torch/torch.h>

#include "io/error.h"
#include "io/safetensors.h"
#include "model/transformer.h"

namespace sinklab {

ModelSpec spec_from_hf(const hf::HfConfig& c) {
  ModelSpec s = c.spec;
  s.finalize();
  return s;
}

std::unique_ptr<Transformer> transformer_from_hf_dir(const std::string& dir) {
  return transformer_from_hf(hf::read_config(dir));
}

std::unique_ptr<Transformer> transformer_from_hf(const hf::HfConfig& c) {
  const std::string& dir = c.dir;
  ShardedSafetensors st(dir);
  // Every tensor is checked (present, dtype, shape) before the model is allocated.
  const auto maps = hf::map_weights(c, st);
  auto m = std::make_unique<Transformer>(spec_from_hf(c));
  for (const auto& w : maps) {
    std::vector<float> v = hf::read_weight(w, st);
    m->set_param(w.dst, torch::from_blob(v.data(), at::IntArrayRef(w.dst_shape), torch::kFloat32));
  }
  // Every parameter of the model must have come from the checkpoint.
  std::set<std::string> got;
  for (const auto& w : maps) got.insert(w.dst);
  for (const auto& [name, t] : m->named_parameters())
    require(got.count(name) > 0, "'" + dir + "': no checkpoint tensor maps to parameter '" + name + "'");
  return m;
}

}  // namespace sinklab

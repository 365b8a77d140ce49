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

std::unique_ptr<Transformer> transformer_from_hf_dir(const std::string& dir, bool stored) {
  return transformer_from_hf(hf::read_config(dir), stored);
}

std::unique_ptr<Transformer> transformer_from_hf(const hf::HfConfig& c, bool stored) {
  const std::string& dir = c.dir;
  auto st = std::make_shared<const ShardedSafetensors>(dir);
  // Every tensor is checked (present, dtype, shape) before the model is allocated.
  const auto maps = hf::map_weights(c, *st);
  auto m = std::make_unique<Transformer>(spec_from_hf(c), false);
  for (const auto& w : maps) {
    if (stored && hf::can_fill_rows(w, *st) && Transformer::can_store(w.dst)) {
      const TensorView& t = st->get(w.src);
      StoredWeight sw;
      sw.fill = [w, &t](int64_t row0, int64_t n, float* dst) { hf::fill_weight_rows(w, t, row0, n, dst); };
      sw.keep = st;  // t lives in st
      sw.stored_bytes = w.dst_shape[0] * w.dst_shape[1] * (int64_t)dtype_size(t.dtype);
      m->store(w.dst, std::move(sw));
      continue;
    }
    std::vector<float> v = hf::read_weight(w, *st);
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

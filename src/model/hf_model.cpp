#include "model/hf_model.h"

#include <set>
#include <torch/torch.h>

#include "io/error.h"
#include "io/safetensors.h"
#include "model/transformer.h"

namespace sinklab {

ModelSpec spec_from_hf(const hf::HfConfig& c) {
  ModelSpec s;
  s.arch = c.model_type;
  s.vocab = c.vocab;
  s.d_model = c.d_model;
  s.n_layers = c.n_layers;
  s.n_heads = c.n_heads;
  s.n_kv_heads = c.n_kv_heads;
  s.head_dim = c.head_dim;
  s.d_ff = c.d_ff;
  s.n_ctx = c.n_ctx;
  if (c.norm == "rmsnorm") s.norm = NormKind::RMSNorm;
  else if (c.norm == "layernorm") s.norm = NormKind::LayerNorm;
  else if (c.norm == "layernorm_noaffine") s.norm = NormKind::LayerNormNoAffine;
  else fail("'" + c.config_path + "': unknown norm '" + c.norm + "'");
  s.norm_eps = c.norm_eps;
  s.parallel_attn_mlp = c.parallel_attn_mlp;
  s.pos = c.learned_pos ? PosKind::Learned : PosKind::Rotary;
  s.rope_theta = c.rope_theta;
  s.rope_dim = c.learned_pos ? 0 : c.rope_dim;
  s.rope_interleaved = false;  // transformers' rotate_half; HF weights are not permuted
  if (c.mlp == "swiglu") s.mlp = MlpKind::SwiGLU;
  else if (c.mlp == "gelu") s.mlp = MlpKind::GELU;
  else if (c.mlp == "gelu_tanh") s.mlp = MlpKind::GELUTanh;
  else if (c.mlp == "relu") s.mlp = MlpKind::ReLU;
  else fail("'" + c.config_path + "': unknown activation '" + c.mlp + "'");
  s.attn = "softmax";
  s.attn_bias = c.attn_bias;
  s.attn_out_bias = c.attn_out_bias;
  s.mlp_bias = c.mlp_bias;
  s.qkv_clip = c.qkv_clip;
  s.tied_embeddings = c.tied_embeddings;
  s.finalize();
  return s;
}

std::unique_ptr<Transformer> transformer_from_hf_dir(const std::string& dir) {
  const hf::HfConfig c = hf::read_config(dir);
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

// Phi-3 (phi3): the llama block with q, k and v fused into one qkv_proj ([q; k; v] rows)
// and the MLP's gate and up projections into gate_up_proj ([gate; up] rows), RMSNorm,
// SwiGLU, rotary halves; longrope scaling for the 128k-context models (per-frequency
// factors, short below original_max_position_embeddings, long past it); a sliding
// window on every layer when sliding_window is set. GGUF (llama.cpp names): attn_qkv
// fused the same way, ffn_up holding [gate; up], longrope factors in the
// rope_factors_short / rope_factors_long tensors.
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "io/dequant.h"
#include "io/error.h"
#include "io/gguf.h"
#include "model/arch/arch.h"
#include "model/arch/hf_dir.h"

namespace sinklab {

namespace {

bool all_layers(int, const ConfigKeys&) { return true; }

void hf_config(const ConfigKeys& k, hf::HfConfig& c) {
  ModelSpec& s = c.spec;
  const int64_t max_pos = read_rotary_dims(k, s, 4096, false);
  read_rope_config(k, s, max_pos);
  s.norm = NormKind::RMSNorm;
  s.norm_eps = k.positive("rms_norm_eps", 1e-5);
  s.mlp = k.activation("hidden_act", "silu", true);
  s.tied_embeddings = k.boolean("tie_word_embeddings", false);
  if (k.has("sliding_window"))
    set_layer_windows(k, s, (int)k.integer("sliding_window", 1, kMaxCtx * 64), all_layers);
}

void hf_tensors(const hf::HfConfig& c, HfTensorTable& t) {
  const ModelSpec& s = c.spec;
  const int64_t V = s.vocab, d = s.d_model, q = (int64_t)s.n_heads * s.hd(), kv = (int64_t)s.kv_heads() * s.hd(),
                ff = s.ff();
  const std::string pre = t.prefix({"model.", ""}, "embed_tokens.weight");
  t.same(pre + "embed_tokens.weight", "embed.W_E", {V, d});
  for (int l = 0; l < s.n_layers; ++l) {
    auto S = [&](const char* n) { return fmt::format("{}layers.{}.{}", pre, l, n); };
    auto P = [&](const char* n) { return block_param(l, n); };
    t.same(S("input_layernorm.weight"), P("ln1.w"), {d});
    const std::string qkv = S("self_attn.qkv_proj.weight");
    t.add(qkv, {q + 2 * kv, d}, P("attn.W_Q"), {q, d}, false, {{0, q}});
    t.add(qkv, {q + 2 * kv, d}, P("attn.W_K"), {kv, d}, false, {{q, kv}});
    t.add(qkv, {q + 2 * kv, d}, P("attn.W_V"), {kv, d}, false, {{q + kv, kv}});
    t.same(S("self_attn.o_proj.weight"), P("attn.W_O"), {d, q});
    t.same(S("post_attention_layernorm.weight"), P("ln2.w"), {d});
    const std::string gu = S("mlp.gate_up_proj.weight");
    t.add(gu, {2 * ff, d}, P("mlp.W_gate"), {ff, d}, false, {{0, ff}});
    t.add(gu, {2 * ff, d}, P("mlp.W_in"), {ff, d}, false, {{ff, ff}});
    t.same(S("mlp.down_proj.weight"), P("mlp.W_out"), {d, ff});
  }
  t.same(pre + "norm.weight", "ln_final.w", {d});
  if (!s.tied_embeddings) t.same("lm_head.weight", "unembed.W_U", {V, d});
}

std::vector<double> factors(const gguf::GgufFile& f, const gguf::TensorInfo& t, int n) {
  require(t.shape() == std::vector<int64_t>{n} && t.type == gguf::GgmlType::F32,
          fmt::format("'{}': tensor '{}' has shape {} and type {}, expected [{}] F32", f.path(), t.name,
                      t.shape_string(), gguf::type_name(t.type), n));
  std::vector<float> v((size_t)n);
  gguf::dequantize_into(t.type, f.tensor_data(t), v.data(), v.size(), false);
  for (float x : v)
    require(std::isfinite(x) && x > 0, fmt::format("'{}': tensor '{}' holds a factor {}", f.path(), t.name, x));
  return {v.begin(), v.end()};
}

ModelSpec gguf_config(const gguf::GgufFile& f) {
  ModelSpec s = gguf_base_spec(f);
  s.rope_interleaved = false;  // llama.cpp's NEOX rope type
  s.mlp = MlpKind::SwiGLU;
  const gguf::TensorInfo* sf = f.find_tensor("rope_factors_short.weight");
  const gguf::TensorInfo* lf = f.find_tensor("rope_factors_long.weight");
  if (sf && lf) {
    RopeScaling& r = s.rope_scaling;
    r.type = "longrope";
    r.short_factor = factors(f, *sf, s.rope_dim / 2);
    r.long_factor = factors(f, *lf, s.rope_dim / 2);
    r.original_ctx = f.get_u32_or("phi3.rope.scaling.original_context_length", (uint32_t)s.n_ctx);
    r.factor = std::max(1.0, (double)f.get_u32_or("phi3.context_length", (uint32_t)s.n_ctx) / (double)r.original_ctx);
    const float af = f.get_f32_or("phi3.rope.scaling.attn_factor", 0.0f);
    require(std::isfinite(af) && af >= 0, fmt::format("'{}': phi3.rope.scaling.attn_factor is {}", f.path(), af));
    r.attention_factor = af;
  }
  const uint32_t window = f.get_u32_or("phi3.attention.sliding_window", 0);
  s.layers.assign(s.n_layers, LayerSpec{});
  for (auto& l : s.layers) l.window = (int)window;
  return s;
}

std::vector<GgufTensorMap> gguf_tensors(const ModelSpec& s) {
  const int64_t q = (int64_t)s.n_heads * s.hd(), kv = (int64_t)s.kv_heads() * s.hd(), ff = s.ff();
  std::vector<GgufTensorMap> r = {{"token_embd.weight", "embed.W_E"}};
  for (int l = 0; l < s.n_layers; ++l) {
    auto G = [&](const char* g) { return fmt::format("blk.{}.{}", l, g); };
    r.push_back({G("attn_norm.weight"), block_param(l, "ln1.w")});
    r.push_back({G("attn_qkv.weight"), block_param(l, "attn.W_Q"), 0, q, q + 2 * kv});
    r.push_back({G("attn_qkv.weight"), block_param(l, "attn.W_K"), q, kv, q + 2 * kv});
    r.push_back({G("attn_qkv.weight"), block_param(l, "attn.W_V"), q + kv, kv, q + 2 * kv});
    r.push_back({G("attn_output.weight"), block_param(l, "attn.W_O")});
    r.push_back({G("ffn_norm.weight"), block_param(l, "ln2.w")});
    r.push_back({G("ffn_up.weight"), block_param(l, "mlp.W_gate"), 0, ff, 2 * ff});
    r.push_back({G("ffn_up.weight"), block_param(l, "mlp.W_in"), ff, ff, 2 * ff});
    r.push_back({G("ffn_down.weight"), block_param(l, "mlp.W_out")});
  }
  r.push_back({"output_norm.weight", "ln_final.w"});
  if (!s.tied_embeddings) r.push_back({"output.weight", "unembed.W_U"});
  return r;
}

}  // namespace

extern const Architecture kArchPhi3;
const Architecture kArchPhi3{"phi3", {"phi3"}, {"phi3"}, hf_config, hf_tensors, gguf_config, gguf_tensors};

}  // namespace sinklab

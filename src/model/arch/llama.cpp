// The llama family: llama, mistral, qwen2 (q/k/v biases) and olmo (LayerNorm without
// affine parameters, fixed eps 1e-5, clip_qkv). RMSNorm, rotary (rotate halves in HF
// checkpoints, adjacent pairs in GGUF), SwiGLU, grouped-query attention.
#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "io/error.h"
#include "io/gguf.h"
#include "model/arch/arch.h"
#include "model/arch/hf_dir.h"

namespace sinklab {

namespace {

void hf_config(const ConfigKeys& k, hf::HfConfig& c) {
  const std::string& mt = c.model_type;
  ModelSpec& s = c.spec;
  s.vocab = (int)k.integer("vocab_size", 2, kMaxVocab);
  s.d_model = (int)k.integer("hidden_size", 1, kMaxWidth);
  s.n_layers = (int)k.integer("num_hidden_layers", 1, 512);
  s.n_heads = (int)k.integer("num_attention_heads", 1, 4096);
  s.n_kv_heads = (int)k.integer("num_key_value_heads", 1, 4096, s.n_heads);
  s.d_ff = (int)k.integer("intermediate_size", 1, kMaxWidth);
  s.n_ctx = (int)std::min<int64_t>(
      k.integer("max_position_embeddings", 1, std::numeric_limits<int32_t>::max(), 2048), kMaxCtx);
  s.head_dim = k.has("head_dim") ? (int)k.integer("head_dim", 1, 65536)
                                 : k.head_dim(s.d_model, s.n_heads, "hidden_size", "num_attention_heads");
  if (s.n_heads % s.n_kv_heads != 0)
    k.bad("num_key_value_heads",
          fmt::format("{} attention heads are not a multiple of {} key/value heads", s.n_heads, s.n_kv_heads));
  s.pos = PosKind::Rotary;
  s.rope_theta = k.positive("rope_theta", 10000.0);
  s.rope_dim = s.head_dim;
  if (s.head_dim % 2 != 0) k.bad("head_dim", fmt::format("rotary head dim {} is odd", s.head_dim));
  if (k.has("rope_scaling")) k.bad("rope_scaling", "RoPE scaling is not supported");
  s.mlp = k.activation("hidden_act", "silu", true);
  if (mt == "olmo") {
    s.norm = NormKind::LayerNormNoAffine;
    s.norm_eps = 1e-5;  // OlmoLayerNorm has a fixed epsilon
    if (k.has("clip_qkv")) {
      s.qkv_clip = k.number("clip_qkv");
      if (!(s.qkv_clip > 0)) k.bad("clip_qkv", fmt::format("must be positive, got {}", s.qkv_clip));
    }
  } else {
    s.norm = NormKind::RMSNorm;
    s.norm_eps = k.positive("rms_norm_eps", 1e-6);
  }
  if (mt == "qwen2") {
    s.attn_bias = true;  // q, k, v biases; o_proj has none
  } else {
    s.attn_bias = s.attn_out_bias = k.boolean("attention_bias", false);
  }
  if (k.boolean("mlp_bias", false)) k.bad("mlp_bias", "MLP biases of gated MLPs are not supported");
  s.tied_embeddings = k.boolean("tie_word_embeddings", false);
  if (mt == "mistral" || mt == "qwen2") {
    bool use_sw = mt == "mistral" || k.boolean("use_sliding_window", false);
    if (use_sw && k.has("sliding_window")) c.sliding_window = (int)k.integer("sliding_window", 1, kMaxCtx * 64);
  }
}

void hf_tensors(const hf::HfConfig& c, HfTensorTable& t) {
  const ModelSpec& s = c.spec;
  const int64_t V = s.vocab, d = s.d_model, q = (int64_t)s.n_heads * s.hd(), kv = (int64_t)s.kv_heads() * s.hd(),
                ff = s.ff();
  const std::string pre = t.prefix({"model.", ""}, "embed_tokens.weight");
  const bool affine = s.norm != NormKind::LayerNormNoAffine;
  t.same(pre + "embed_tokens.weight", "embed.W_E", {V, d});
  for (int l = 0; l < s.n_layers; ++l) {
    auto S = [&](const char* n) { return fmt::format("{}layers.{}.{}", pre, l, n); };
    auto P = [&](const char* n) { return block_param(l, n); };
    if (affine) t.same(S("input_layernorm.weight"), P("ln1.w"), {d});
    t.same(S("self_attn.q_proj.weight"), P("attn.W_Q"), {q, d});
    t.same(S("self_attn.k_proj.weight"), P("attn.W_K"), {kv, d});
    t.same(S("self_attn.v_proj.weight"), P("attn.W_V"), {kv, d});
    t.same(S("self_attn.o_proj.weight"), P("attn.W_O"), {d, q});
    if (s.attn_bias) {
      t.same(S("self_attn.q_proj.bias"), P("attn.b_Q"), {q});
      t.same(S("self_attn.k_proj.bias"), P("attn.b_K"), {kv});
      t.same(S("self_attn.v_proj.bias"), P("attn.b_V"), {kv});
    }
    if (s.attn_out_bias) t.same(S("self_attn.o_proj.bias"), P("attn.b_O"), {d});
    if (affine) t.same(S("post_attention_layernorm.weight"), P("ln2.w"), {d});
    t.same(S("mlp.up_proj.weight"), P("mlp.W_in"), {ff, d});
    t.same(S("mlp.gate_proj.weight"), P("mlp.W_gate"), {ff, d});
    t.same(S("mlp.down_proj.weight"), P("mlp.W_out"), {d, ff});
  }
  if (affine) t.same(pre + "norm.weight", "ln_final.w", {d});
  if (!s.tied_embeddings) t.same("lm_head.weight", "unembed.W_U", {V, d});
}

ModelSpec gguf_config(const gguf::GgufFile& f) {
  const std::string arch = f.architecture();
  auto key = [&](const char* k) { return arch + "." + k; };
  ModelSpec s;
  s.arch = arch;
  s.n_layers = (int)f.get_u32(key("block_count"));
  s.d_model = (int)f.get_u32(key("embedding_length"));
  s.d_ff = (int)f.get_u32(key("feed_forward_length"));
  s.n_heads = (int)f.get_u32(key("attention.head_count"));
  s.n_kv_heads = (int)f.get_u32_or(key("attention.head_count_kv"), (uint32_t)s.n_heads);
  s.norm_eps = f.get_f32(key("attention.layer_norm_rms_epsilon"));
  s.n_ctx = (int)std::min<uint32_t>(f.get_u32_or(key("context_length"), 2048), 1u << 20);
  s.rope_theta = f.get_f32_or(key("rope.freq_base"), 10000.0f);
  require(s.n_heads > 0 && s.d_model % s.n_heads == 0,
          fmt::format("'{}': embedding_length {} is not divisible by head_count {}", f.path(), s.d_model, s.n_heads));
  s.head_dim = (int)f.get_u32_or(key("attention.key_length"), (uint32_t)(s.d_model / s.n_heads));
  s.rope_dim = (int)f.get_u32_or(key("rope.dimension_count"), (uint32_t)s.head_dim);
  const gguf::TensorInfo& emb = f.tensor("token_embd.weight");
  require(emb.shape().size() == 2 && emb.shape()[1] == s.d_model,
          fmt::format("'{}': token_embd.weight has shape {}, expected [vocab, {}]", f.path(), emb.shape_string(),
                      s.d_model));
  s.vocab = (int)emb.shape()[0];
  s.norm = NormKind::RMSNorm;
  s.pos = PosKind::Rotary;
  s.rope_interleaved = true;  // GGUF llama tensors are stored for adjacent-pair rotation
  s.mlp = MlpKind::SwiGLU;
  s.attn_bias = arch == "qwen2";
  s.tied_embeddings = f.find_tensor("output.weight") == nullptr;
  return s;
}

std::vector<std::pair<std::string, std::string>> gguf_tensors(const ModelSpec& s) {
  std::vector<std::pair<std::string, std::string>> r = {{"token_embd.weight", "embed.W_E"}};
  for (int l = 0; l < s.n_layers; ++l) {
    auto add = [&](const char* g, const char* p) { r.emplace_back(fmt::format("blk.{}.{}", l, g), block_param(l, p)); };
    add("attn_norm.weight", "ln1.w");
    add("attn_q.weight", "attn.W_Q");
    add("attn_k.weight", "attn.W_K");
    add("attn_v.weight", "attn.W_V");
    add("attn_output.weight", "attn.W_O");
    if (s.attn_bias) {
      add("attn_q.bias", "attn.b_Q");
      add("attn_k.bias", "attn.b_K");
      add("attn_v.bias", "attn.b_V");
    }
    add("ffn_norm.weight", "ln2.w");
    add("ffn_up.weight", "mlp.W_in");
    add("ffn_gate.weight", "mlp.W_gate");
    add("ffn_down.weight", "mlp.W_out");
  }
  r.emplace_back("output_norm.weight", "ln_final.w");
  if (!s.tied_embeddings) r.emplace_back("output.weight", "unembed.W_U");
  return r;
}

}  // namespace

extern const Architecture kArchLlama;
const Architecture kArchLlama{"llama", {"llama", "mistral", "qwen2", "olmo"}, {"llama", "mistral", "qwen2"},
                              hf_config, hf_tensors, gguf_config, gguf_tensors};

}  // namespace sinklab

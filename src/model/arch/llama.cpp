// The llama family: llama (with every RoPE scaling: linear, dynamic, llama3, yarn,
// longrope), mistral (sliding window on every layer), qwen2 (q/k/v biases; sliding
// windows from max_window_layers on), qwen3 (qk-norm per head), olmo (LayerNorm without
// affine parameters, fixed eps 1e-5, clip_qkv) and olmo2 (qk-norm over the full
// projection, norms on the sublayer outputs instead of their inputs). RMSNorm, rotary
// (rotate halves in HF checkpoints; in GGUF adjacent pairs for llama/mistral, whose q/k
// llama.cpp's converter permutes, halves for qwen2/qwen3/olmo2), SwiGLU, grouped-query
// attention.
#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "io/error.h"
#include "io/gguf.h"
#include "model/arch/arch.h"
#include "model/arch/hf_dir.h"

namespace sinklab {

namespace {

bool all_layers(int, const ConfigKeys&) { return true; }
// Qwen2/Qwen3 (transformers 4): the layers from max_window_layers on slide.
bool qwen_sliding(int l, const ConfigKeys& k) { return l >= k.integer("max_window_layers", 0, 1 << 20, 28); }

void hf_config(const ConfigKeys& k, hf::HfConfig& c) {
  const std::string& mt = c.model_type;
  ModelSpec& s = c.spec;
  const int64_t max_pos = read_rotary_dims(k, s, 2048);
  read_rope_config(k, s, max_pos);
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
  if (mt == "qwen3") s.qk_norm = "head";
  if (mt == "olmo2") {
    s.qk_norm = "full";
    s.input_norm = false;
    s.out_norm = true;
  }
  if (mt == "qwen2") {
    s.attn_bias = true;  // q, k, v biases; o_proj has none
  } else {
    s.attn_bias = s.attn_out_bias = k.boolean("attention_bias", false);
  }
  if (k.boolean("mlp_bias", false)) k.bad("mlp_bias", "MLP biases of gated MLPs are not supported");
  s.tied_embeddings = k.boolean("tie_word_embeddings", false);
  // Sliding windows: Mistral on every layer; Qwen2/Qwen3 only with use_sliding_window.
  int window = 0;
  if ((mt == "mistral" || ((mt == "qwen2" || mt == "qwen3") && k.boolean("use_sliding_window", false))) &&
      k.has("sliding_window"))
    window = (int)k.integer("sliding_window", 1, kMaxCtx * 64);
  if (window > 0) set_layer_windows(k, s, window, mt == "mistral" ? all_layers : qwen_sliding);
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
    if (affine && s.input_norm) t.same(S("input_layernorm.weight"), P("ln1.w"), {d});
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
    if (s.qk_norm == "head") {
      t.same(S("self_attn.q_norm.weight"), P("attn.q_norm.w"), {s.hd()});
      t.same(S("self_attn.k_norm.weight"), P("attn.k_norm.w"), {s.hd()});
    } else if (s.qk_norm == "full") {
      t.same(S("self_attn.q_norm.weight"), P("attn.q_norm.w"), {q});
      t.same(S("self_attn.k_norm.weight"), P("attn.k_norm.w"), {kv});
    }
    if (s.out_norm) {  // OLMo-2: post_attention_layernorm norms the attention output
      t.same(S("post_attention_layernorm.weight"), P("ln1_post.w"), {d});
      t.same(S("post_feedforward_layernorm.weight"), P("ln2_post.w"), {d});
    } else if (affine) {
      t.same(S("post_attention_layernorm.weight"), P("ln2.w"), {d});
    }
    t.same(S("mlp.up_proj.weight"), P("mlp.W_in"), {ff, d});
    t.same(S("mlp.gate_proj.weight"), P("mlp.W_gate"), {ff, d});
    t.same(S("mlp.down_proj.weight"), P("mlp.W_out"), {d, ff});
  }
  if (affine) t.same(pre + "norm.weight", "ln_final.w", {d});
  if (!s.tied_embeddings) t.same("lm_head.weight", "unembed.W_U", {V, d});
}

ModelSpec gguf_config(const gguf::GgufFile& f) {
  const std::string arch = f.architecture();
  ModelSpec s = gguf_base_spec(f);
  // llama.cpp's converter permutes llama/mistral q and k for rotation of adjacent pairs;
  // qwen2, qwen3 and olmo2 keep transformers' halves (llama.cpp's NEOX rope type).
  s.rope_interleaved = arch == "llama" || arch == "mistral";
  s.mlp = MlpKind::SwiGLU;
  s.attn_bias = arch == "qwen2";
  if (arch == "qwen3") s.qk_norm = "head";
  if (arch == "olmo2") {
    s.qk_norm = "full";
    s.input_norm = false;
    s.out_norm = true;
  }
  return s;
}

}  // namespace

extern const Architecture kArchLlama;
const Architecture kArchLlama{"llama", {"llama", "mistral", "qwen2", "qwen3", "olmo", "olmo2"},
                              {"llama", "mistral", "qwen2", "qwen3", "olmo2"},
                              hf_config, hf_tensors, gguf_config, gguf_llama_layout_tensors};

}  // namespace sinklab

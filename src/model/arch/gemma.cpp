// The Gemma family: gemma, gemma2 and gemma3_text (Gemma3ForCausalLM). RMSNorm whose gain
// is stored as w - 1 (1 is added at load; llama.cpp's converter has already added it to
// GGUF files), token embeddings times sqrt(d_model), gated GELU (tanh approximation),
// tied embeddings, rotary halves. Gemma 2 and 3 add norms on the sublayer outputs
// ("sandwich"), a logit scale query_pre_attn_scalar^-1/2 and sliding-window layers
// (Gemma 2 every other layer from 0, Gemma 3 five of every six); Gemma 2 soft-caps the
// attention and output logits; Gemma 3 norms q and k per head and gives its sliding
// layers their own RoPE base (rope_local_base_freq, 10000) while the global layers carry
// the scaling.
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "io/error.h"
#include "io/gguf.h"
#include "model/arch/arch.h"
#include "model/arch/hf_dir.h"

namespace sinklab {

namespace {

bool gemma2_sliding(int l, const ConfigKeys&) { return l % 2 == 0; }
bool gemma3_sliding(int l, const ConfigKeys& k) {
  const int64_t pattern = k.integer("sliding_window_pattern", 1, 1 << 20, 6);
  return (l + 1) % pattern != 0;
}

// sqrt(d) as transformers computes it: a float32 scalar.
double embed_scale(int d) { return (double)(float)std::sqrt((double)d); }

void hf_config(const ConfigKeys& k, hf::HfConfig& c) {
  const std::string& mt = c.model_type;
  const bool g1 = mt == "gemma", g3 = mt == "gemma3_text";
  ModelSpec& s = c.spec;
  const int64_t max_pos = read_rotary_dims(k, s, 8192);
  s.norm = NormKind::RMSNorm;
  s.norm_eps = k.positive("rms_norm_eps", 1e-6);
  // transformers reads hidden_activation (hidden_act of early Gemma configs is ignored).
  s.mlp = k.activation("hidden_activation", "gelu_pytorch_tanh", true);
  if (k.boolean("attention_bias", false)) k.bad("attention_bias", "attention biases are not supported for Gemma");
  s.tied_embeddings = k.boolean("tie_word_embeddings", true);
  s.embed_scale = embed_scale(s.d_model);
  if (g3 && !k.has("rope_parameters")) s.rope_local_theta = k.positive("rope_local_base_freq", 10000.0);
  read_rope_config(k, s, max_pos);
  if (g1) return;
  s.out_norm = true;
  s.attn_scale = 1.0 / std::sqrt(k.positive("query_pre_attn_scalar", (double)s.head_dim));
  s.attn_softcap = k.has("attn_logit_softcapping") ? k.positive("attn_logit_softcapping", 1) : 0;
  s.logit_softcap = k.has("final_logit_softcapping") ? k.positive("final_logit_softcapping", 1) : 0;
  if (g3) s.qk_norm = "head";
  const int window = k.has("sliding_window") ? (int)k.integer("sliding_window", 1, kMaxCtx * 64) : 0;
  if (window > 0) set_layer_windows(k, s, window, g3 ? gemma3_sliding : gemma2_sliding);
}

void hf_tensors(const hf::HfConfig& c, HfTensorTable& t) {
  const ModelSpec& s = c.spec;
  const int64_t V = s.vocab, d = s.d_model, q = (int64_t)s.n_heads * s.hd(), kv = (int64_t)s.kv_heads() * s.hd(),
                ff = s.ff(), hd = s.hd();
  const std::string pre = t.prefix({"model.", ""}, "embed_tokens.weight");
  // Norm gains are stored as w - 1.
  auto norm = [&](const std::string& src, const std::string& dst, int64_t n) { t.add(src, {n}, dst, {n}, false, {}, 1.0f); };
  t.same(pre + "embed_tokens.weight", "embed.W_E", {V, d});
  for (int l = 0; l < s.n_layers; ++l) {
    auto S = [&](const char* n) { return fmt::format("{}layers.{}.{}", pre, l, n); };
    auto P = [&](const char* n) { return block_param(l, n); };
    norm(S("input_layernorm.weight"), P("ln1.w"), d);
    t.same(S("self_attn.q_proj.weight"), P("attn.W_Q"), {q, d});
    t.same(S("self_attn.k_proj.weight"), P("attn.W_K"), {kv, d});
    t.same(S("self_attn.v_proj.weight"), P("attn.W_V"), {kv, d});
    t.same(S("self_attn.o_proj.weight"), P("attn.W_O"), {d, q});
    if (s.qk_norm == "head") {
      norm(S("self_attn.q_norm.weight"), P("attn.q_norm.w"), hd);
      norm(S("self_attn.k_norm.weight"), P("attn.k_norm.w"), hd);
    }
    if (s.out_norm) {
      norm(S("post_attention_layernorm.weight"), P("ln1_post.w"), d);
      norm(S("pre_feedforward_layernorm.weight"), P("ln2.w"), d);
      norm(S("post_feedforward_layernorm.weight"), P("ln2_post.w"), d);
    } else {
      norm(S("post_attention_layernorm.weight"), P("ln2.w"), d);
    }
    t.same(S("mlp.up_proj.weight"), P("mlp.W_in"), {ff, d});
    t.same(S("mlp.gate_proj.weight"), P("mlp.W_gate"), {ff, d});
    t.same(S("mlp.down_proj.weight"), P("mlp.W_out"), {d, ff});
  }
  norm(pre + "norm.weight", "ln_final.w", d);
  if (!s.tied_embeddings) t.same("lm_head.weight", "unembed.W_U", {V, d});
}

ModelSpec gguf_config(const gguf::GgufFile& f) {
  const std::string arch = f.architecture();
  auto key = [&](const char* k) { return arch + "." + k; };
  ModelSpec s = gguf_base_spec(f);
  s.rope_interleaved = false;  // llama.cpp's NEOX rope type: halves, as transformers
  s.mlp = MlpKind::GeGLUTanh;
  s.embed_scale = embed_scale(s.d_model);
  if (arch == "gemma") return s;
  s.out_norm = true;
  // GGUF does not store query_pre_attn_scalar; llama.cpp takes d_model / heads for the
  // 27B models (46 layers in Gemma 2, 62 in Gemma 3) and the head dim otherwise.
  const bool big = (arch == "gemma2" && s.n_layers == 46) || (arch == "gemma3" && s.n_layers == 62);
  s.attn_scale = 1.0 / std::sqrt(big ? (double)s.d_model / s.n_heads : (double)s.hd());
  s.attn_softcap = f.get_f32_or(key("attn_logit_softcapping"), 0.0f);
  s.logit_softcap = f.get_f32_or(key("final_logit_softcapping"), 0.0f);
  require(std::isfinite(s.attn_softcap) && s.attn_softcap >= 0 && std::isfinite(s.logit_softcap) &&
              s.logit_softcap >= 0,
          fmt::format("'{}': soft-capping values must be finite and >= 0", f.path()));
  const uint32_t window = f.get_u32_or(key("attention.sliding_window"), 0);
  s.layers.assign(s.n_layers, LayerSpec{});
  if (arch == "gemma3") {
    s.qk_norm = "head";
    s.rope_local_theta = 10000.0;  // llama.cpp's fixed base of the sliding layers
  }
  const int pattern = arch == "gemma3" ? 6 : 2;
  for (int l = 0; l < s.n_layers && window > 0; ++l)
    if (arch == "gemma3" ? (l + 1) % pattern != 0 : l % pattern == 0) s.layers[l].window = (int)window;
  return s;
}

}  // namespace

extern const Architecture kArchGemma;
const Architecture kArchGemma{"gemma", {"gemma", "gemma2", "gemma3_text"}, {"gemma", "gemma2", "gemma3"},
                              hf_config, hf_tensors, gguf_config, gguf_llama_layout_tensors};

}  // namespace sinklab

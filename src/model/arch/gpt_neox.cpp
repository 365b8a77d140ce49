// GPT-NeoX (Pythia): LayerNorm with biases, partial rotary (rotary_pct), parallel
// residual, biases everywhere, fused per-head query_key_value.
#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "model/arch/arch.h"
#include "model/arch/hf_dir.h"

namespace sinklab {

namespace {

void hf_config(const ConfigKeys& k, hf::HfConfig& c) {
  ModelSpec& s = c.spec;
  s.vocab = (int)k.integer("vocab_size", 2, kMaxVocab);
  s.d_model = (int)k.integer("hidden_size", 1, kMaxWidth);
  s.n_layers = (int)k.integer("num_hidden_layers", 1, 512);
  s.n_heads = (int)k.integer("num_attention_heads", 1, 4096);
  s.n_kv_heads = s.n_heads;
  s.d_ff = (int)k.integer("intermediate_size", 1, kMaxWidth);
  s.n_ctx = (int)std::min<int64_t>(
      k.integer("max_position_embeddings", 1, std::numeric_limits<int32_t>::max(), 2048), kMaxCtx);
  s.head_dim = k.head_dim(s.d_model, s.n_heads, "hidden_size", "num_attention_heads");
  s.norm = NormKind::LayerNorm;
  s.norm_eps = k.positive("layer_norm_eps", 1e-5);
  s.parallel_attn_mlp = k.boolean("use_parallel_residual", true);
  s.pos = PosKind::Rotary;
  s.rope_theta = k.positive("rotary_emb_base", 10000.0);
  double pct = k.has("rotary_pct") ? k.number("rotary_pct") : 0.25;
  if (!(pct > 0 && pct <= 1)) k.bad("rotary_pct", fmt::format("must be in (0, 1], got {}", pct));
  s.rope_dim = (int)(s.head_dim * pct);  // as transformers: int(head_size * rotary_pct)
  if (s.rope_dim < 2 || s.rope_dim % 2 != 0)
    k.bad("rotary_pct", fmt::format("gives {} rotary dims of head dim {} (must be even and >= 2)", s.rope_dim,
                                    s.head_dim));
  if (k.has("rope_scaling")) k.bad("rope_scaling", "RoPE scaling is not supported");
  s.mlp = k.activation("hidden_act", "gelu", false);
  s.attn_bias = s.attn_out_bias = k.boolean("attention_bias", true);
  s.mlp_bias = true;
  s.tied_embeddings = k.boolean("tie_word_embeddings", false);
}

void hf_tensors(const hf::HfConfig& c, HfTensorTable& t) {
  const ModelSpec& s = c.spec;
  const int64_t V = s.vocab, d = s.d_model, H = s.n_heads, hd = s.hd(), ff = s.ff();
  const std::string pre = t.prefix({"gpt_neox.", ""}, "embed_in.weight");
  t.same(pre + "embed_in.weight", "embed.W_E", {V, d});
  // query_key_value rows are per head: [q(hd), k(hd), v(hd)] for head 0, then head 1, ...
  auto blocks = [&](int which) {
    std::vector<std::pair<int64_t, int64_t>> r;
    for (int64_t h = 0; h < H; ++h) r.emplace_back(h * 3 * hd + which * hd, hd);
    return r;
  };
  const char* W[3] = {"attn.W_Q", "attn.W_K", "attn.W_V"};
  const char* B[3] = {"attn.b_Q", "attn.b_K", "attn.b_V"};
  for (int l = 0; l < s.n_layers; ++l) {
    auto S = [&](const char* n) { return fmt::format("{}layers.{}.{}", pre, l, n); };
    auto P = [&](const char* n) { return block_param(l, n); };
    t.same(S("input_layernorm.weight"), P("ln1.w"), {d});
    t.same(S("input_layernorm.bias"), P("ln1.b"), {d});
    for (int w = 0; w < 3; ++w)
      t.add(S("attention.query_key_value.weight"), {3 * H * hd, d}, P(W[w]), {H * hd, d}, false, blocks(w));
    if (s.attn_bias)
      for (int w = 0; w < 3; ++w)
        t.add(S("attention.query_key_value.bias"), {3 * H * hd}, P(B[w]), {H * hd}, false, blocks(w));
    t.same(S("attention.dense.weight"), P("attn.W_O"), {d, H * hd});
    if (s.attn_out_bias) t.same(S("attention.dense.bias"), P("attn.b_O"), {d});
    t.same(S("post_attention_layernorm.weight"), P("ln2.w"), {d});
    t.same(S("post_attention_layernorm.bias"), P("ln2.b"), {d});
    t.same(S("mlp.dense_h_to_4h.weight"), P("mlp.W_in"), {ff, d});
    t.same(S("mlp.dense_h_to_4h.bias"), P("mlp.b_in"), {ff});
    t.same(S("mlp.dense_4h_to_h.weight"), P("mlp.W_out"), {d, ff});
    t.same(S("mlp.dense_4h_to_h.bias"), P("mlp.b_out"), {d});
  }
  t.same(pre + "final_layer_norm.weight", "ln_final.w", {d});
  t.same(pre + "final_layer_norm.bias", "ln_final.b", {d});
  if (!s.tied_embeddings) t.same("embed_out.weight", "unembed.W_U", {V, d});
}

}  // namespace

extern const Architecture kArchGptNeox;
const Architecture kArchGptNeox{"gpt_neox", {"gpt_neox"}, {}, hf_config, hf_tensors, nullptr, nullptr};

}  // namespace sinklab

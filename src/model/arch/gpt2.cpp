// GPT-2: learned positions, GELU (tanh), LayerNorm with biases, Conv1D weights stored
// [in, out], fused c_attn, biases everywhere, tied lm_head.
#include <fmt/format.h>

#include "model/arch/arch.h"
#include "model/arch/hf_dir.h"

namespace sinklab {

namespace {

void hf_config(const ConfigKeys& k, hf::HfConfig& c) {
  ModelSpec& s = c.spec;
  s.vocab = (int)k.integer("vocab_size", 2, kMaxVocab);
  s.d_model = (int)k.integer("n_embd", 1, kMaxWidth);
  s.n_layers = (int)k.integer("n_layer", 1, 512);
  s.n_heads = (int)k.integer("n_head", 1, 4096);
  s.n_kv_heads = s.n_heads;
  s.n_ctx = (int)k.integer("n_positions", 1, kMaxCtx);
  s.d_ff = (int)k.integer("n_inner", 1, kMaxWidth, 4 * (int64_t)s.d_model);
  s.head_dim = k.head_dim(s.d_model, s.n_heads, "n_embd", "n_head");
  s.norm = NormKind::LayerNorm;
  s.norm_eps = k.positive("layer_norm_epsilon", 1e-5);
  s.pos = PosKind::Learned;
  s.rope_dim = 0;
  s.mlp = k.activation("activation_function", "gelu_new", false);
  s.attn_bias = s.attn_out_bias = s.mlp_bias = true;
  s.tied_embeddings = k.boolean("tie_word_embeddings", true);
  if (!k.boolean("scale_attn_weights", true)) k.bad("scale_attn_weights", "false is not supported");
  if (k.boolean("scale_attn_by_inverse_layer_idx", false))
    k.bad("scale_attn_by_inverse_layer_idx", "true is not supported");
  if (k.boolean("add_cross_attention", false)) k.bad("add_cross_attention", "true is not supported");
}

void hf_tensors(const hf::HfConfig& c, HfTensorTable& t) {
  const ModelSpec& s = c.spec;
  const int64_t V = s.vocab, d = s.d_model, ff = s.ff();
  const std::string pre = t.prefix({"transformer.", ""}, "wte.weight");
  t.same(pre + "wte.weight", "embed.W_E", {V, d});
  t.same(pre + "wpe.weight", "pos_embed.W_pos", {s.n_ctx, d});
  const char* W[3] = {"attn.W_Q", "attn.W_K", "attn.W_V"};
  const char* B[3] = {"attn.b_Q", "attn.b_K", "attn.b_V"};
  for (int l = 0; l < s.n_layers; ++l) {
    auto S = [&](const char* n) { return fmt::format("{}h.{}.{}", pre, l, n); };
    auto P = [&](const char* n) { return block_param(l, n); };
    t.same(S("ln_1.weight"), P("ln1.w"), {d});
    t.same(S("ln_1.bias"), P("ln1.b"), {d});
    // Conv1D stores [in, out]: c_attn [d, 3d] -> transpose -> rows q | k | v.
    for (int w = 0; w < 3; ++w) t.add(S("attn.c_attn.weight"), {d, 3 * d}, P(W[w]), {d, d}, true, {{w * d, d}});
    for (int w = 0; w < 3; ++w) t.add(S("attn.c_attn.bias"), {3 * d}, P(B[w]), {d}, false, {{w * d, d}});
    t.add(S("attn.c_proj.weight"), {d, d}, P("attn.W_O"), {d, d}, true);
    t.same(S("attn.c_proj.bias"), P("attn.b_O"), {d});
    t.same(S("ln_2.weight"), P("ln2.w"), {d});
    t.same(S("ln_2.bias"), P("ln2.b"), {d});
    t.add(S("mlp.c_fc.weight"), {d, ff}, P("mlp.W_in"), {ff, d}, true);
    t.same(S("mlp.c_fc.bias"), P("mlp.b_in"), {ff});
    t.add(S("mlp.c_proj.weight"), {ff, d}, P("mlp.W_out"), {d, ff}, true);
    t.same(S("mlp.c_proj.bias"), P("mlp.b_out"), {d});
  }
  t.same(pre + "ln_f.weight", "ln_final.w", {d});
  t.same(pre + "ln_f.bias", "ln_final.b", {d});
  if (!s.tied_embeddings) t.same("lm_head.weight", "unembed.W_U", {V, d});
}

}  // namespace

extern const Architecture kArchGpt2;
const Architecture kArchGpt2{"gpt2", {"gpt2"}, {}, hf_config, hf_tensors, nullptr, nullptr};

}  // namespace sinklab

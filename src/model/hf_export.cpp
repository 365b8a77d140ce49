#include "model/hf_export.h"
#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "io/error.h"
#include "io/files.h"
#include "model/checkpoint.h"
#include "model/transformer.h"

namespace sinklab {

std::string hf_llama_incompatibility(const ModelSpec& s) {
  if (s.pos != PosKind::Rotary) return "model.pos is not rope";
  if (s.rope_interleaved) return "rotary positions rotate adjacent pairs (HF llama rotates halves)";
  if (s.norm != NormKind::RMSNorm) return "model.norm is not rmsnorm";
  if (s.mlp != MlpKind::SwiGLU) return "model.mlp is not swiglu";
  if (s.attn != "softmax") return "model.attention = " + s.attn;
  if (s.qk_norm != "none") return "model.qk_norm = " + s.qk_norm;
  if (s.attn_gate != "none") return "model.attn_gate = " + s.attn_gate;
  if (s.post_norm || !s.input_norm || s.out_norm || s.parallel_attn_mlp || !s.final_norm) return "the norms are not pre-norm";
  if (s.attn_bias || s.attn_out_bias || s.mlp_bias) return "the model has biases";
  if (s.attn_scale != 0 || s.attn_softcap != 0 || s.logit_softcap != 0 || s.embed_scale != 0 || s.qkv_clip != 0)
    return "the model scales or caps its logits or embeddings";
  if (s.rope_dim != 0 && s.rope_dim != s.hd()) return "partial rotary dimensions";
  for (size_t l = 0; l < s.layers.size(); ++l) {
    const auto& L = s.layers[l];
    if (!L.attn || !L.mlp || L.linear_mlp || L.window != 0)
      return fmt::format("block {} is not a full attention + MLP block", l);
  }
  return "";
}

std::string hf_llama_config_json(const ModelSpec& s, int bos_id, int eos_id) {
  nlohmann::ordered_json j;
  j["architectures"] = {"LlamaForCausalLM"};
  j["model_type"] = "llama";
  j["vocab_size"] = s.vocab;
  j["hidden_size"] = s.d_model;
  j["intermediate_size"] = s.ff();
  j["num_hidden_layers"] = s.n_layers;
  j["num_attention_heads"] = s.n_heads;
  j["num_key_value_heads"] = s.kv_heads();
  j["head_dim"] = s.hd();
  j["max_position_embeddings"] = s.n_ctx;
  j["rms_norm_eps"] = s.norm_eps;
  j["rope_theta"] = s.rope_theta;
  j["rope_scaling"] = nullptr;
  j["hidden_act"] = "silu";
  j["attention_bias"] = false;
  j["attention_dropout"] = 0.0;
  j["mlp_bias"] = false;
  j["tie_word_embeddings"] = s.tied_embeddings;
  j["initializer_range"] = 0.02;
  j["use_cache"] = true;
  j["torch_dtype"] = "float32";
  if (bos_id >= 0) j["bos_token_id"] = bos_id;
  if (eos_id >= 0) j["eos_token_id"] = eos_id;
  return j.dump(2) + "\n";
}

std::string hf_llama_name(const std::string& n) {
  if (n == "embed.W_E") return "model.embed_tokens.weight";
  if (n == "ln_final.w") return "model.norm.weight";
  if (n == "unembed.W_U") return "lm_head.weight";
  int l = -1, used = 0;
  char rest[64] = {0};
  if (std::sscanf(n.c_str(), "blocks.%d.%63s%n", &l, rest, &used) == 2 && l >= 0) {
    static const std::pair<const char*, const char*> kMap[] = {
        {"ln1.w", "input_layernorm.weight"},        {"ln2.w", "post_attention_layernorm.weight"},
        {"attn.W_Q", "self_attn.q_proj.weight"},    {"attn.W_K", "self_attn.k_proj.weight"},
        {"attn.W_V", "self_attn.v_proj.weight"},    {"attn.W_O", "self_attn.o_proj.weight"},
        {"mlp.W_in", "mlp.up_proj.weight"},         {"mlp.W_gate", "mlp.gate_proj.weight"},
        {"mlp.W_out", "mlp.down_proj.weight"}};
    for (auto& [ours, theirs] : kMap)
      if (std::string(rest) == ours) return fmt::format("model.layers.{}.{}", l, theirs);
  }
  fail("parameter '" + n + "' has no place in a Hugging Face llama checkpoint");
}

void export_hf_llama(const Transformer& m, const std::string& dir, const std::map<std::string, std::string>& files,
                     int bos_id, int eos_id) {
  const std::string why = hf_llama_incompatibility(m.spec());
  require(why.empty(), "cannot write a Hugging Face llama checkpoint: " + why);
  ensure_writable_dir(dir);
  write_file_atomic(dir + "/config.json", hf_llama_config_json(m.spec(), bos_id, eos_id));
  nlohmann::json gen = {{"eos_token_id", eos_id}};
  if (bos_id >= 0) gen["bos_token_id"] = bos_id;
  write_file_atomic(dir + "/generation_config.json", gen.dump(2) + "\n");
  for (const auto& [name, content] : files) write_file_atomic(dir + "/" + name, content);
  save_weights(m, dir + "/model.safetensors", {{"format", "pt"}}, hf_llama_name);
}

}  // namespace sinklab

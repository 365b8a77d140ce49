// Attention variants: how a head turns its scaled, causally masked logits into
// weights, and which parameters of its own it needs for that. Each variant is one
// file in src/model/attn/ and one line in the table of src/model/attention.cpp; the
// model spec names it (ModelSpec::attn, config key model.attention), the block
// (src/model/transformer.cpp) creates its parameters and calls its weights function,
// and the config help lists the table.
//
// Adding a variant: write src/model/attn/<name>.cpp defining
//   extern const AttnVariant kAttn<Name> = {"name", "help", params_or_nullptr, weights};
// add &kAttn<Name> to the table, and a test against a hand computation.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace sinklab {

struct ModelSpec;

// A parameter an attention variant (or the qk-norm switch) owns in every attention
// layer, named "blocks.{l}.attn.<name>", filled with `init` by both init schemes.
struct AttnParamSpec {
  std::string name;
  std::vector<int64_t> shape;
  double init = 0;
  bool drawn = false;  // true: drawn by the init scheme as a weight matrix, not filled with `init`
};

// The current layer's own parameters, by short name (e.g. "sink").
using AttnParams = std::function<const at::Tensor&(const std::string& name)>;

struct AttnVariant {
  const char* name;  // as written in model.attention
  const char* help;  // one line: the formula
  // The parameters of one attention layer (nullptr: none).
  std::vector<AttnParamSpec> (*params)(const ModelSpec& spec);
  // scores [B, H, Tq, Tk]: scaled logits, -inf above the diagonal; q_offset: absolute
  // position of the first query (query i sees q_offset + i + 1 keys); spec: the model's
  // switches (variants with hyperparameters read theirs from it, e.g. clip_alpha).
  at::Tensor (*weights)(const ModelSpec& spec, const at::Tensor& scores, int64_t q_offset, const AttnParams& params);
};

// The registered variant of that name; InputError listing the valid names.
const AttnVariant& attn_variant(const std::string& name);
std::vector<std::string> attn_variant_names();
// "softmax | relu | ...", for config help.
std::string attn_variants_help();

// The number of keys each query sees, [Tq, 1], for scores [..., Tq, Tk] (variants that
// normalise by it: relu, sigmoid).
at::Tensor visible_keys(const at::Tensor& scores, int64_t q_offset);

// The qk-norm switch (src/model/attn/qk_norm.cpp): RMSNorm on queries and keys before
// rotary, "none" | "head" (one weight [head_dim] shared by the heads, Qwen3) | "full"
// (over each projection's full width, weights [H*head_dim] and [Hkv*head_dim], OLMo-2).
std::vector<AttnParamSpec> qk_norm_params(const ModelSpec& spec);
// q [B, T, H, hd], k [B, T, Hkv, hd], in place of the inputs.
void apply_qk_norm(const ModelSpec& spec, at::Tensor& q, at::Tensor& k, const AttnParams& params);
void check_qk_norm(const std::string& mode);  // InputError on unknown modes

// The output gate switch (src/model/attn/gate.cpp; Qiu et al. 2025): each head's output
// times sigmoid(x W_G^T) of the attention's input x, before W_O. "none" | "head" (one
// gate per head, W_G [H, d_model]) | "element" (one per output element, W_G
// [H*head_dim, d_model]). Parameter blocks.{l}.attn.W_G, drawn as the other matrices.
std::vector<AttnParamSpec> attn_gate_params(const ModelSpec& spec);
// z [B, T, H, hd] times the gate computed from x [B, T, d_model]; z unchanged for "none".
at::Tensor apply_attn_gate(const ModelSpec& spec, const at::Tensor& z, const at::Tensor& x, const AttnParams& params);
void check_attn_gate(const std::string& mode);  // InputError on unknown modes

}  // namespace sinklab

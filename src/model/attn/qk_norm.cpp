// The qk-norm switch: RMSNorm on queries and keys before rotary (OLMo-2, Qwen3,
// Gemma 3), which bounds the attention logits. Parameters blocks.{l}.attn.q_norm.w and
// blocks.{l}.attn.k_norm.w, initialised to 1:
//   head  one weight [head_dim] each, shared by the heads; the norm runs per head (Qwen3)
//   full  weights [H*head_dim] and [Hkv*head_dim]; the norm runs over the whole
//         projection of a position (OLMo-2)
#include <torch/torch.h>

#include "io/error.h"
#include "model/attention.h"
#include "model/spec.h"

namespace sinklab {

void check_qk_norm(const std::string& mode) {
  require(mode == "none" || mode == "head" || mode == "full",
          "unknown qk-norm mode '" + mode + "' (valid: none, head, full)");
}

std::vector<AttnParamSpec> qk_norm_params(const ModelSpec& s) {
  if (s.qk_norm == "head") return {{"q_norm.w", {s.hd()}, 1.0}, {"k_norm.w", {s.hd()}, 1.0}};
  if (s.qk_norm == "full")
    return {{"q_norm.w", {(int64_t)s.n_heads * s.hd()}, 1.0}, {"k_norm.w", {(int64_t)s.kv_heads() * s.hd()}, 1.0}};
  return {};
}

void apply_qk_norm(const ModelSpec& s, at::Tensor& q, at::Tensor& k, const AttnParams& params) {
  if (s.qk_norm == "none") return;
  auto rms = [&](const at::Tensor& x, const at::Tensor& w) {
    return x * torch::rsqrt(x.pow(2).mean(-1, true) + s.norm_eps) * w;
  };
  if (s.qk_norm == "head") {
    q = rms(q, params("q_norm.w"));
    k = rms(k, params("k_norm.w"));
    return;
  }
  auto full = [&](const at::Tensor& x, const at::Tensor& w) {
    return rms(x.flatten(2), w).view(x.sizes());
  };
  q = full(q, params("q_norm.w"));
  k = full(k, params("k_norm.w"));
}

}  // namespace sinklab

// The one transformer block family. Every architecture (the BB toy models, Llama,
// OLMo, GPT-NeoX, GPT-2) is a ModelSpec run by this code; every forward pass can
// record and override hook points (src/model/hooks.h).
//
// Parameter names (row-major, torch.nn.Linear layout [out, in]):
//   embed.W_E [vocab, d]        pos_embed.W_pos [n_ctx, d]  (learned positions)
//   blocks.{l}.ln1.w|b [d]      blocks.{l}.ln2.w|b [d]      (b only for LayerNorm)
//   blocks.{l}.attn.W_Q [H*hd, d]  W_K, W_V [Hkv*hd, d]  W_O [d, H*hd]  b_Q b_K b_V b_O
//   blocks.{l}.mlp.W_in [ff, d]  W_gate [ff, d] (SwiGLU)  W_out [d, ff]  b_in b_out
//   blocks.{l}.attn.<own>       parameters of the attention variant / qk-norm (src/model/attention.h),
//                               e.g. attn.sink [H], attn.q_norm.w [hd]
//   ln_final.w|b [d]            unembed.W_U [vocab, d] (absent when tied)  unembed.b_U
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "model/attention.h"
#include "model/hooks.h"
#include "model/spec.h"

namespace sinklab {

class Transformer {
 public:
  explicit Transformer(ModelSpec spec);  // allocates zero parameters; see init_weights
  // Deterministic in the seed. Norm weights 1 and norm biases 0 in both schemes.
  //   TorchDefault  what torch.nn's modules give (the paper's code keeps it):
  //                 embeddings (token, position) N(0, 1) as nn.Embedding; every
  //                 [out, in] matrix and its bias U(-1/sqrt(in), 1/sqrt(in)) as nn.Linear.
  //   GPT2          N(0, 0.02) matrices and embeddings, residual output projections
  //                 (attn.W_O, mlp.W_out) N(0, 0.02/sqrt(2L)), linear biases 0.
  void init_weights(uint64_t seed, InitScheme scheme = InitScheme::GPT2);

  const ModelSpec& spec() const { return spec_; }
  // tokens [B, T] int64 -> logits [B, T, vocab]. pos_offset shifts positions.
  at::Tensor forward(const at::Tensor& tokens, Hooks* hooks = nullptr, int64_t pos_offset = 0) const;
  // The rest of the forward pass from the residual stream entering `layer` (what
  // blocks.{layer}.hook_resid_pre holds, [B, T, d]; layer == n_layers: only the final
  // norm and unembedding) -> logits. forward() is the embedding then forward_from(0).
  // Ablations reuse one clean prefix for every copy ablated at or after `layer`.
  at::Tensor forward_from(int layer, const at::Tensor& resid_pre, Hooks* hooks = nullptr,
                          int64_t pos_offset = 0) const;
  // tokens [B, T+1] -> per-position negative log-likelihood of the next token [B, T].
  at::Tensor token_nll(const at::Tensor& tokens, Hooks* hooks = nullptr) const;

  std::vector<at::Tensor> parameters() const;
  const std::vector<std::pair<std::string, at::Tensor>>& named_parameters() const { return params_; }
  bool has_param(const std::string& name) const;
  at::Tensor& param(const std::string& name);              // InputError if absent
  const at::Tensor& param(const std::string& name) const;
  // Copies `value` into a parameter; InputError naming both shapes on a mismatch.
  void set_param(const std::string& name, const at::Tensor& value);
  int64_t n_params() const;
  void to(const std::string& device, bool float64 = false);  // "cpu" or "cuda"; float64 for exact checks
  std::string device() const;

 private:
  at::Tensor add(const std::string& name, std::vector<int64_t> shape);
  at::Tensor attention(int l, const at::Tensor& x, Hooks* hooks, int64_t pos_offset) const;
  at::Tensor mlp(int l, const at::Tensor& x) const;
  at::Tensor rope(const at::Tensor& x, int64_t pos_offset) const;  // x [B, T, H, hd]
  const at::Tensor* opt(const std::string& name) const;

  ModelSpec spec_;
  std::vector<std::pair<std::string, at::Tensor>> params_;
  std::map<std::string, size_t> index_;
  struct LayerParams {
    const at::Tensor *ln1w = nullptr, *ln1b = nullptr, *ln2w = nullptr, *ln2b = nullptr;
    const at::Tensor *WQ = nullptr, *WK = nullptr, *WV = nullptr, *WO = nullptr;
    const at::Tensor *bQ = nullptr, *bK = nullptr, *bV = nullptr, *bO = nullptr;
    const at::Tensor *Win = nullptr, *Wgate = nullptr, *Wout = nullptr, *bin = nullptr, *bout = nullptr;
    std::map<std::string, const at::Tensor*> attn_own;  // the variant's and qk-norm's, by short name
  };
  std::vector<AttnParamSpec> attn_own_params() const;
  std::map<std::string, double> const_init_;  // parameters with a fixed initial value (attention's own)
  std::vector<LayerParams> lp_;
  void index_layers();
};

}  // namespace sinklab

// The one transformer block family. Every architecture (the BB toy models, Llama,
// OLMo, GPT-NeoX, GPT-2) is a ModelSpec run by this code; every forward pass can
// record and override hook points (src/model/hooks.h).
//
// Parameter names (row-major, torch.nn.Linear layout [out, in]):
//   embed.W_E [vocab, d]        pos_embed.W_pos [n_ctx, d]  (learned positions)
//   blocks.{l}.ln1.w|b [d]      blocks.{l}.ln2.w|b [d]      (b only for LayerNorm)
//   blocks.{l}.ln1_post.w|b     blocks.{l}.ln2_post.w|b     (out_norm: the sublayers' outputs)
//   blocks.{l}.attn.W_Q [H*hd, d]  W_K, W_V [Hkv*hd, d]  W_O [d, H*hd]  b_Q b_K b_V b_O
//   blocks.{l}.mlp.W_in [ff, d]  W_gate [ff, d] (SwiGLU)  W_out [d, ff]  b_in b_out
//   blocks.{l}.attn.<own>       parameters of the attention variant / qk-norm (src/model/attention.h),
//                               e.g. attn.sink [H], attn.q_norm.w [hd]
//   ln_final.w|b [d]            unembed.W_U [vocab, d] (absent when tied)  unembed.b_U
#pragma once
#include <array>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "model/attention.h"
#include "model/hooks.h"
#include "model/spec.h"

namespace sinklab {

// A weight matrix kept outside the model in its stored form (a GGUF file's quantised
// blocks, BF16/F16 tensors of a safetensors file, both in the file's read-only mapping)
// and turned into float32 only while the layer that uses it runs.
struct StoredWeight {
  // Writes rows [row0, row0 + n_rows) of the parameter ([out, in] layout) as float32.
  std::function<void(int64_t row0, int64_t n_rows, float* dst)> fill;
  std::shared_ptr<const void> keep;  // what `fill` reads from (the open file), kept alive
  int64_t stored_bytes = 0;          // its size in the file
};

class Transformer {
 public:
  // Allocates zero parameters (see init_weights); allocate = false: shapes only (meta
  // tensors), for loaders that set or store every parameter (missing_param() checks).
  explicit Transformer(ModelSpec spec, bool allocate = true);
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
  // "cpu" or "cuda"; float64 for exact checks. Stored weights become ordinary float
  // parameters on the device (dtype: float32, or float64; bfloat16/float16 for inference).
  void to(const std::string& device, bool float64 = false);
  void to_dtype(const std::string& device, const std::string& dtype);  // float32|float64|bfloat16|float16
  std::string device() const;

  // Stored weights (see StoredWeight). store() frees the parameter's float32 values: it
  // keeps its name and shape (a meta tensor) and every forward pass, and backward
  // through it, fills one reused float32 buffer per weight kind from `w` just before the
  // product that needs it. Stored weights take no gradient. Only 2-D weights: the
  // embedding, the unembedding and the blocks' attention and MLP matrices.
  // A model with stored weights must not run forward passes from two threads at once.
  void store(const std::string& name, StoredWeight w);
  static bool can_store(const std::string& name);  // embed.W_E, unembed.W_U, blocks' attn.W_* and mlp.W_*
  bool is_stored(const std::string& name) const;
  // A parameter's values as a float32 tensor (a fresh copy for a stored weight).
  at::Tensor value(const std::string& name) const;
  // Bytes of parameter memory: resident float tensors, and stored weights' file bytes.
  int64_t resident_bytes() const;
  int64_t stored_bytes() const;
  // The first parameter that is neither allocated nor stored ("" when none).
  std::string missing_param() const;

  // Simulated W<bits>A<bits> quantisation (bits = 8: Bondarenko et al.'s W8A8): every
  // linear layer of the blocks and the unembedding sees its input and its weight rounded
  // to symmetric per-tensor integers of that width (activations: each input tensor's own
  // max |x|; weights: the whole matrix's max, taken once here), in float ("fake"
  // quantisation). 0 turns it off. Inference only: a forward with gradients through a
  // quantised model is refused. Embedding lookups and the output gate stay in float.
  void set_fake_quant(int bits);
  int fake_quant_bits() const { return fq_bits_; }

 private:
  at::Tensor add(const std::string& name, std::vector<int64_t> shape);
  // The reused float32 buffers of stored weights, one per kind of weight.
  enum Slot { kQ, kK, kV, kO, kIn, kGate, kOut, kUnembed, kNumSlots };
  // torch::linear, or its stored-weight form when W is stored.
  at::Tensor linear(const at::Tensor& x, const at::Tensor* W, const at::Tensor* b, Slot slot) const;
  at::Tensor embed(const at::Tensor& tokens) const;
  at::Tensor unembed(const at::Tensor& h) const;
  const StoredWeight* stored(const at::Tensor* p) const;
  at::Tensor attention(int l, const at::Tensor& x, Hooks* hooks, int64_t pos_offset) const;
  at::Tensor mlp(int l, const at::Tensor& x) const;
  at::Tensor rope(const at::Tensor& x, int64_t pos_offset, bool local) const;  // x [B, T, H, hd]
  const at::Tensor* opt(const std::string& name) const;

  ModelSpec spec_;
  bool allocate_ = true;
  std::vector<std::pair<std::string, at::Tensor>> params_;
  std::map<std::string, size_t> index_;
  struct LayerParams {
    const at::Tensor *ln1w = nullptr, *ln1b = nullptr, *ln2w = nullptr, *ln2b = nullptr;
    const at::Tensor *ln1pw = nullptr, *ln1pb = nullptr, *ln2pw = nullptr, *ln2pb = nullptr;
    const at::Tensor *WQ = nullptr, *WK = nullptr, *WV = nullptr, *WO = nullptr;
    const at::Tensor *bQ = nullptr, *bK = nullptr, *bV = nullptr, *bO = nullptr;
    const at::Tensor *Win = nullptr, *Wgate = nullptr, *Wout = nullptr, *bin = nullptr, *bout = nullptr;
    std::map<std::string, const at::Tensor*> attn_own;  // the variant's and qk-norm's, by short name
  };
  std::vector<AttnParamSpec> attn_own_params() const;
  std::map<std::string, double> const_init_;  // parameters with a fixed initial value (attention's own)
  std::vector<LayerParams> lp_;
  void index_layers();
  std::unordered_map<const at::Tensor*, StoredWeight> stored_;  // by the parameter's meta tensor
  mutable std::array<at::Tensor, kNumSlots> scratch_;
  int fq_bits_ = 0;
  std::unordered_map<const at::Tensor*, double> fq_wmax_;  // max |W| of each quantised weight
  at::Tensor fq_act(const at::Tensor& x) const;
  at::Tensor fq_weight(const at::Tensor* W, const at::Tensor& value) const;
};

// x rounded to symmetric integers of `bits` bits with the scale max_abs / (2^(bits-1) - 1).
at::Tensor fake_quantize(const at::Tensor& x, double max_abs, int bits);

}  // namespace sinklab

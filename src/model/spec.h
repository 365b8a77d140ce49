// Architecture as data: one spec drives the one block implementation
// (src/model/transformer.cpp) for the toy BB models and pretrained families alike.
// Torch-free: the switches' names are in src/model/arch/spec_names.cpp (core library);
// finalize() checks the attention variant against its registry (src/model/spec.cpp).
#pragma once
#include <string>
#include <vector>

#include "model/arch/rope.h"

namespace sinklab {

enum class NormKind { LayerNorm, RMSNorm, LayerNormNoAffine };
enum class PosKind { Learned, Rotary, None };
enum class MlpKind { ReLU, GELU, GELUTanh, SwiGLU, Linear, GeGLU, GeGLUTanh };
// Gated MLPs (W_gate): act(W_gate x) * (W_in x).
inline bool mlp_gated(MlpKind k) { return k == MlpKind::SwiGLU || k == MlpKind::GeGLU || k == MlpKind::GeGLUTanh; }
// How fresh parameters are drawn (Transformer::init_weights).
enum class InitScheme { TorchDefault, GPT2 };

std::string init_scheme_name(InitScheme k);
InitScheme parse_init_scheme(const std::string& s);  // InputError on unknown names

std::string norm_kind_name(NormKind k);
NormKind parse_norm_kind(const std::string& s);
std::string mlp_kind_name(MlpKind k);
MlpKind parse_mlp_kind(const std::string& s);

struct LayerSpec {
  bool attn = true;  // false: the block has no attention sublayer
  bool mlp = true;   // false: no MLP sublayer
  bool linear_mlp = false;  // MLP without its nonlinearity
  // Sliding-window attention: query i sees keys i - window + 1 .. i (0: all earlier keys).
  // Such layers rotate by the local RoPE when the spec has one (rope_local_theta > 0).
  int window = 0;
};

struct ModelSpec {
  std::string arch = "bb-toy";
  int vocab = 0;
  int d_model = 256;
  int n_layers = 1;
  int n_heads = 1;
  int n_kv_heads = 0;  // 0 = n_heads
  int head_dim = 0;    // 0 = d_model / n_heads
  int d_ff = 0;        // 0 = 4 * d_model
  int n_ctx = 256;
  NormKind norm = NormKind::LayerNorm;
  double norm_eps = 1e-5;
  bool post_norm = false;     // norm after the residual add instead of before the sublayer
  bool input_norm = true;     // pre-norm: norm the sublayer's input (ln1, ln2); false with out_norm: OLMo-2
  bool out_norm = false;      // norm the sublayer's output before the residual add (ln1_post, ln2_post):
                              // Gemma 2/3 (with input_norm: "sandwich"), OLMo-2
  bool parallel_attn_mlp = false;  // GPT-NeoX: x + attn(ln1 x) + mlp(ln2 x)
  bool final_norm = true;
  PosKind pos = PosKind::Learned;
  double rope_theta = 10000.0;
  int rope_dim = 0;               // rotary dims per head (0 = head_dim)
  bool rope_interleaved = false;  // rotate adjacent pairs (GGUF llama) vs halves (HF)
  RopeScaling rope_scaling;       // context extension (src/model/arch/rope.h)
  double rope_local_theta = 0;    // > 0: the sliding-window layers' own base (Gemma 3)
  RopeScaling rope_local_scaling;
  double attn_scale = 0;      // logit scale (0: 1/sqrt(head_dim); Gemma: query_pre_attn_scalar^-1/2)
  double attn_softcap = 0;    // > 0: logits -> cap * tanh(logits / cap) before the mask (Gemma 2)
  double logit_softcap = 0;   // > 0: the same on the output logits (Gemma 2)
  double embed_scale = 0;     // > 0: token embeddings times this (Gemma: sqrt(d_model))
  MlpKind mlp = MlpKind::ReLU;
  std::string attn = "softmax";  // an attention variant (src/model/attention.h)
  std::string qk_norm = "none";  // none | head | full: RMSNorm on q and k (src/model/attention.h)
  std::string attn_gate = "none";  // none | head | element: sigmoid output gate (src/model/attention.h)
  double clip_alpha = 4.0;  // attn = clipped-softmax: gamma = -clip_alpha / n
  double clip_zeta = 1.0;   // attn = clipped-softmax: the stretch's upper end
  bool attn_bias = false;  // biases on q, k, v
  bool attn_out_bias = false;
  bool mlp_bias = false;
  double qkv_clip = 0;     // OLMo: clamp q, k, v to [-clip, clip] (0 = off)
  bool tied_embeddings = false;
  std::vector<LayerSpec> layers;  // size n_layers (filled by finalize())

  int kv_heads() const { return n_kv_heads > 0 ? n_kv_heads : n_heads; }
  int hd() const { return head_dim > 0 ? head_dim : d_model / n_heads; }
  int ff() const { return d_ff > 0 ? d_ff : 4 * d_model; }
  // Fills defaults and checks consistency; InputError naming the problem.
  void finalize();
};

}  // namespace sinklab

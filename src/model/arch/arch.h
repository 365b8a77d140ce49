// Pretrained architectures, torch-free: one file per family under src/model/arch/
// (llama.cpp, gpt_neox.cpp, gpt2.cpp), each holding
//   - config.json -> ModelSpec (the switches of the one block family, src/model/spec.h),
//   - its Hugging Face tensor-name table (checkpoint tensor -> sinklab parameter),
//   - where the family is stored in GGUF, its metadata -> ModelSpec and GGUF tensor names,
// registered in one table (arch.cpp). Readers find a family by config.json "model_type"
// (src/model/arch/hf_dir.cpp) or by GGUF "general.architecture" (src/model/pretrained.cpp);
// the torch side only copies floats into a Transformer.
//
// Adding an architecture: write src/model/arch/<family>.cpp defining one `Architecture`,
// add it to the table in arch.cpp, and add a tiny model made by transformers to
// tests/data/hf (tests/tools/make_hf_tiny.py) with its parity golden.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "model/spec.h"

namespace sinklab {

class ShardedSafetensors;
struct TensorView;
namespace gguf {
class GgufFile;
}
namespace hf {
struct HfConfig;
struct WeightMap;
}  // namespace hf

// Typed access to config.json keys; every problem is an InputError
// "'<file>': key \"<key>\": <problem>" (or "'<file>': missing key \"<key>\"").
class ConfigKeys {
 public:
  ConfigKeys(const nlohmann::json& j, std::string file, std::string prefix = "")
      : j_(j), file_(std::move(file)), prefix_(std::move(prefix)) {}
  [[noreturn]] void bad(const std::string& key, const std::string& msg) const;
  // The object under `key` (errors name "key.sub"); InputError if it is not an object.
  ConfigKeys child(const std::string& key) const;
  bool is_object(const std::string& key) const;
  bool has(const std::string& key) const;  // present and not null
  int64_t integer(const std::string& key, int64_t lo, int64_t hi) const;
  int64_t integer(const std::string& key, int64_t lo, int64_t hi, int64_t def) const;
  double number(const std::string& key) const;
  double positive(const std::string& key, double def) const;
  bool boolean(const std::string& key, bool def) const;
  std::string str(const std::string& key, const std::string& def) const;
  // A list of `n` finite numbers.
  std::vector<double> numbers(const std::string& key, std::size_t n) const;
  // A list of strings.
  std::vector<std::string> strings(const std::string& key) const;
  // The activation named by `key`: gated MLPs take silu/swish (-> SwiGLU), gelu (-> GeGLU),
  // gelu_new / gelu_pytorch_tanh (-> GeGLUTanh); others gelu, gelu_new /
  // gelu_pytorch_tanh (-> GELUTanh), relu.
  MlpKind activation(const std::string& key, const std::string& def, bool gated) const;
  // hidden/heads -> head dim; the error names `heads_key` when the width does not divide.
  int head_dim(int d_model, int n_heads, const std::string& width_key, const std::string& heads_key) const;
  const std::string& file() const { return file_; }

 private:
  const nlohmann::json& j_;
  std::string file_, prefix_;
  [[noreturn]] void missing(const std::string& key) const;
};

// Bounds on config.json values (checked before anything is allocated).
constexpr int64_t kMaxWidth = 1 << 20;  // widths, MLP sizes
constexpr int64_t kMaxVocab = 1 << 24;
constexpr int64_t kMaxCtx = 1 << 20;

// The dimensions a rotary decoder's config.json states as Llama's does (vocab_size,
// hidden_size, num_hidden_layers, num_attention_heads, num_key_value_heads,
// intermediate_size, max_position_embeddings (default `default_max_pos`; n_ctx is it
// capped at kMaxCtx), head_dim (when `head_dim_key` and present; else hidden_size /
// heads)), checked: heads a multiple of KV heads, an even head dim. Sets s.pos = Rotary.
// Returns max_position_embeddings.
int64_t read_rotary_dims(const ConfigKeys& k, ModelSpec& s, int64_t default_max_pos, bool head_dim_key = true);

// The Hugging Face tensor table of one checkpoint under construction: add() checks each
// source tensor (present, dtype F32/F16/BF16, the shape the config implies) and
// records where it goes; errors name the shard file and the tensor.
class HfTensorTable {
 public:
  HfTensorTable(const hf::HfConfig& c, const ShardedSafetensors& st) : c_(c), st_(st) {}
  // The source tensor (shape src_shape) is transposed first if `transpose` (2-D only),
  // then, if `rows` is not empty, its row blocks [start, start+count) are concatenated.
  void add(const std::string& src, std::vector<int64_t> src_shape, const std::string& dst,
           std::vector<int64_t> dst_shape, bool transpose = false,
           std::vector<std::pair<int64_t, int64_t>> rows = {}, float offset = 0);
  // The same shape in the file and in sinklab.
  void same(const std::string& src, const std::string& dst, std::vector<int64_t> shape) { add(src, shape, dst, shape); }
  // The first of `prefixes` under which `probe` exists (e.g. "model." or "").
  std::string prefix(const std::vector<std::string>& prefixes, const std::string& probe) const;
  std::vector<hf::WeightMap> take();

 private:
  const hf::HfConfig& c_;
  const ShardedSafetensors& st_;
  std::vector<hf::WeightMap> out_;
};

// Per-layer sliding windows (s.layers is sized here): config.json "layer_types"
// ("sliding_attention" | "full_attention", one per layer) where present, else the layers
// for which `sliding(l)` holds; each sliding layer gets `window` (> 0).
void set_layer_windows(const ConfigKeys& k, ModelSpec& s, int window, bool (*sliding)(int layer, const ConfigKeys& k));
// "4096 on layers 0, 2, 4 (3 of 6)" or "" when no layer slides; "pre" / "pre + out" / ... .
std::string windows_text(const ModelSpec& s);
std::string block_norms_text(const ModelSpec& s);

// What the GGUF families share: <arch>.block_count, embedding_length, feed_forward_length,
// attention.head_count(_kv), attention.layer_norm_rms_epsilon, context_length,
// attention.key_length, rope.dimension_count, rope.freq_base, rope.scaling.type (none,
// linear, yarn) with rope.scaling.factor and rope.scaling.original_context_length, the
// rope_freqs.weight tensor (Llama 3.1's per-frequency factors), vocab from
// token_embd.weight, tied embeddings when output.weight is absent. RMSNorm, rotary.
ModelSpec gguf_base_spec(const gguf::GgufFile& f);

// "[2, 3]": a tensor shape in error messages.
std::string shape_text(const std::vector<int64_t>& shape);

// "blocks.<l>.<name>": a sinklab parameter of layer l (src/model/transformer.h).
std::string block_param(int layer, const char* name);

// One parameter from a GGUF tensor: all of it, or (fused tensors, n_rows > 0) its rows
// [row0, row0 + n_rows) of src_rows (in the [rows, cols] order of sinklab's matrices).
struct GgufTensorMap {
  std::string src, dst;
  int64_t row0 = 0, n_rows = 0, src_rows = 0;
};

// llama.cpp's tensor names of a Llama-layout block (token_embd, blk.<l>.attn_norm,
// attn_q/k/v/output, their biases, attn_q_norm/attn_k_norm, ffn_norm, post_attention_norm,
// post_ffw_norm, ffn_up/gate/down, output_norm, output), as the spec's switches ask: the
// GGUF table of the llama family (llama, mistral, qwen2, qwen3, olmo2) and of Gemma 1-3.
std::vector<GgufTensorMap> gguf_llama_layout_tensors(const ModelSpec& s);

// One pretrained family.
struct Architecture {
  std::string name;                         // e.g. "llama"
  std::vector<std::string> hf_model_types;  // config.json "model_type" values it reads
  std::vector<std::string> gguf_archs;      // GGUF "general.architecture" values (may be empty)
  // config.json -> c.spec; c.model_type is set. The spec is not
  // finalized here (the torch side does); every value is range-checked.
  void (*hf_config)(const ConfigKeys& k, hf::HfConfig& c) = nullptr;
  // Every parameter of c.spec, from the checkpoint's tensors.
  void (*hf_tensors)(const hf::HfConfig& c, HfTensorTable& t) = nullptr;
  // GGUF metadata -> spec (not finalized); null when the family is not read from GGUF.
  ModelSpec (*gguf_config)(const gguf::GgufFile& f) = nullptr;
  // Where every parameter of the spec comes from in the GGUF file.
  std::vector<GgufTensorMap> (*gguf_tensors)(const ModelSpec& s) = nullptr;
};

// The registered families (arch.cpp).
const std::vector<const Architecture*>& architectures();
// The family reading config.json model_type `mt`; InputError naming the key otherwise.
const Architecture& arch_for_hf(const std::string& mt, const ConfigKeys& k);
// The family reading a GGUF file's architecture; InputError naming the file otherwise.
const Architecture& arch_for_gguf(const gguf::GgufFile& f);

}  // namespace sinklab

#include "model/arch/arch.h"

#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "io/dequant.h"
#include "io/error.h"
#include "io/gguf.h"
#include "io/safetensors.h"
#include "model/arch/hf_dir.h"

namespace sinklab {

// One line per family (each defined in its file under src/model/arch/).
extern const Architecture kArchLlama, kArchGemma, kArchPhi3, kArchGptNeox, kArchGpt2;

const std::vector<const Architecture*>& architectures() {
  static const std::vector<const Architecture*> all = {&kArchLlama, &kArchGemma, &kArchPhi3, &kArchGptNeox, &kArchGpt2};
  return all;
}

namespace {
std::string names_of(std::vector<std::string> Architecture::*field) {
  std::string r;
  for (const Architecture* a : architectures())
    for (const auto& n : a->*field) r += (r.empty() ? "" : ", ") + n;
  return r;
}
}  // namespace

const Architecture& arch_for_hf(const std::string& mt, const ConfigKeys& k) {
  for (const Architecture* a : architectures())
    for (const auto& n : a->hf_model_types)
      if (n == mt) return *a;
  k.bad("model_type", fmt::format("unsupported model_type '{}' (supported: {})", mt,
                                  names_of(&Architecture::hf_model_types)));
}

const Architecture& arch_for_gguf(const gguf::GgufFile& f) {
  const std::string name = f.architecture();
  for (const Architecture* a : architectures())
    for (const auto& n : a->gguf_archs)
      if (n == name) return *a;
  fail(fmt::format("'{}': unsupported architecture '{}' (supported from GGUF: {})", f.path(), gguf::printable(name),
                   names_of(&Architecture::gguf_archs)));
}

std::string shape_text(const std::vector<int64_t>& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

std::string block_param(int layer, const char* name) { return fmt::format("blocks.{}.{}", layer, name); }

void set_layer_windows(const ConfigKeys& k, ModelSpec& s, int window, bool (*sliding)(int layer, const ConfigKeys& k)) {
  s.layers.assign(s.n_layers, LayerSpec{});
  if (k.has("layer_types")) {
    const std::vector<std::string> types = k.strings("layer_types");
    if ((int)types.size() != s.n_layers)
      k.bad("layer_types", fmt::format("{} entries for {} layers", types.size(), s.n_layers));
    for (int l = 0; l < s.n_layers; ++l) {
      if (types[l] == "sliding_attention") s.layers[l].window = window;
      else if (types[l] != "full_attention")
        k.bad("layer_types", fmt::format("layer {} has type '{}' (supported: full_attention, sliding_attention)", l,
                                         types[l]));
    }
  } else {
    for (int l = 0; l < s.n_layers; ++l)
      if (sliding(l, k)) s.layers[l].window = window;
  }
  for (const auto& l : s.layers)
    if (l.window > 0 && window <= 0) k.bad("sliding_window", "sliding layers need a positive sliding_window");
}

std::string windows_text(const ModelSpec& s) {
  std::vector<int> ls;
  int w = 0;
  for (int l = 0; l < (int)s.layers.size(); ++l)
    if (s.layers[l].window > 0) ls.push_back(l), w = s.layers[l].window;
  if (ls.empty()) return "";
  if ((int)ls.size() == s.n_layers) return fmt::format("{} on every layer", w);
  return fmt::format("{} on layers {} ({} of {})", w, fmt::join(ls, ", "), ls.size(), s.n_layers);
}

std::string block_norms_text(const ModelSpec& s) {
  if (s.post_norm) return "post (after the residual add)";
  if (s.parallel_attn_mlp) return "pre (parallel attention + MLP)";
  if (s.input_norm && s.out_norm) return "pre + on the sublayer outputs (sandwich)";
  if (s.out_norm) return "on the sublayer outputs only";
  return "pre";
}

// ---------------------------------------------------------------- GGUF

ModelSpec gguf_base_spec(const gguf::GgufFile& f) {
  const std::string arch = f.architecture();
  auto key = [&](const char* k) { return arch + "." + k; };
  ModelSpec s;
  s.arch = arch;
  s.n_layers = (int)f.get_u32(key("block_count"));
  s.d_model = (int)f.get_u32(key("embedding_length"));
  s.d_ff = (int)f.get_u32(key("feed_forward_length"));
  s.n_heads = (int)f.get_u32(key("attention.head_count"));
  s.n_kv_heads = (int)f.get_u32_or(key("attention.head_count_kv"), (uint32_t)s.n_heads);
  s.norm_eps = f.get_f32(key("attention.layer_norm_rms_epsilon"));
  const uint32_t ctx = f.get_u32_or(key("context_length"), 2048);
  s.n_ctx = (int)std::min<uint32_t>(ctx, 1u << 20);
  s.rope_theta = f.get_f32_or(key("rope.freq_base"), 10000.0f);
  require(s.n_heads > 0 && s.d_model % s.n_heads == 0,
          fmt::format("'{}': embedding_length {} is not divisible by head_count {}", f.path(), s.d_model, s.n_heads));
  s.head_dim = (int)f.get_u32_or(key("attention.key_length"), (uint32_t)(s.d_model / s.n_heads));
  s.rope_dim = (int)f.get_u32_or(key("rope.dimension_count"), (uint32_t)s.head_dim);
  const gguf::TensorInfo& emb = f.tensor("token_embd.weight");
  require(emb.shape().size() == 2 && emb.shape()[1] == s.d_model,
          fmt::format("'{}': token_embd.weight has shape {}, expected [vocab, {}]", f.path(), emb.shape_string(),
                      s.d_model));
  s.vocab = (int)emb.shape()[0];
  s.norm = NormKind::RMSNorm;
  s.pos = PosKind::Rotary;
  s.tied_embeddings = f.find_tensor("output.weight") == nullptr;
  // Context extension.
  RopeScaling& r = s.rope_scaling;
  const std::string type = f.get_string_or(key("rope.scaling.type"), "none");
  if (type == "linear" || type == "yarn") {
    r.type = type;
    r.factor = f.get_f32(key("rope.scaling.factor"));
    r.original_ctx = f.get_u32_or(key("rope.scaling.original_context_length"), ctx);
    require(std::isfinite(r.factor) && r.factor >= 1,
            fmt::format("'{}': {} is {}, expected >= 1", f.path(), key("rope.scaling.factor"), r.factor));
    if (type == "yarn") {
      r.beta_fast = f.get_f32_or(key("rope.scaling.yarn_beta_fast"), 32.0f);
      r.beta_slow = f.get_f32_or(key("rope.scaling.yarn_beta_slow"), 1.0f);
    }
  } else if (type != "none") {
    fail(fmt::format("'{}': {} is '{}' (supported: none, linear, yarn)", f.path(), key("rope.scaling.type"),
                     gguf::printable(type)));
  }
  if (const gguf::TensorInfo* t = f.find_tensor("rope_freqs.weight")) {
    require(t->shape() == std::vector<int64_t>{s.rope_dim / 2},
            fmt::format("'{}': rope_freqs.weight has shape {}, expected [{}]", f.path(), t->shape_string(),
                        s.rope_dim / 2));
    require(t->type == gguf::GgmlType::F32, fmt::format("'{}': rope_freqs.weight has type {}, expected F32", f.path(),
                                                        gguf::type_name(t->type)));
    std::vector<float> v((size_t)s.rope_dim / 2);
    gguf::dequantize_into(t->type, f.tensor_data(*t), v.data(), v.size(), false);
    r.freq_factors.assign(v.begin(), v.end());
  }
  return s;
}

// ---------------------------------------------------------------- config.json keys

void ConfigKeys::bad(const std::string& key, const std::string& msg) const {
  fail(fmt::format("'{}': key \"{}{}\": {}", file_, prefix_, key, msg));
}
void ConfigKeys::missing(const std::string& key) const {
  fail(fmt::format("'{}': missing key \"{}{}\"", file_, prefix_, key));
}
bool ConfigKeys::is_object(const std::string& key) const { return has(key) && j_.at(key).is_object(); }
ConfigKeys ConfigKeys::child(const std::string& key) const {
  if (!has(key)) missing(key);
  const nlohmann::json& v = j_.at(key);
  if (!v.is_object()) bad(key, fmt::format("expected an object, got {}", v.dump()));
  return ConfigKeys(v, file_, prefix_ + key + ".");
}
std::vector<double> ConfigKeys::numbers(const std::string& key, std::size_t n) const {
  if (!has(key)) missing(key);
  const nlohmann::json& v = j_.at(key);
  if (!v.is_array() || v.size() != n) bad(key, fmt::format("expected a list of {} numbers", n));
  std::vector<double> r;
  for (const auto& x : v) {
    if (!x.is_number() || !std::isfinite(x.get<double>()))
      bad(key, fmt::format("expected a list of {} numbers, got an element {}", n, x.dump()));
    r.push_back(x.get<double>());
  }
  return r;
}
std::vector<std::string> ConfigKeys::strings(const std::string& key) const {
  if (!has(key)) missing(key);
  const nlohmann::json& v = j_.at(key);
  if (!v.is_array()) bad(key, fmt::format("expected a list of strings, got {}", v.dump()));
  std::vector<std::string> r;
  for (const auto& x : v) {
    if (!x.is_string()) bad(key, fmt::format("expected a list of strings, got an element {}", x.dump()));
    r.push_back(x.get<std::string>());
  }
  return r;
}
bool ConfigKeys::has(const std::string& key) const {
  auto it = j_.find(key);
  return it != j_.end() && !it->is_null();
}
int64_t ConfigKeys::integer(const std::string& key, int64_t lo, int64_t hi) const {
  if (!has(key)) missing(key);
  const nlohmann::json& v = j_.at(key);
  int64_t x = 0;
  if (v.is_number_integer()) {
    if (v.is_number_unsigned() && v.get<uint64_t>() > (uint64_t)std::numeric_limits<int64_t>::max())
      bad(key, "value is out of range");
    x = v.get<int64_t>();
  } else if (v.is_number_float() && std::isfinite(v.get<double>()) && std::floor(v.get<double>()) == v.get<double>() &&
             std::fabs(v.get<double>()) < 9e15) {
    x = (int64_t)v.get<double>();
  } else {
    bad(key, fmt::format("expected an integer, got {}", v.dump()));
  }
  if (x < lo || x > hi) bad(key, fmt::format("{} is out of range [{}, {}]", x, lo, hi));
  return x;
}
int64_t ConfigKeys::integer(const std::string& key, int64_t lo, int64_t hi, int64_t def) const {
  return has(key) ? integer(key, lo, hi) : def;
}
double ConfigKeys::number(const std::string& key) const {
  if (!has(key)) missing(key);
  const nlohmann::json& v = j_.at(key);
  if (!v.is_number() || !std::isfinite(v.get<double>())) bad(key, fmt::format("expected a number, got {}", v.dump()));
  return v.get<double>();
}
double ConfigKeys::positive(const std::string& key, double def) const {
  if (!has(key)) return def;
  double x = number(key);
  if (!(x > 0)) bad(key, fmt::format("must be positive, got {}", x));
  return x;
}
bool ConfigKeys::boolean(const std::string& key, bool def) const {
  if (!has(key)) return def;
  const nlohmann::json& v = j_.at(key);
  if (!v.is_boolean()) bad(key, fmt::format("expected true or false, got {}", v.dump()));
  return v.get<bool>();
}
std::string ConfigKeys::str(const std::string& key, const std::string& def) const {
  if (!has(key)) return def;
  const nlohmann::json& v = j_.at(key);
  if (!v.is_string()) bad(key, fmt::format("expected a string, got {}", v.dump()));
  return v.get<std::string>();
}
MlpKind ConfigKeys::activation(const std::string& key, const std::string& def, bool gated) const {
  const std::string a = str(key, def);
  if (gated) {
    if (a == "silu" || a == "swish") return MlpKind::SwiGLU;
    if (a == "gelu") return MlpKind::GeGLU;
    if (a == "gelu_new" || a == "gelu_pytorch_tanh") return MlpKind::GeGLUTanh;
    bad(key, "activation '" + a + "' is not supported (supported: silu, gelu, gelu_pytorch_tanh)");
  }
  if (a == "gelu") return MlpKind::GELU;
  if (a == "gelu_new" || a == "gelu_pytorch_tanh") return MlpKind::GELUTanh;
  if (a == "relu") return MlpKind::ReLU;
  bad(key, "activation '" + a + "' is not supported (supported: gelu, gelu_new, gelu_pytorch_tanh, relu)");
}
int ConfigKeys::head_dim(int d_model, int n_heads, const std::string& width_key, const std::string& heads_key) const {
  if (d_model % n_heads != 0)
    bad(heads_key, fmt::format("{} {} is not divisible by {} heads", width_key, d_model, n_heads));
  return d_model / n_heads;
}

// ---------------------------------------------------------------- HF tensor table

namespace {
std::string shard_file_of(const ShardedSafetensors& st, const std::string& name) {
  for (std::size_t i = 0; i < st.num_shards(); ++i)
    if (st.shard(i).contains(name)) return st.shard(i).path();
  return st.path();
}
}  // namespace

void HfTensorTable::add(const std::string& src, std::vector<int64_t> src_shape, const std::string& dst,
                        std::vector<int64_t> dst_shape, bool transpose, std::vector<std::pair<int64_t, int64_t>> rows,
                        float offset) {
  const TensorView* t = st_.find(src);
  if (!t) fail(fmt::format("'{}': missing tensor '{}' (model_type {} needs it for {})", st_.path(), src, c_.model_type, dst));
  if (t->dtype != DType::F32 && t->dtype != DType::F16 && t->dtype != DType::BF16)
    fail(fmt::format("'{}': tensor '{}' has dtype {} (supported: F32, F16, BF16)", shard_file_of(st_, src), src,
                     dtype_name(t->dtype)));
  if (t->shape != src_shape)
    fail(fmt::format("'{}': tensor '{}' has shape {}, but config.json implies {}", shard_file_of(st_, src), src,
                     shape_text(t->shape), shape_text(src_shape)));
  out_.push_back(
      hf::WeightMap{src, dst, std::move(src_shape), std::move(dst_shape), transpose, std::move(rows), offset});
}

std::string HfTensorTable::prefix(const std::vector<std::string>& prefixes, const std::string& probe) const {
  for (const auto& p : prefixes)
    if (st_.contains(p + probe)) return p;
  fail(fmt::format("'{}': missing tensor '{}{}' (model_type {})", st_.path(), prefixes.front(), probe, c_.model_type));
}

std::vector<hf::WeightMap> HfTensorTable::take() { return std::move(out_); }

int64_t read_rotary_dims(const ConfigKeys& k, ModelSpec& s, int64_t default_max_pos, bool head_dim_key) {
  s.vocab = (int)k.integer("vocab_size", 2, kMaxVocab);
  s.d_model = (int)k.integer("hidden_size", 1, kMaxWidth);
  s.n_layers = (int)k.integer("num_hidden_layers", 1, 512);
  s.n_heads = (int)k.integer("num_attention_heads", 1, 4096);
  s.n_kv_heads = (int)k.integer("num_key_value_heads", 1, 4096, s.n_heads);
  s.d_ff = (int)k.integer("intermediate_size", 1, kMaxWidth);
  const int64_t max_pos = k.integer("max_position_embeddings", 1, std::numeric_limits<int32_t>::max(), default_max_pos);
  s.n_ctx = (int)std::min<int64_t>(max_pos, kMaxCtx);
  const bool own = head_dim_key && k.has("head_dim");
  s.head_dim = own ? (int)k.integer("head_dim", 1, 65536)
                   : k.head_dim(s.d_model, s.n_heads, "hidden_size", "num_attention_heads");
  if (s.n_heads % s.n_kv_heads != 0)
    k.bad("num_key_value_heads",
          fmt::format("{} attention heads are not a multiple of {} key/value heads", s.n_heads, s.n_kv_heads));
  s.pos = PosKind::Rotary;
  if (s.head_dim % 2 != 0) k.bad(own ? "head_dim" : "hidden_size", fmt::format("rotary head dim {} is odd", s.head_dim));
  return max_pos;
}

std::vector<GgufTensorMap> gguf_llama_layout_tensors(const ModelSpec& s) {
  std::vector<GgufTensorMap> r = {{"token_embd.weight", "embed.W_E"}};
  for (int l = 0; l < s.n_layers; ++l) {
    auto add = [&](const char* g, const char* p) { r.push_back({fmt::format("blk.{}.{}", l, g), block_param(l, p)}); };
    if (s.input_norm) add("attn_norm.weight", "ln1.w");
    add("attn_q.weight", "attn.W_Q");
    add("attn_k.weight", "attn.W_K");
    add("attn_v.weight", "attn.W_V");
    add("attn_output.weight", "attn.W_O");
    if (s.attn_bias) {
      add("attn_q.bias", "attn.b_Q");
      add("attn_k.bias", "attn.b_K");
      add("attn_v.bias", "attn.b_V");
    }
    if (s.qk_norm != "none") {
      add("attn_q_norm.weight", "attn.q_norm.w");
      add("attn_k_norm.weight", "attn.k_norm.w");
    }
    if (s.input_norm) add("ffn_norm.weight", "ln2.w");
    if (s.out_norm) {
      add("post_attention_norm.weight", "ln1_post.w");
      add("post_ffw_norm.weight", "ln2_post.w");
    }
    add("ffn_up.weight", "mlp.W_in");
    add("ffn_gate.weight", "mlp.W_gate");
    add("ffn_down.weight", "mlp.W_out");
  }
  r.push_back({"output_norm.weight", "ln_final.w"});
  if (!s.tied_embeddings) r.push_back({"output.weight", "unembed.W_U"});
  return r;
}

}  // namespace sinklab

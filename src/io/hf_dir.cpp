#include "io/hf_dir.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "io/error.h"
#include "io/json_io.h"
#include "io/safetensors.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace sinklab::hf {

namespace {

std::string shape_str(const std::vector<int64_t>& s) { return fmt::format("[{}]", fmt::join(s, ", ")); }

// Typed access to config.json keys with one-line errors naming file and key.
struct Keys {
  const json& j;
  std::string file;

  [[noreturn]] void bad(const std::string& key, const std::string& msg) const {
    fail(fmt::format("'{}': key \"{}\": {}", file, key, msg));
  }
  bool has(const std::string& key) const {
    auto it = j.find(key);
    return it != j.end() && !it->is_null();
  }
  const json& at(const std::string& key) const {
    if (!has(key)) fail(fmt::format("'{}': missing key \"{}\"", file, key));
    return j.at(key);
  }
  int64_t integer(const std::string& key, int64_t lo, int64_t hi) const {
    const json& v = at(key);
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
  int64_t integer(const std::string& key, int64_t lo, int64_t hi, int64_t def) const {
    return has(key) ? integer(key, lo, hi) : def;
  }
  double number(const std::string& key) const {
    const json& v = at(key);
    if (!v.is_number() || !std::isfinite(v.get<double>()))
      bad(key, fmt::format("expected a number, got {}", v.dump()));
    return v.get<double>();
  }
  double positive(const std::string& key, double def) const {
    if (!has(key)) return def;
    double x = number(key);
    if (!(x > 0)) bad(key, fmt::format("must be positive, got {}", x));
    return x;
  }
  bool boolean(const std::string& key, bool def) const {
    if (!has(key)) return def;
    const json& v = j.at(key);
    if (!v.is_boolean()) bad(key, fmt::format("expected true or false, got {}", v.dump()));
    return v.get<bool>();
  }
  std::string str(const std::string& key, const std::string& def) const {
    if (!has(key)) return def;
    const json& v = j.at(key);
    if (!v.is_string()) bad(key, fmt::format("expected a string, got {}", v.dump()));
    return v.get<std::string>();
  }
};

constexpr int64_t kMaxDim = 1 << 20;        // widths, MLP sizes
constexpr int64_t kMaxVocab = 1 << 24;
constexpr int64_t kMaxCtx = 1 << 20;

std::string act_kind(const Keys& k, const std::string& key, const std::string& def, bool gated) {
  const std::string a = k.str(key, def);
  if (gated) {
    if (a == "silu" || a == "swish") return "swiglu";
    k.bad(key, "activation '" + a + "' is not supported (supported: silu)");
  }
  if (a == "gelu") return "gelu";
  if (a == "gelu_new" || a == "gelu_pytorch_tanh") return "gelu_tanh";
  if (a == "relu") return "relu";
  k.bad(key, "activation '" + a + "' is not supported (supported: gelu, gelu_new, gelu_pytorch_tanh, relu)");
}

}  // namespace

bool is_hf_dir(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec) && fs::is_regular_file(fs::path(path) / "config.json", ec);
}

HfConfig parse_config(const json& j, const std::string& config_path) {
  require(j.is_object(), "'" + config_path + "': not a JSON object");
  Keys k{j, config_path};
  HfConfig c;
  c.config_path = config_path;
  c.dir = fs::path(config_path).parent_path().string();
  c.model_type = k.str("model_type", "");
  require(!c.model_type.empty(), "'" + config_path + "': missing key \"model_type\"");
  c.torch_dtype = k.str("torch_dtype", "");
  const std::string& mt = c.model_type;
  if (mt == "llama" || mt == "mistral" || mt == "qwen2" || mt == "olmo") {
    c.vocab = (int)k.integer("vocab_size", 2, kMaxVocab);
    c.d_model = (int)k.integer("hidden_size", 1, kMaxDim);
    c.n_layers = (int)k.integer("num_hidden_layers", 1, 512);
    c.n_heads = (int)k.integer("num_attention_heads", 1, 4096);
    c.n_kv_heads = (int)k.integer("num_key_value_heads", 1, 4096, c.n_heads);
    c.d_ff = (int)k.integer("intermediate_size", 1, kMaxDim);
    c.n_ctx = (int)k.integer("max_position_embeddings", 1, std::numeric_limits<int32_t>::max(), 2048);
    c.n_ctx = (int)std::min<int64_t>(c.n_ctx, kMaxCtx);
    if (k.has("head_dim")) {
      c.head_dim = (int)k.integer("head_dim", 1, 65536);
    } else {
      if (c.d_model % c.n_heads != 0)
        k.bad("num_attention_heads", fmt::format("hidden_size {} is not divisible by {} heads", c.d_model, c.n_heads));
      c.head_dim = c.d_model / c.n_heads;
    }
    if (c.n_heads % c.n_kv_heads != 0)
      k.bad("num_key_value_heads", fmt::format("{} attention heads are not a multiple of {} key/value heads",
                                               c.n_heads, c.n_kv_heads));
    c.learned_pos = false;
    c.rope_theta = k.positive("rope_theta", 10000.0);
    c.rope_dim = c.head_dim;
    if (c.head_dim % 2 != 0) k.bad("head_dim", fmt::format("rotary head dim {} is odd", c.head_dim));
    if (k.has("rope_scaling")) k.bad("rope_scaling", "RoPE scaling is not supported");
    c.mlp = act_kind(k, "hidden_act", "silu", true);
    if (mt == "olmo") {
      c.norm = "layernorm_noaffine";
      c.norm_eps = 1e-5;  // OlmoLayerNorm has a fixed epsilon
      if (k.has("clip_qkv")) {
        c.qkv_clip = k.number("clip_qkv");
        if (!(c.qkv_clip > 0)) k.bad("clip_qkv", fmt::format("must be positive, got {}", c.qkv_clip));
      }
    } else {
      c.norm = "rmsnorm";
      c.norm_eps = k.positive("rms_norm_eps", 1e-6);
    }
    if (mt == "qwen2") {
      c.attn_bias = true;  // q, k, v biases; o_proj has none
    } else {
      c.attn_bias = c.attn_out_bias = k.boolean("attention_bias", false);
    }
    if (k.boolean("mlp_bias", false)) k.bad("mlp_bias", "MLP biases of gated MLPs are not supported");
    c.tied_embeddings = k.boolean("tie_word_embeddings", false);
    if (mt == "mistral" || mt == "qwen2") {
      bool use_sw = mt == "mistral" || k.boolean("use_sliding_window", false);
      if (use_sw && k.has("sliding_window")) c.sliding_window = (int)k.integer("sliding_window", 1, kMaxCtx * 64);
    }
  } else if (mt == "gpt_neox") {
    c.vocab = (int)k.integer("vocab_size", 2, kMaxVocab);
    c.d_model = (int)k.integer("hidden_size", 1, kMaxDim);
    c.n_layers = (int)k.integer("num_hidden_layers", 1, 512);
    c.n_heads = (int)k.integer("num_attention_heads", 1, 4096);
    c.n_kv_heads = c.n_heads;
    c.d_ff = (int)k.integer("intermediate_size", 1, kMaxDim);
    c.n_ctx = (int)std::min<int64_t>(k.integer("max_position_embeddings", 1, std::numeric_limits<int32_t>::max(), 2048),
                                     kMaxCtx);
    if (c.d_model % c.n_heads != 0)
      k.bad("num_attention_heads", fmt::format("hidden_size {} is not divisible by {} heads", c.d_model, c.n_heads));
    c.head_dim = c.d_model / c.n_heads;
    c.norm = "layernorm";
    c.norm_eps = k.positive("layer_norm_eps", 1e-5);
    c.parallel_attn_mlp = k.boolean("use_parallel_residual", true);
    c.learned_pos = false;
    c.rope_theta = k.positive("rotary_emb_base", 10000.0);
    double pct = k.has("rotary_pct") ? k.number("rotary_pct") : 0.25;
    if (!(pct > 0 && pct <= 1)) k.bad("rotary_pct", fmt::format("must be in (0, 1], got {}", pct));
    c.rope_dim = (int)(c.head_dim * pct);  // as transformers: int(head_size * rotary_pct)
    if (c.rope_dim < 2 || c.rope_dim % 2 != 0)
      k.bad("rotary_pct", fmt::format("gives {} rotary dims of head dim {} (must be even and >= 2)", c.rope_dim,
                                      c.head_dim));
    if (k.has("rope_scaling")) k.bad("rope_scaling", "RoPE scaling is not supported");
    c.mlp = act_kind(k, "hidden_act", "gelu", false);
    c.attn_bias = c.attn_out_bias = k.boolean("attention_bias", true);
    c.mlp_bias = true;
    c.tied_embeddings = k.boolean("tie_word_embeddings", false);
  } else if (mt == "gpt2") {
    c.vocab = (int)k.integer("vocab_size", 2, kMaxVocab);
    c.d_model = (int)k.integer("n_embd", 1, kMaxDim);
    c.n_layers = (int)k.integer("n_layer", 1, 512);
    c.n_heads = (int)k.integer("n_head", 1, 4096);
    c.n_kv_heads = c.n_heads;
    c.n_ctx = (int)k.integer("n_positions", 1, kMaxCtx);
    c.d_ff = (int)k.integer("n_inner", 1, kMaxDim, 4 * (int64_t)c.d_model);
    if (c.d_model % c.n_heads != 0)
      k.bad("n_head", fmt::format("n_embd {} is not divisible by {} heads", c.d_model, c.n_heads));
    c.head_dim = c.d_model / c.n_heads;
    c.norm = "layernorm";
    c.norm_eps = k.positive("layer_norm_epsilon", 1e-5);
    c.learned_pos = true;
    c.rope_dim = 0;
    c.mlp = act_kind(k, "activation_function", "gelu_new", false);
    c.attn_bias = c.attn_out_bias = c.mlp_bias = true;
    c.tied_embeddings = k.boolean("tie_word_embeddings", true);
    if (!k.boolean("scale_attn_weights", true)) k.bad("scale_attn_weights", "false is not supported");
    if (k.boolean("scale_attn_by_inverse_layer_idx", false))
      k.bad("scale_attn_by_inverse_layer_idx", "true is not supported");
    if (k.boolean("add_cross_attention", false)) k.bad("add_cross_attention", "true is not supported");
  } else {
    k.bad("model_type", "unsupported model_type '" + mt +
                            "' (supported: llama, mistral, qwen2, olmo, gpt_neox, gpt2)");
  }
  return c;
}

HfConfig read_config(const std::string& dir) {
  std::error_code ec;
  require(fs::exists(dir, ec), "model directory '" + dir + "' does not exist");
  require(fs::is_directory(dir, ec), "'" + dir + "' is not a directory");
  const std::string cp = (fs::path(dir) / "config.json").string();
  require(fs::is_regular_file(cp, ec), "'" + dir + "' has no config.json (not a Hugging Face model directory)");
  return parse_config(read_json_file(cp), cp);
}

// ---------------------------------------------------------------- weights

namespace {

std::string shard_file_of(const ShardedSafetensors& st, const std::string& name) {
  for (std::size_t i = 0; i < st.num_shards(); ++i)
    if (st.shard(i).contains(name)) return st.shard(i).path();
  return st.path();
}

struct Mapper {
  const HfConfig& c;
  const ShardedSafetensors& st;
  std::vector<WeightMap> out;

  void add(const std::string& src, std::vector<int64_t> src_shape, const std::string& dst, std::vector<int64_t> dst_shape,
           bool transpose = false, std::vector<std::pair<int64_t, int64_t>> rows = {}) {
    const TensorView* t = st.find(src);
    if (!t)
      fail(fmt::format("'{}': missing tensor '{}' (model_type {} needs it for {})", st.path(), src, c.model_type, dst));
    if (t->dtype != DType::F32 && t->dtype != DType::F16 && t->dtype != DType::BF16)
      fail(fmt::format("'{}': tensor '{}' has dtype {} (supported: F32, F16, BF16)", shard_file_of(st, src), src,
                       dtype_name(t->dtype)));
    if (t->shape != src_shape)
      fail(fmt::format("'{}': tensor '{}' has shape {}, but config.json implies {}", shard_file_of(st, src), src,
                       shape_str(t->shape), shape_str(src_shape)));
    out.push_back(WeightMap{src, dst, std::move(src_shape), std::move(dst_shape), transpose, std::move(rows)});
  }
};

// The first prefix under which `probe` exists (e.g. "model." or "").
std::string find_prefix(const ShardedSafetensors& st, const std::vector<std::string>& prefixes, const std::string& probe,
                        const HfConfig& c) {
  for (const auto& p : prefixes)
    if (st.contains(p + probe)) return p;
  fail(fmt::format("'{}': missing tensor '{}{}' (model_type {})", st.path(), prefixes.front(), probe, c.model_type));
}

}  // namespace

std::vector<WeightMap> map_weights(const HfConfig& c, const ShardedSafetensors& st) {
  Mapper m{c, st, {}};
  const int64_t V = c.vocab, d = c.d_model, H = c.n_heads, Hkv = c.n_kv_heads, hd = c.head_dim, ff = c.d_ff;
  const std::string& mt = c.model_type;
  auto P = [](int l, const char* n) { return fmt::format("blocks.{}.{}", l, n); };
  if (mt == "llama" || mt == "mistral" || mt == "qwen2" || mt == "olmo") {
    const std::string pre = find_prefix(st, {"model.", ""}, "embed_tokens.weight", c);
    const bool affine = c.norm != "layernorm_noaffine";
    m.add(pre + "embed_tokens.weight", {V, d}, "embed.W_E", {V, d});
    for (int l = 0; l < c.n_layers; ++l) {
      auto S = [&](const char* n) { return fmt::format("{}layers.{}.{}", pre, l, n); };
      if (affine) m.add(S("input_layernorm.weight"), {d}, P(l, "ln1.w"), {d});
      m.add(S("self_attn.q_proj.weight"), {H * hd, d}, P(l, "attn.W_Q"), {H * hd, d});
      m.add(S("self_attn.k_proj.weight"), {Hkv * hd, d}, P(l, "attn.W_K"), {Hkv * hd, d});
      m.add(S("self_attn.v_proj.weight"), {Hkv * hd, d}, P(l, "attn.W_V"), {Hkv * hd, d});
      m.add(S("self_attn.o_proj.weight"), {d, H * hd}, P(l, "attn.W_O"), {d, H * hd});
      if (c.attn_bias) {
        m.add(S("self_attn.q_proj.bias"), {H * hd}, P(l, "attn.b_Q"), {H * hd});
        m.add(S("self_attn.k_proj.bias"), {Hkv * hd}, P(l, "attn.b_K"), {Hkv * hd});
        m.add(S("self_attn.v_proj.bias"), {Hkv * hd}, P(l, "attn.b_V"), {Hkv * hd});
      }
      if (c.attn_out_bias) m.add(S("self_attn.o_proj.bias"), {d}, P(l, "attn.b_O"), {d});
      if (affine) m.add(S("post_attention_layernorm.weight"), {d}, P(l, "ln2.w"), {d});
      m.add(S("mlp.up_proj.weight"), {ff, d}, P(l, "mlp.W_in"), {ff, d});
      m.add(S("mlp.gate_proj.weight"), {ff, d}, P(l, "mlp.W_gate"), {ff, d});
      m.add(S("mlp.down_proj.weight"), {d, ff}, P(l, "mlp.W_out"), {d, ff});
    }
    if (affine) m.add(pre + "norm.weight", {d}, "ln_final.w", {d});
    if (!c.tied_embeddings) m.add("lm_head.weight", {V, d}, "unembed.W_U", {V, d});
  } else if (mt == "gpt_neox") {
    const std::string pre = find_prefix(st, {"gpt_neox.", ""}, "embed_in.weight", c);
    m.add(pre + "embed_in.weight", {V, d}, "embed.W_E", {V, d});
    // query_key_value rows are per head: [q(hd), k(hd), v(hd)] for head 0, then head 1, ...
    auto blocks = [&](int which) {
      std::vector<std::pair<int64_t, int64_t>> r;
      for (int64_t h = 0; h < H; ++h) r.emplace_back(h * 3 * hd + which * hd, hd);
      return r;
    };
    for (int l = 0; l < c.n_layers; ++l) {
      auto S = [&](const char* n) { return fmt::format("{}layers.{}.{}", pre, l, n); };
      m.add(S("input_layernorm.weight"), {d}, P(l, "ln1.w"), {d});
      m.add(S("input_layernorm.bias"), {d}, P(l, "ln1.b"), {d});
      const char* names[3] = {"attn.W_Q", "attn.W_K", "attn.W_V"};
      const char* bnames[3] = {"attn.b_Q", "attn.b_K", "attn.b_V"};
      for (int w = 0; w < 3; ++w)
        m.add(S("attention.query_key_value.weight"), {3 * H * hd, d}, P(l, names[w]), {H * hd, d}, false, blocks(w));
      if (c.attn_bias)
        for (int w = 0; w < 3; ++w)
          m.add(S("attention.query_key_value.bias"), {3 * H * hd}, P(l, bnames[w]), {H * hd}, false, blocks(w));
      m.add(S("attention.dense.weight"), {d, H * hd}, P(l, "attn.W_O"), {d, H * hd});
      if (c.attn_out_bias) m.add(S("attention.dense.bias"), {d}, P(l, "attn.b_O"), {d});
      m.add(S("post_attention_layernorm.weight"), {d}, P(l, "ln2.w"), {d});
      m.add(S("post_attention_layernorm.bias"), {d}, P(l, "ln2.b"), {d});
      m.add(S("mlp.dense_h_to_4h.weight"), {ff, d}, P(l, "mlp.W_in"), {ff, d});
      m.add(S("mlp.dense_h_to_4h.bias"), {ff}, P(l, "mlp.b_in"), {ff});
      m.add(S("mlp.dense_4h_to_h.weight"), {d, ff}, P(l, "mlp.W_out"), {d, ff});
      m.add(S("mlp.dense_4h_to_h.bias"), {d}, P(l, "mlp.b_out"), {d});
    }
    m.add(pre + "final_layer_norm.weight", {d}, "ln_final.w", {d});
    m.add(pre + "final_layer_norm.bias", {d}, "ln_final.b", {d});
    if (!c.tied_embeddings) m.add("embed_out.weight", {V, d}, "unembed.W_U", {V, d});
  } else if (mt == "gpt2") {
    const std::string pre = find_prefix(st, {"transformer.", ""}, "wte.weight", c);
    m.add(pre + "wte.weight", {V, d}, "embed.W_E", {V, d});
    m.add(pre + "wpe.weight", {c.n_ctx, d}, "pos_embed.W_pos", {c.n_ctx, d});
    for (int l = 0; l < c.n_layers; ++l) {
      auto S = [&](const char* n) { return fmt::format("{}h.{}.{}", pre, l, n); };
      m.add(S("ln_1.weight"), {d}, P(l, "ln1.w"), {d});
      m.add(S("ln_1.bias"), {d}, P(l, "ln1.b"), {d});
      // Conv1D stores [in, out]: c_attn [d, 3d] -> transpose -> rows q | k | v.
      const char* names[3] = {"attn.W_Q", "attn.W_K", "attn.W_V"};
      const char* bnames[3] = {"attn.b_Q", "attn.b_K", "attn.b_V"};
      for (int w = 0; w < 3; ++w)
        m.add(S("attn.c_attn.weight"), {d, 3 * d}, P(l, names[w]), {d, d}, true, {{w * d, d}});
      for (int w = 0; w < 3; ++w) m.add(S("attn.c_attn.bias"), {3 * d}, P(l, bnames[w]), {d}, false, {{w * d, d}});
      m.add(S("attn.c_proj.weight"), {d, d}, P(l, "attn.W_O"), {d, d}, true);
      m.add(S("attn.c_proj.bias"), {d}, P(l, "attn.b_O"), {d});
      m.add(S("ln_2.weight"), {d}, P(l, "ln2.w"), {d});
      m.add(S("ln_2.bias"), {d}, P(l, "ln2.b"), {d});
      m.add(S("mlp.c_fc.weight"), {d, ff}, P(l, "mlp.W_in"), {ff, d}, true);
      m.add(S("mlp.c_fc.bias"), {ff}, P(l, "mlp.b_in"), {ff});
      m.add(S("mlp.c_proj.weight"), {ff, d}, P(l, "mlp.W_out"), {d, ff}, true);
      m.add(S("mlp.c_proj.bias"), {d}, P(l, "mlp.b_out"), {d});
    }
    m.add(pre + "ln_f.weight", {d}, "ln_final.w", {d});
    m.add(pre + "ln_f.bias", {d}, "ln_final.b", {d});
    if (!c.tied_embeddings) m.add("lm_head.weight", {V, d}, "unembed.W_U", {V, d});
  } else {
    fail("'" + c.config_path + "': unsupported model_type '" + mt + "'");
  }
  return std::move(m.out);
}

std::vector<float> read_weight(const WeightMap& w, const ShardedSafetensors& st) {
  const TensorView& t = st.get(w.src);
  require(t.shape == w.src_shape, fmt::format("'{}': tensor '{}' has shape {}, expected {}", st.path(), w.src,
                                              shape_str(t.shape), shape_str(w.src_shape)));
  std::vector<float> v = to_f32(t);
  std::vector<int64_t> shape = w.src_shape;
  if (w.transpose) {
    require(shape.size() == 2, "read_weight: transpose of a tensor that is not 2-D");
    const int64_t a = shape[0], b = shape[1];
    std::vector<float> tr(v.size());
    for (int64_t i = 0; i < a; ++i)
      for (int64_t j = 0; j < b; ++j) tr[(size_t)(j * a + i)] = v[(size_t)(i * b + j)];
    v.swap(tr);
    shape = {b, a};
  }
  if (!w.rows.empty()) {
    int64_t row = 1;
    for (size_t i = 1; i < shape.size(); ++i) row *= shape[i];
    std::vector<float> sel;
    for (const auto& [start, count] : w.rows) {
      require(start >= 0 && count >= 0 && start + count <= shape[0], "read_weight: row block out of range");
      sel.insert(sel.end(), v.begin() + (ptrdiff_t)(start * row), v.begin() + (ptrdiff_t)((start + count) * row));
    }
    v.swap(sel);
  }
  int64_t n = 1;
  for (auto x : w.dst_shape) n *= x;
  require((int64_t)v.size() == n, fmt::format("'{}': tensor '{}' gives {} values for '{}' of shape {}", st.path(),
                                              w.src, v.size(), w.dst, shape_str(w.dst_shape)));
  return v;
}

// ---------------------------------------------------------------- summary

HfSummary summarize(const std::string& dir) {
  HfSummary s;
  s.config = read_config(dir);
  ShardedSafetensors st(dir);
  std::error_code ec;
  const fs::path p(dir);
  s.weights = fs::exists(p / "model.safetensors.index.json", ec) ? (p / "model.safetensors.index.json").string()
                                                                   : (p / "model.safetensors").string();
  s.n_shards = st.num_shards();
  s.n_tensors = st.size();
  for (const auto& n : st.names()) s.tensors_per_dtype[dtype_name(st.get(n).dtype)]++;
  for (const auto& w : map_weights(s.config, st)) {
    int64_t k = 1;
    for (auto x : w.dst_shape) k *= x;
    s.n_params += k;
  }
  if (fs::is_regular_file(p / "tokenizer.json", ec)) s.tokenizer = "tokenizer.json";
  else if (fs::is_regular_file(p / "tokenizer.model", ec)) s.tokenizer = "tokenizer.model";
  return s;
}

std::string summary_to_text(const HfSummary& s) {
  const HfConfig& c = s.config;
  std::string o;
  auto line = [&](const std::string& k, const std::string& v) { o += fmt::format("{:<18}{}\n", k, v); };
  line("directory", c.dir);
  line("format", "Hugging Face (config.json + safetensors)");
  line("model_type", c.model_type);
  line("layers", std::to_string(c.n_layers));
  line("d_model", std::to_string(c.d_model));
  line("heads", fmt::format("{} (kv {}), head dim {}", c.n_heads, c.n_kv_heads, c.head_dim));
  line("mlp", fmt::format("{} x {}", c.mlp, c.d_ff));
  line("norm", fmt::format("{} (eps {})", c.norm, c.norm_eps));
  if (c.learned_pos)
    line("positions", fmt::format("learned, {}", c.n_ctx));
  else
    line("positions", fmt::format("rotary {} of {} dims, theta {}, context {}", c.rope_dim, c.head_dim, c.rope_theta,
                                  c.n_ctx));
  line("residual", c.parallel_attn_mlp ? "parallel attention + MLP" : "sequential");
  line("biases", fmt::format("qkv {}, attn out {}, mlp {}", c.attn_bias, c.attn_out_bias, c.mlp_bias));
  if (c.qkv_clip > 0) line("clip_qkv", fmt::format("{}", c.qkv_clip));
  line("tied embeddings", c.tied_embeddings ? "yes" : "no");
  line("vocab", std::to_string(c.vocab));
  if (c.sliding_window) line("sliding window", fmt::format("{} (not applied)", *c.sliding_window));
  line("weights", fmt::format("{} ({} shard{}, {} tensors)", s.weights, s.n_shards, s.n_shards == 1 ? "" : "s",
                              s.n_tensors));
  std::string types;
  for (const auto& [t, n] : s.tensors_per_dtype) types += fmt::format("{}{} x{}", types.empty() ? "" : ", ", t, n);
  line("dtypes", types);
  line("parameters", std::to_string(s.n_params));
  line("tokenizer", s.tokenizer.empty() ? "none" : s.tokenizer);
  return o;
}

json summary_to_json(const HfSummary& s) {
  const HfConfig& c = s.config;
  json j;
  j["directory"] = c.dir;
  j["format"] = "huggingface";
  j["model_type"] = c.model_type;
  j["n_layers"] = c.n_layers;
  j["d_model"] = c.d_model;
  j["n_heads"] = c.n_heads;
  j["n_kv_heads"] = c.n_kv_heads;
  j["head_dim"] = c.head_dim;
  j["d_ff"] = c.d_ff;
  j["mlp"] = c.mlp;
  j["norm"] = c.norm;
  j["norm_eps"] = c.norm_eps;
  j["positions"] = c.learned_pos ? "learned" : "rotary";
  j["rope_dim"] = c.rope_dim;
  j["rope_theta"] = c.rope_theta;
  j["context"] = c.n_ctx;
  j["parallel_attn_mlp"] = c.parallel_attn_mlp;
  j["attn_bias"] = c.attn_bias;
  j["attn_out_bias"] = c.attn_out_bias;
  j["mlp_bias"] = c.mlp_bias;
  j["qkv_clip"] = c.qkv_clip;
  j["tied_embeddings"] = c.tied_embeddings;
  j["vocab"] = c.vocab;
  j["weights"] = s.weights;
  j["n_shards"] = s.n_shards;
  j["n_tensors"] = s.n_tensors;
  j["tensors_per_dtype"] = s.tensors_per_dtype;
  j["n_params"] = s.n_params;
  j["tokenizer"] = s.tokenizer;
  return j;
}

// ---------------------------------------------------------------- series

std::optional<int64_t> step_from_name(const std::string& name) {
  std::string low(name);
  for (auto& ch : low) ch = (char)std::tolower((unsigned char)ch);
  size_t pos = low.rfind("step");
  while (pos != std::string::npos) {
    size_t i = pos + 4;
    size_t j = i;
    while (j < low.size() && std::isdigit((unsigned char)low[j])) ++j;
    if (j > i && j - i <= 15) return std::stoll(low.substr(i, j - i));
    if (pos == 0) break;
    pos = low.rfind("step", pos - 1);
  }
  return std::nullopt;
}

std::vector<Checkpoint> checkpoint_series(const std::vector<std::string>& paths) {
  require(!paths.empty(), "checkpoint series: no directories given");
  std::vector<std::string> dirs;
  std::error_code ec;
  for (const auto& p : paths) {
    require(fs::exists(p, ec), "checkpoint series: '" + p + "' does not exist");
    require(fs::is_directory(p, ec), "checkpoint series: '" + p + "' is not a directory");
    if (is_hf_dir(p)) {
      dirs.push_back(p);
      continue;
    }
    std::vector<std::string> subs;
    bool any = false;
    for (const auto& e : fs::directory_iterator(p, ec)) {
      if (!is_hf_dir(e.path().string())) continue;
      any = true;
      if (step_from_name(e.path().filename().string())) subs.push_back(e.path().string());
    }
    require(any, "checkpoint series: '" + p + "' has no config.json and no revision subdirectories with one");
    require(!subs.empty(), "checkpoint series: no revision subdirectory of '" + p +
                               "' has a step number in its name (expected 'step<N>', e.g. step1000)");
    std::sort(subs.begin(), subs.end());
    dirs.insert(dirs.end(), subs.begin(), subs.end());
  }
  std::vector<Checkpoint> out;
  for (const auto& d : dirs) {
    std::string base = fs::path(d).filename().string();
    if (base.empty()) base = fs::path(d).parent_path().filename().string();  // trailing '/'
    auto step = step_from_name(base);
    require(step.has_value(),
            "checkpoint series: '" + d + "' has no step number in its name (expected 'step<N>', e.g. step1000)");
    out.push_back(Checkpoint{*step, d, read_config(d)});
  }
  std::stable_sort(out.begin(), out.end(), [](const Checkpoint& a, const Checkpoint& b) { return a.step < b.step; });
  for (size_t i = 1; i < out.size(); ++i) {
    require(out[i].step != out[i - 1].step, fmt::format("checkpoint series: '{}' and '{}' are both step {}",
                                                        out[i - 1].path, out[i].path, out[i].step));
    const HfConfig &a = out[0].config, &b = out[i].config;
    auto dims = [](const HfConfig& c) {
      return fmt::format("{} with {} layers, d_model {}, {} heads, vocab {}", c.model_type, c.n_layers, c.d_model,
                         c.n_heads, c.vocab);
    };
    require(dims(a) == dims(b), fmt::format("checkpoint series: '{}' is {}, but '{}' is {}", out[0].path, dims(a),
                                            out[i].path, dims(b)));
  }
  return out;
}

}  // namespace sinklab::hf

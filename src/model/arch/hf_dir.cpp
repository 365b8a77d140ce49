#include "model/arch/hf_dir.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "io/error.h"
#include "io/json_io.h"
#include "io/safetensors.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace sinklab::hf {

bool is_hf_dir(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec) && fs::is_regular_file(fs::path(path) / "config.json", ec);
}

HfConfig parse_config(const json& j, const std::string& config_path) {
  require(j.is_object(), "'" + config_path + "': not a JSON object");
  ConfigKeys k(j, config_path);
  HfConfig c;
  c.config_path = config_path;
  c.dir = fs::path(config_path).parent_path().string();
  c.model_type = k.str("model_type", "");
  require(!c.model_type.empty(), "'" + config_path + "': missing key \"model_type\"");
  c.torch_dtype = k.str("torch_dtype", "");
  c.arch = &arch_for_hf(c.model_type, k);
  c.spec.arch = c.model_type;
  c.spec.rope_interleaved = false;  // transformers' rotate_half; HF weights are not permuted
  c.arch->hf_config(k, c);
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

std::vector<WeightMap> map_weights(const HfConfig& c, const ShardedSafetensors& st) {
  require(c.arch != nullptr, "'" + c.config_path + "': no architecture");
  HfTensorTable t(c, st);
  c.arch->hf_tensors(c, t);
  return t.take();
}

std::vector<float> read_weight(const WeightMap& w, const ShardedSafetensors& st) {
  const TensorView& t = st.get(w.src);
  require(t.shape == w.src_shape, fmt::format("'{}': tensor '{}' has shape {}, expected {}", st.path(), w.src,
                                              shape_text(t.shape), shape_text(w.src_shape)));
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
  if (w.offset != 0)
    for (float& x : v) x += w.offset;
  int64_t n = 1;
  for (auto x : w.dst_shape) n *= x;
  require((int64_t)v.size() == n, fmt::format("'{}': tensor '{}' gives {} values for '{}' of shape {}", st.path(),
                                              w.src, v.size(), w.dst, shape_text(w.dst_shape)));
  return v;
}

bool can_fill_rows(const WeightMap& w, const ShardedSafetensors& st) {
  const TensorView& t = st.get(w.src);
  return (t.dtype == DType::F16 || t.dtype == DType::BF16) && t.shape.size() == 2 && w.dst_shape.size() == 2 &&
         !w.transpose && w.offset == 0;
}

void fill_weight_rows(const WeightMap& w, const TensorView& t, int64_t row0, int64_t n, float* dst) {
  const int64_t cols = t.shape[1], rb = cols * (int64_t)dtype_size(t.dtype);
  // Parameter rows map to source rows through w.rows' blocks (all rows when empty).
  std::vector<std::pair<int64_t, int64_t>> blocks = w.rows;
  if (blocks.empty()) blocks.emplace_back(0, t.shape[0]);
  int64_t at = 0;  // first parameter row of the current block
  for (const auto& [start, count] : blocks) {
    const int64_t a = std::max(row0, at), e = std::min(row0 + n, at + count);
    if (a < e) {
      require(start + (a - at) + (e - a) <= t.shape[0], "fill_weight_rows: row block out of range");
      TensorView v = t;
      v.shape = {e - a, cols};
      v.data = t.data + (start + (a - at)) * rb;
      v.nbytes = (size_t)((e - a) * rb);
      to_f32(v, dst + (a - row0) * cols, (size_t)((e - a) * cols));
    }
    at += count;
  }
  require(at >= row0 + n, "fill_weight_rows: rows out of range");
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
  const ModelSpec& m = c.spec;
  std::string o;
  auto line = [&](const std::string& k, const std::string& v) { o += fmt::format("{:<18}{}\n", k, v); };
  line("directory", c.dir);
  line("format", "Hugging Face (config.json + safetensors)");
  line("model_type", c.model_type);
  line("layers", std::to_string(m.n_layers));
  line("d_model", std::to_string(m.d_model));
  line("heads", fmt::format("{} (kv {}), head dim {}", m.n_heads, m.kv_heads(), m.head_dim));
  line("mlp", fmt::format("{} x {}", mlp_kind_name(m.mlp), m.d_ff));
  line("norm", fmt::format("{} (eps {})", norm_kind_name(m.norm), m.norm_eps));
  if (m.pos == PosKind::Learned)
    line("positions", fmt::format("learned, {}", m.n_ctx));
  else
    line("positions", fmt::format("rotary {} of {} dims, theta {}, context {}", m.rope_dim, m.head_dim, m.rope_theta,
                                  m.n_ctx));
  if (m.pos == PosKind::Rotary && m.rope_scaling.type != "none") line("rope scaling", rope_scaling_text(m.rope_scaling));
  if (m.rope_local_theta > 0)
    line("local rope", fmt::format("theta {}, scaling {}", m.rope_local_theta, rope_scaling_text(m.rope_local_scaling)));
  line("residual", m.parallel_attn_mlp ? "parallel attention + MLP" : "sequential");
  line("norms", block_norms_text(m));
  line("biases", fmt::format("qkv {}, attn out {}, mlp {}", m.attn_bias, m.attn_out_bias, m.mlp_bias));
  if (m.qkv_clip > 0) line("clip_qkv", fmt::format("{}", m.qkv_clip));
  line("tied embeddings", m.tied_embeddings ? "yes" : "no");
  line("vocab", std::to_string(m.vocab));
  if (const std::string w = windows_text(m); !w.empty()) line("sliding window", w);
  if (m.attn_scale > 0) line("attention scale", fmt::format("{:.6g}", m.attn_scale));
  if (m.attn_softcap > 0 || m.logit_softcap > 0)
    line("soft-capping", fmt::format("attention {:g}, logits {:g}", m.attn_softcap, m.logit_softcap));
  if (m.embed_scale > 0) line("embedding scale", fmt::format("{:.6g}", m.embed_scale));
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
  const ModelSpec& m = c.spec;
  json j;
  j["directory"] = c.dir;
  j["format"] = "huggingface";
  j["model_type"] = c.model_type;
  j["n_layers"] = m.n_layers;
  j["d_model"] = m.d_model;
  j["n_heads"] = m.n_heads;
  j["n_kv_heads"] = m.kv_heads();
  j["head_dim"] = m.head_dim;
  j["d_ff"] = m.d_ff;
  j["mlp"] = mlp_kind_name(m.mlp);
  j["norm"] = norm_kind_name(m.norm);
  j["norm_eps"] = m.norm_eps;
  j["positions"] = m.pos == PosKind::Learned ? "learned" : "rotary";
  j["rope_dim"] = m.rope_dim;
  j["rope_theta"] = m.rope_theta;
  j["rope_scaling"] = m.rope_scaling.type;
  if (m.rope_scaling.type != "none") {
    j["rope_scaling_factor"] = m.rope_scaling.factor;
    j["rope_original_context"] = m.rope_scaling.original_ctx;
  }
  if (m.rope_local_theta > 0) j["rope_local_theta"] = m.rope_local_theta;
  std::vector<int> windows;
  for (const auto& l : m.layers) windows.push_back(l.window);
  j["sliding_windows"] = windows;
  j["norms"] = block_norms_text(m);
  j["attn_scale"] = m.attn_scale;
  j["attn_softcap"] = m.attn_softcap;
  j["logit_softcap"] = m.logit_softcap;
  j["embed_scale"] = m.embed_scale;
  j["context"] = m.n_ctx;
  j["parallel_attn_mlp"] = m.parallel_attn_mlp;
  j["attn_bias"] = m.attn_bias;
  j["attn_out_bias"] = m.attn_out_bias;
  j["mlp_bias"] = m.mlp_bias;
  j["qkv_clip"] = m.qkv_clip;
  j["tied_embeddings"] = m.tied_embeddings;
  j["vocab"] = m.vocab;
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
      return fmt::format("{} with {} layers, d_model {}, {} heads, vocab {}", c.model_type, c.spec.n_layers,
                         c.spec.d_model, c.spec.n_heads, c.spec.vocab);
    };
    require(dims(a) == dims(b), fmt::format("checkpoint series: '{}' is {}, but '{}' is {}", out[0].path, dims(a),
                                            out[i].path, dims(b)));
  }
  return out;
}

}  // namespace sinklab::hf

#include "io/gguf_info.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "io/error.h"

namespace sinklab::gguf {

namespace {

// Integer key; arrays of integers (per-layer values in some files) give their maximum.
std::optional<uint64_t> opt_uint(const GgufFile& f, const std::string& key) {
  const MetaValue* v = f.find(key);
  if (!v) return std::nullopt;
  if (v->type == ValueType::ARRAY) {
    uint64_t best = 0;
    bool any = false;
    for (const auto& it : v->items) {
      if (!it.is_integer()) break;
      uint64_t x = (it.type == ValueType::INT8 || it.type == ValueType::INT16 ||
                    it.type == ValueType::INT32 || it.type == ValueType::INT64)
                       ? static_cast<uint64_t>(std::max<int64_t>(it.i, 0))
                       : it.u;
      best = any ? std::max(best, x) : x;
      any = true;
    }
    if (any) return best;
  }
  return f.get_u64(key);  // throws a clear error on a wrong type
}

std::optional<double> opt_f64(const GgufFile& f, const std::string& key) {
  if (!f.has(key)) return std::nullopt;
  return f.get_f64(key);
}

std::optional<std::string> opt_str(const GgufFile& f, const std::string& key) {
  if (!f.has(key)) return std::nullopt;
  return f.get_string(key);
}

const char* file_type_name(uint64_t ft) {
  switch (ft) {
    case 0: return "ALL_F32";
    case 1: return "MOSTLY_F16";
    case 2: return "MOSTLY_Q4_0";
    case 3: return "MOSTLY_Q4_1";
    case 7: return "MOSTLY_Q8_0";
    case 8: return "MOSTLY_Q5_0";
    case 9: return "MOSTLY_Q5_1";
    case 10: return "MOSTLY_Q2_K";
    case 11: return "MOSTLY_Q3_K_S";
    case 12: return "MOSTLY_Q3_K_M";
    case 13: return "MOSTLY_Q3_K_L";
    case 14: return "MOSTLY_Q4_K_S";
    case 15: return "MOSTLY_Q4_K_M";
    case 16: return "MOSTLY_Q5_K_S";
    case 17: return "MOSTLY_Q5_K_M";
    case 18: return "MOSTLY_Q6_K";
    case 32: return "MOSTLY_BF16";
    default: return nullptr;
  }
}

template <typename T>
nlohmann::json opt_json(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

template <typename T>
std::string opt_text(const std::optional<T>& v) {
  return v ? fmt::format("{}", *v) : std::string("-");
}
std::string opt_text(const std::optional<double>& v) {  // float32 values: 7 digits
  return v ? fmt::format("{:.7g}", *v) : std::string("-");
}

std::string one_line(const std::string& s) { return printable(s); }

std::string human_bytes(uint64_t b) {
  if (b >= (uint64_t(1) << 30)) return fmt::format("{:.2f} GiB", double(b) / double(uint64_t(1) << 30));
  if (b >= (uint64_t(1) << 20)) return fmt::format("{:.2f} MiB", double(b) / double(1 << 20));
  if (b >= 1024) return fmt::format("{:.2f} KiB", double(b) / 1024.0);
  return fmt::format("{} B", b);
}

}  // namespace

std::string sinklab_cache_dir() {
  if (const char* c = std::getenv("SINKLAB_CACHE"); c && *c) return c;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/sinklab";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/sinklab";
  return ".sinklab-cache";
}

std::string test_model_path() {
  std::string p = sinklab_cache_dir() + "/models/SmolLM2-135M-Instruct.gguf";
  std::error_code ec;
  return std::filesystem::is_regular_file(p, ec) ? p : std::string();
}

GgufSummary summarize(const GgufFile& f) {
  GgufSummary s;
  s.path = f.path();
  s.version = f.version();
  s.file_size = f.file_size();
  s.alignment = f.alignment();
  s.n_metadata = f.metadata().size();
  s.architecture = f.get_string_or("general.architecture", "");
  s.name = f.get_string_or("general.name", "");
  if (auto ft = opt_uint(f, "general.file_type")) {
    const char* n = file_type_name(*ft);
    s.file_type = n ? std::string(n) : fmt::format("{}", *ft);
  }
  const std::string a = s.architecture;
  if (!a.empty()) {
    s.n_layers = opt_uint(f, a + ".block_count");
    s.d_model = opt_uint(f, a + ".embedding_length");
    s.n_heads = opt_uint(f, a + ".attention.head_count");
    s.n_kv_heads = opt_uint(f, a + ".attention.head_count_kv");
    if (!s.n_kv_heads) s.n_kv_heads = s.n_heads;
    s.head_dim = opt_uint(f, a + ".attention.key_length");
    if (!s.head_dim && s.d_model && s.n_heads && *s.n_heads > 0) s.head_dim = *s.d_model / *s.n_heads;
    s.ffn_dim = opt_uint(f, a + ".feed_forward_length");
    s.context = opt_uint(f, a + ".context_length");
    s.rope_dims = opt_uint(f, a + ".rope.dimension_count");
    s.rope_base = opt_f64(f, a + ".rope.freq_base");
    s.norm_eps = opt_f64(f, a + ".attention.layer_norm_rms_epsilon");
    if (!s.norm_eps) s.norm_eps = opt_f64(f, a + ".attention.layer_norm_epsilon");
  }
  s.tokenizer_model = opt_str(f, "tokenizer.ggml.model");
  s.tokenizer_pre = opt_str(f, "tokenizer.ggml.pre");
  if (f.has("tokenizer.ggml.tokens")) s.vocab_size = f.array_size("tokenizer.ggml.tokens");
  else if (!a.empty()) s.vocab_size = opt_uint(f, a + ".vocab_size");
  if (f.has("tokenizer.ggml.merges")) s.n_merges = f.array_size("tokenizer.ggml.merges");
  if (f.has("tokenizer.ggml.bos_token_id")) s.bos_id = f.get_i64("tokenizer.ggml.bos_token_id");
  if (f.has("tokenizer.ggml.eos_token_id")) s.eos_id = f.get_i64("tokenizer.ggml.eos_token_id");
  if (f.has("tokenizer.ggml.add_bos_token")) s.add_bos = f.get_bool("tokenizer.ggml.add_bos_token");

  s.n_tensors = f.tensors().size();
  for (const auto& t : f.tensors()) {
    std::string tn = type_name(t.type);
    s.tensors_per_type[tn] += 1;
    s.bytes_per_type[tn] += t.n_bytes;
    s.n_params += t.n_elements;
    s.tensor_bytes += t.n_bytes;
    s.tensors.push_back({t.name, tn, t.shape(), t.n_elements, t.n_bytes, t.file_offset});
  }
  return s;
}

nlohmann::json summary_to_json(const GgufSummary& s, bool with_tensors) {
  nlohmann::json j;
  j["path"] = s.path;
  j["gguf_version"] = s.version;
  j["file_size"] = s.file_size;
  j["alignment"] = s.alignment;
  j["n_metadata"] = s.n_metadata;
  j["architecture"] = s.architecture;
  j["name"] = s.name;
  j["file_type"] = opt_json(s.file_type);
  j["dims"] = {{"n_layers", opt_json(s.n_layers)},   {"d_model", opt_json(s.d_model)},
               {"n_heads", opt_json(s.n_heads)},     {"n_kv_heads", opt_json(s.n_kv_heads)},
               {"head_dim", opt_json(s.head_dim)},   {"ffn_dim", opt_json(s.ffn_dim)},
               {"context_length", opt_json(s.context)}, {"rope_dims", opt_json(s.rope_dims)},
               {"rope_base", opt_json(s.rope_base)}, {"norm_eps", opt_json(s.norm_eps)}};
  j["tokenizer"] = {{"model", opt_json(s.tokenizer_model)}, {"pre", opt_json(s.tokenizer_pre)},
                    {"vocab_size", opt_json(s.vocab_size)}, {"n_merges", opt_json(s.n_merges)},
                    {"bos_id", opt_json(s.bos_id)},         {"eos_id", opt_json(s.eos_id)},
                    {"add_bos", opt_json(s.add_bos)}};
  j["n_tensors"] = s.n_tensors;
  j["n_params"] = s.n_params;
  j["tensor_bytes"] = s.tensor_bytes;
  j["tensors_per_type"] = s.tensors_per_type;
  j["bytes_per_type"] = s.bytes_per_type;
  if (with_tensors) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& t : s.tensors)
      arr.push_back({{"name", t.name}, {"type", t.type}, {"shape", t.shape},
                     {"n_elements", t.n_elements}, {"n_bytes", t.n_bytes}, {"offset", t.offset}});
    j["tensors"] = std::move(arr);
  }
  return j;
}

std::string summary_to_text(const GgufSummary& s, bool with_tensors) {
  std::string o;
  auto line = [&](const std::string& k, const std::string& v) { o += fmt::format("{:<16}{}\n", k, v); };
  line("file", fmt::format("{} (GGUF v{}, {})", s.path, s.version, human_bytes(s.file_size)));
  line("architecture", s.architecture.empty() ? "-" : one_line(s.architecture));
  line("name", s.name.empty() ? "-" : one_line(s.name));
  line("file type", opt_text(s.file_type));
  line("layers", opt_text(s.n_layers));
  line("d_model", opt_text(s.d_model));
  line("heads", fmt::format("{} query, {} key/value, head dim {}", opt_text(s.n_heads),
                            opt_text(s.n_kv_heads), opt_text(s.head_dim)));
  line("ffn dim", opt_text(s.ffn_dim));
  line("context", opt_text(s.context));
  line("rope", fmt::format("base {}, dims {}", opt_text(s.rope_base), opt_text(s.rope_dims)));
  line("norm eps", opt_text(s.norm_eps));
  line("tokenizer", fmt::format("{} (pre {}), vocab {}, merges {}",
                                one_line(opt_text(s.tokenizer_model)), one_line(opt_text(s.tokenizer_pre)), opt_text(s.vocab_size),
                                opt_text(s.n_merges)));
  line("bos / eos", fmt::format("{} / {} (add bos: {})", opt_text(s.bos_id), opt_text(s.eos_id),
                                opt_text(s.add_bos)));
  std::string types;
  for (const auto& [t, n] : s.tensors_per_type) {
    if (!types.empty()) types += ", ";
    types += fmt::format("{} {}", n, t);
  }
  line("tensors", fmt::format("{} ({})", s.n_tensors, types.empty() ? "none" : types));
  line("parameters", fmt::format("{} ({:.1f} M)", s.n_params, double(s.n_params) / 1e6));
  line("tensor bytes", fmt::format("{} ({})", s.tensor_bytes, human_bytes(s.tensor_bytes)));
  line("metadata keys", std::to_string(s.n_metadata));
  if (with_tensors) {
    o += "\n";
    size_t w = 4;
    for (const auto& t : s.tensors) w = std::max(w, one_line(t.name).size());
    o += fmt::format("{:<{}}  {:<8}  {:<18}  {}\n", "name", w, "type", "shape", "bytes");
    for (const auto& t : s.tensors) {
      std::string shape = "[";
      for (size_t k = 0; k < t.shape.size(); ++k) shape += (k ? ", " : "") + std::to_string(t.shape[k]);
      shape += "]";
      o += fmt::format("{:<{}}  {:<8}  {:<18}  {}\n", one_line(t.name), w, t.type, shape, t.n_bytes);
    }
  }
  return o;
}

}  // namespace sinklab::gguf

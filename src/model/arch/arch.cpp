#include "model/arch/arch.h"

#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "io/error.h"
#include "io/gguf.h"
#include "io/safetensors.h"
#include "model/arch/hf_dir.h"

namespace sinklab {

// One line per family (each defined in its file under src/model/arch/).
extern const Architecture kArchLlama, kArchGptNeox, kArchGpt2;

const std::vector<const Architecture*>& architectures() {
  static const std::vector<const Architecture*> all = {&kArchLlama, &kArchGptNeox, &kArchGpt2};
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

// ---------------------------------------------------------------- config.json keys

void ConfigKeys::bad(const std::string& key, const std::string& msg) const {
  fail(fmt::format("'{}': key \"{}\": {}", file_, key, msg));
}
bool ConfigKeys::has(const std::string& key) const {
  auto it = j_.find(key);
  return it != j_.end() && !it->is_null();
}
int64_t ConfigKeys::integer(const std::string& key, int64_t lo, int64_t hi) const {
  if (!has(key)) fail(fmt::format("'{}': missing key \"{}\"", file_, key));
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
  if (!has(key)) fail(fmt::format("'{}': missing key \"{}\"", file_, key));
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
    bad(key, "activation '" + a + "' is not supported (supported: silu)");
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
                        std::vector<int64_t> dst_shape, bool transpose, std::vector<std::pair<int64_t, int64_t>> rows) {
  const TensorView* t = st_.find(src);
  if (!t) fail(fmt::format("'{}': missing tensor '{}' (model_type {} needs it for {})", st_.path(), src, c_.model_type, dst));
  if (t->dtype != DType::F32 && t->dtype != DType::F16 && t->dtype != DType::BF16)
    fail(fmt::format("'{}': tensor '{}' has dtype {} (supported: F32, F16, BF16)", shard_file_of(st_, src), src,
                     dtype_name(t->dtype)));
  if (t->shape != src_shape)
    fail(fmt::format("'{}': tensor '{}' has shape {}, but config.json implies {}", shard_file_of(st_, src), src,
                     shape_text(t->shape), shape_text(src_shape)));
  out_.push_back(hf::WeightMap{src, dst, std::move(src_shape), std::move(dst_shape), transpose, std::move(rows)});
}

std::string HfTensorTable::prefix(const std::vector<std::string>& prefixes, const std::string& probe) const {
  for (const auto& p : prefixes)
    if (st_.contains(p + probe)) return p;
  fail(fmt::format("'{}': missing tensor '{}{}' (model_type {})", st_.path(), prefixes.front(), probe, c_.model_type));
}

std::vector<hf::WeightMap> HfTensorTable::take() { return std::move(out_); }

}  // namespace sinklab

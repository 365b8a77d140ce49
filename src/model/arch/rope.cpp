#include "model/arch/rope.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "io/error.h"
#include "model/arch/arch.h"
#include "model/arch/hf_dir.h"
#include "model/spec.h"

namespace sinklab {

namespace {

constexpr double kPi = 3.14159265358979323846;

std::vector<double> plain(double base, int dim) {
  std::vector<double> inv(dim / 2);
  for (int i = 0; i < dim / 2; ++i) inv[i] = 1.0 / std::pow(base, (2.0 * i) / dim);
  return inv;
}

double yarn_mscale(double scale, double m) { return scale <= 1 ? 1.0 : 0.1 * m * std::log(scale) + 1.0; }

// The dimension (of `dim`) at which a frequency turns `rotations` times over `ctx` positions.
double correction_dim(double rotations, int dim, double base, double ctx) {
  return dim * std::log(ctx / (rotations * 2 * kPi)) / (2 * std::log(base));
}

}  // namespace

RopeFreqs rope_freqs(const ModelSpec& s, bool local, int64_t seq_len) {
  const bool use_local = local && s.rope_local_theta > 0;
  const double base = use_local ? s.rope_local_theta : s.rope_theta;
  const RopeScaling& r = use_local ? s.rope_local_scaling : s.rope_scaling;
  const int dim = s.rope_dim > 0 ? s.rope_dim : s.hd();
  const double orig = (double)r.original_ctx;
  RopeFreqs out;
  const std::string& t = r.type;
  if (t == "none") {
    out.inv_freq = plain(base, dim);
  } else if (t == "linear") {
    out.inv_freq = plain(base, dim);
    for (double& f : out.inv_freq) f /= r.factor;
  } else if (t == "dynamic") {
    const double len = std::max((double)seq_len, orig);
    const double b = base * std::pow(r.factor * len / orig - (r.factor - 1), (double)dim / (dim - 2));
    out.inv_freq = plain(b, dim);
  } else if (t == "llama3") {
    out.inv_freq = plain(base, dim);
    const double low_wavelen = orig / r.low_freq_factor, high_wavelen = orig / r.high_freq_factor;
    for (double& f : out.inv_freq) {
      const double wavelen = 2 * kPi / f;
      if (wavelen > low_wavelen) {
        f /= r.factor;  // long wavelengths: interpolated
      } else if (wavelen >= high_wavelen) {  // between: a smooth ramp
        const double smooth = (orig / wavelen - r.low_freq_factor) / (r.high_freq_factor - r.low_freq_factor);
        f = (1 - smooth) * f / r.factor + smooth * f;
      }
    }
  } else if (t == "yarn") {
    double low = correction_dim(r.beta_fast, dim, base, orig), high = correction_dim(r.beta_slow, dim, base, orig);
    if (r.truncate) low = std::floor(low), high = std::ceil(high);
    low = std::max(low, 0.0);
    high = std::min(high, (double)dim - 1);
    if (low == high) high += 0.001;
    const std::vector<double> extra = plain(base, dim);
    out.inv_freq.resize(extra.size());
    for (std::size_t i = 0; i < extra.size(); ++i) {
      const double ramp = std::clamp(((double)i - low) / (high - low), 0.0, 1.0);
      const double keep = 1 - ramp;  // share of the extrapolated (unscaled) frequency
      out.inv_freq[i] = extra[i] / r.factor * (1 - keep) + extra[i] * keep;
    }
    if (r.attention_factor > 0) out.attention_factor = r.attention_factor;
    else if (r.mscale > 0 && r.mscale_all_dim > 0)
      out.attention_factor = yarn_mscale(r.factor, r.mscale) / yarn_mscale(r.factor, r.mscale_all_dim);
    else out.attention_factor = yarn_mscale(r.factor, 1);
  } else if (t == "longrope") {
    const std::vector<double>& ext = (double)seq_len > orig ? r.long_factor : r.short_factor;
    out.inv_freq = plain(base, dim);
    for (std::size_t i = 0; i < out.inv_freq.size(); ++i) out.inv_freq[i] /= ext[i];
    out.attention_factor = r.attention_factor > 0 ? r.attention_factor
                           : r.factor <= 1       ? 1.0
                                                 : std::sqrt(1 + std::log(r.factor) / std::log(orig));
  } else {
    fail("internal: unknown rope scaling '" + t + "'");
  }
  if (!r.freq_factors.empty())
    for (std::size_t i = 0; i < out.inv_freq.size(); ++i) out.inv_freq[i] /= r.freq_factors[i];
  return out;
}

namespace {

// One scaling object (`o`: rope_scaling, rope_parameters or one of its layer-type entries).
void read_scaling(const ConfigKeys& top, const ConfigKeys& o, int64_t max_pos, int rope_dim, RopeScaling& r) {
  std::string t = o.has("rope_type") ? o.str("rope_type", "") : o.str("type", "default");
  if (t == "default") t = "none";
  r = RopeScaling{};
  r.type = t;
  if (t == "none") return;
  auto factor = [&](bool required) {
    if (!o.has("factor")) {
      if (required) o.number("factor");  // "missing key"
      return 0.0;
    }
    const double f = o.number("factor");
    if (!(f >= 1)) o.bad("factor", fmt::format("must be >= 1, got {}", f));
    return f;
  };
  // The context the model was trained with: the object's key, else the config's top-level
  // one (Phi-3 writes it there), else max_position_embeddings.
  auto original = [&]() -> int64_t {
    if (o.has("original_max_position_embeddings")) return o.integer("original_max_position_embeddings", 1, 1LL << 32);
    if (top.has("original_max_position_embeddings"))
      return top.integer("original_max_position_embeddings", 1, 1LL << 32);
    return max_pos;
  };
  if (t == "linear") {
    r.factor = factor(true);
  } else if (t == "dynamic") {
    r.factor = factor(true);
    r.original_ctx = max_pos;
  } else if (t == "llama3") {
    r.factor = factor(true);
    r.low_freq_factor = o.number("low_freq_factor");
    r.high_freq_factor = o.number("high_freq_factor");
    if (!(r.low_freq_factor > 0)) o.bad("low_freq_factor", "must be positive");
    if (!(r.high_freq_factor > r.low_freq_factor))
      o.bad("high_freq_factor", fmt::format("must exceed low_freq_factor {}", r.low_freq_factor));
    r.original_ctx = original();
  } else if (t == "yarn") {
    r.original_ctx = original();
    r.factor = factor(false);
    if (r.factor == 0) r.factor = (double)max_pos / (double)r.original_ctx;
    r.attention_factor = o.has("attention_factor") ? o.positive("attention_factor", 1) : 0;
    r.mscale = o.has("mscale") ? o.positive("mscale", 1) : 0;
    r.mscale_all_dim = o.has("mscale_all_dim") ? o.positive("mscale_all_dim", 1) : 0;
    r.beta_fast = o.positive("beta_fast", 32);
    r.beta_slow = o.positive("beta_slow", 1);
    r.truncate = o.boolean("truncate", true);
  } else if (t == "longrope") {
    r.original_ctx = original();
    r.factor = factor(false);
    if (r.factor == 0) r.factor = (double)max_pos / (double)r.original_ctx;
    r.attention_factor = o.has("attention_factor") ? o.positive("attention_factor", 1) : 0;
    r.short_factor = o.numbers("short_factor", (std::size_t)rope_dim / 2);
    r.long_factor = o.numbers("long_factor", (std::size_t)rope_dim / 2);
  } else {
    o.bad(o.has("rope_type") ? "rope_type" : "type",
          fmt::format("unsupported RoPE scaling '{}' (supported: default, linear, dynamic, llama3, yarn, longrope)", t));
  }
}

}  // namespace

void read_rope_config(const ConfigKeys& k, ModelSpec& s, int64_t max_pos) {
  const int hd = s.hd();
  // Partial rotary: the fraction of each head that rotates (top level or in the object).
  auto rope_dim_of = [&](const ConfigKeys& o) {
    const ConfigKeys& src = o.has("partial_rotary_factor") ? o : k;
    if (!src.has("partial_rotary_factor")) return hd;
    const double f = src.number("partial_rotary_factor");
    if (!(f > 0 && f <= 1)) src.bad("partial_rotary_factor", fmt::format("must be in (0, 1], got {}", f));
    const int d = (int)(hd * f);
    if (d < 2 || d % 2 != 0)
      src.bad("partial_rotary_factor", fmt::format("{} of head dim {} is {} dims, not a positive even number", f, hd, d));
    return d;
  };
  // The base: > 1 (a base of 1 or less does not rotate or rotates faster than the position).
  auto base = [](const ConfigKeys& o, double def) {
    const double b = o.positive("rope_theta", def);
    if (!(b > 1)) o.bad("rope_theta", fmt::format("must be > 1, got {}", b));
    return b;
  };
  const double top_theta = base(k, s.rope_theta);
  s.rope_theta = top_theta;
  s.rope_dim = rope_dim_of(k);
  const std::string key = k.has("rope_parameters") ? "rope_parameters" : "rope_scaling";
  if (!k.has(key)) return;
  const ConfigKeys o = k.child(key);
  if (o.is_object("full_attention") || o.is_object("sliding_attention")) {  // nested by layer type
    for (const char* lt : {"full_attention", "sliding_attention"}) {
      if (!o.has(lt)) continue;
      const ConfigKeys e = o.child(lt);
      const bool local = std::string(lt) == "sliding_attention";
      const double theta = base(e, top_theta);
      if (!local) s.rope_dim = rope_dim_of(e);
      read_scaling(k, e, max_pos, s.rope_dim, local ? s.rope_local_scaling : s.rope_scaling);
      (local ? s.rope_local_theta : s.rope_theta) = theta;
    }
    return;
  }
  s.rope_theta = base(o, top_theta);
  s.rope_dim = rope_dim_of(o);
  read_scaling(k, o, max_pos, s.rope_dim, s.rope_scaling);
}

void check_rope_scaling(const RopeScaling& r, int rope_dim) {
  const std::string& t = r.type;
  require(t == "none" || t == "linear" || t == "dynamic" || t == "llama3" || t == "yarn" || t == "longrope",
          fmt::format("model: unknown RoPE scaling '{}' (valid: none, linear, dynamic, llama3, yarn, longrope)", t));
  if (t != "none") require(r.factor >= 1, fmt::format("model: RoPE scaling factor {} must be >= 1", r.factor));
  if (t == "dynamic") require(rope_dim > 2, "model: dynamic RoPE scaling needs more than 2 rotary dims");
  if (t == "dynamic" || t == "llama3" || t == "yarn" || t == "longrope")
    require(r.original_ctx >= 1, fmt::format("model: RoPE scaling '{}' needs its original context", t));
  if (t == "longrope")
    require(r.short_factor.size() == (std::size_t)rope_dim / 2 && r.long_factor.size() == (std::size_t)rope_dim / 2,
            fmt::format("model: longrope needs {} short and long factors", rope_dim / 2));
  if (!r.freq_factors.empty())
    require(r.freq_factors.size() == (std::size_t)rope_dim / 2,
            fmt::format("model: {} RoPE frequency factors for {} rotary dims", r.freq_factors.size(), rope_dim));
  for (double f : r.freq_factors) require(std::isfinite(f) && f > 0, "model: RoPE frequency factors must be positive");
  for (const auto* v : {&r.short_factor, &r.long_factor})
    for (double f : *v) require(std::isfinite(f) && f > 0, "model: longrope factors must be positive");
}

std::string rope_scaling_text(const RopeScaling& r) {
  if (r.type == "none") return r.freq_factors.empty() ? "none" : "per-frequency factors (rope_freqs)";
  std::string t = fmt::format("{} (factor {:g}", r.type, r.factor);
  if (r.original_ctx > 0) t += fmt::format(", original context {}", r.original_ctx);
  return t + ")";
}

}  // namespace sinklab

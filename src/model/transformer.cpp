#include "model/transformer.h"

#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <torch/torch.h>

#include "io/error.h"
#include "model/attention.h"

namespace sinklab {

namespace {
std::string shape_str(at::IntArrayRef s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}
}  // namespace

Transformer::Transformer(ModelSpec spec, bool allocate) : spec_(std::move(spec)), allocate_(allocate) {
  spec_.finalize();
  const auto& s = spec_;
  const int64_t d = s.d_model, H = s.n_heads, Hkv = s.kv_heads(), hd = s.hd(), ff = s.ff();
  const bool ln_bias = s.norm == NormKind::LayerNorm;
  const bool norm_affine = s.norm != NormKind::LayerNormNoAffine;
  add("embed.W_E", {s.vocab, d});
  if (s.pos == PosKind::Learned) add("pos_embed.W_pos", {s.n_ctx, d});
  for (int l = 0; l < s.n_layers; ++l) {
    const std::string b = fmt::format("blocks.{}.", l);
    const LayerSpec& ls = s.layers[l];
    // ln1/ln2: the norm before the sublayer (or after the residual add: post_norm);
    // ln1_post/ln2_post: the norm of the sublayer's output (out_norm).
    auto norm = [&](const std::string& n) {
      if (norm_affine) add(b + n + ".w", {d});
      if (ln_bias) add(b + n + ".b", {d});
    };
    const bool first_norm = s.input_norm || s.post_norm;
    if (ls.attn) {
      if (first_norm) norm("ln1");
      if (s.out_norm) norm("ln1_post");
      add(b + "attn.W_Q", {H * hd, d});
      add(b + "attn.W_K", {Hkv * hd, d});
      add(b + "attn.W_V", {Hkv * hd, d});
      add(b + "attn.W_O", {d, H * hd});
      if (s.attn_bias) {
        add(b + "attn.b_Q", {H * hd});
        add(b + "attn.b_K", {Hkv * hd});
        add(b + "attn.b_V", {Hkv * hd});
      }
      if (s.attn_out_bias) add(b + "attn.b_O", {d});
      for (const auto& ap : attn_own_params()) {
        add(b + "attn." + ap.name, ap.shape);
        if (!ap.drawn) const_init_[b + "attn." + ap.name] = ap.init;
      }
    }
    if (ls.mlp) {
      if (first_norm) norm("ln2");
      if (s.out_norm) norm("ln2_post");
      add(b + "mlp.W_in", {ff, d});
      if (mlp_gated(s.mlp)) add(b + "mlp.W_gate", {ff, d});
      add(b + "mlp.W_out", {d, ff});
      if (s.mlp_bias) {
        add(b + "mlp.b_in", {ff});
        add(b + "mlp.b_out", {d});
      }
    }
  }
  if (s.final_norm) {
    if (norm_affine) add("ln_final.w", {d});
    if (ln_bias) add("ln_final.b", {d});
  }
  if (!s.tied_embeddings) add("unembed.W_U", {s.vocab, d});
  index_layers();
}

at::Tensor Transformer::add(const std::string& name, std::vector<int64_t> shape) {
  auto t = allocate_ ? torch::zeros(shape, torch::kFloat32)
                     : torch::empty(shape, torch::TensorOptions().dtype(torch::kFloat32).device(torch::kMeta));
  index_[name] = params_.size();
  params_.emplace_back(name, t);
  return t;
}

void Transformer::index_layers() {
  lp_.assign(spec_.n_layers, LayerParams{});
  for (int l = 0; l < spec_.n_layers; ++l) {
    const std::string b = fmt::format("blocks.{}.", l);
    auto& p = lp_[l];
    p.ln1w = opt(b + "ln1.w"), p.ln1b = opt(b + "ln1.b"), p.ln2w = opt(b + "ln2.w"), p.ln2b = opt(b + "ln2.b");
    p.ln1pw = opt(b + "ln1_post.w"), p.ln1pb = opt(b + "ln1_post.b");
    p.ln2pw = opt(b + "ln2_post.w"), p.ln2pb = opt(b + "ln2_post.b");
    p.WQ = opt(b + "attn.W_Q"), p.WK = opt(b + "attn.W_K"), p.WV = opt(b + "attn.W_V"), p.WO = opt(b + "attn.W_O");
    p.bQ = opt(b + "attn.b_Q"), p.bK = opt(b + "attn.b_K"), p.bV = opt(b + "attn.b_V"), p.bO = opt(b + "attn.b_O");
    p.Win = opt(b + "mlp.W_in"), p.Wgate = opt(b + "mlp.W_gate"), p.Wout = opt(b + "mlp.W_out");
    p.bin = opt(b + "mlp.b_in"), p.bout = opt(b + "mlp.b_out");
    p.attn_own.clear();
    if (spec_.layers[l].attn)
      for (const auto& ap : attn_own_params()) p.attn_own[ap.name] = opt(b + "attn." + ap.name);
  }
}

std::vector<AttnParamSpec> Transformer::attn_own_params() const {
  auto v = qk_norm_params(spec_);
  for (auto& p : attn_gate_params(spec_)) v.push_back(p);
  const AttnVariant& a = attn_variant(spec_.attn);
  if (a.params)
    for (auto& p : a.params(spec_)) v.push_back(p);
  return v;
}

const at::Tensor* Transformer::opt(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &params_[it->second].second;
}

void Transformer::init_weights(uint64_t seed, InitScheme scheme) {
  torch::NoGradGuard ng;
  auto gen = at::detail::createCPUGenerator(seed);
  const double std_resid = 0.02 / std::sqrt(2.0 * spec_.n_layers);
  auto ends = [](const std::string& name, const std::string& suf) {
    return name.size() >= suf.size() && name.compare(name.size() - suf.size(), suf.size(), suf) == 0;
  };
  // fan_in of a linear bias: the input width of its matrix (b_Q -> W_Q, b_in -> W_in, ...).
  auto bias_fan_in = [&](const std::string& name) -> int64_t {
    std::string m = name;
    auto k = m.rfind(".b_");
    if (k != std::string::npos) m.replace(k, 3, ".W_");
    const at::Tensor* w = opt(m);
    return w && w->dim() == 2 ? w->size(1) : spec_.d_model;
  };
  stored_.clear();
  for (auto& [name, t] : params_) {
    if (t.is_meta()) t = torch::zeros(t.sizes(), torch::kFloat32);
    auto cpu = torch::empty(t.sizes(), torch::kFloat32);
    const bool norm_w = ends(name, ".w"), norm_b = ends(name, ".b");
    const bool lin_b = !norm_b && name.find(".b_") != std::string::npos;
    const bool embedding = name == "embed.W_E" || name == "pos_embed.W_pos";
    auto ci = const_init_.find(name);
    if (ci != const_init_.end()) cpu.fill_(ci->second);
    else if (norm_w) cpu.fill_(1.0);
    else if (norm_b) cpu.zero_();
    else if (scheme == InitScheme::TorchDefault) {
      if (embedding) cpu.normal_(0.0, 1.0, gen);
      else {
        const int64_t fan_in = lin_b ? bias_fan_in(name) : (t.dim() == 2 ? t.size(1) : t.numel());
        const double bound = 1.0 / std::sqrt((double)std::max<int64_t>(1, fan_in));
        cpu.uniform_(-bound, bound, gen);
      }
    } else if (lin_b) cpu.zero_();
    else if (ends(name, "attn.W_O") || ends(name, "mlp.W_out")) cpu.normal_(0.0, std_resid, gen);
    else cpu.normal_(0.0, 0.02, gen);
    t.copy_(cpu);
  }
}

std::vector<at::Tensor> Transformer::parameters() const {
  std::vector<at::Tensor> v;
  for (auto& p : params_) v.push_back(p.second);
  return v;
}

bool Transformer::has_param(const std::string& name) const { return index_.count(name) > 0; }

at::Tensor& Transformer::param(const std::string& name) {
  auto it = index_.find(name);
  if (it == index_.end()) fail("model has no parameter '" + name + "'");
  return params_[it->second].second;
}
const at::Tensor& Transformer::param(const std::string& name) const {
  return const_cast<Transformer*>(this)->param(name);
}

void Transformer::set_param(const std::string& name, const at::Tensor& value) {
  torch::NoGradGuard ng;
  at::Tensor& p = param(name);
  if (p.is_meta()) {  // stored, or not allocated yet: resident from now on
    stored_.erase(&p);
    p = torch::empty(p.sizes(), torch::kFloat32);
  }
  if (p.sizes() != value.sizes())
    fail(fmt::format("shape mismatch for '{}': model expects {}, got {}", name, shape_str(p.sizes()),
                     shape_str(value.sizes())));
  p.copy_(value.to(p.device(), p.scalar_type()));
}

int64_t Transformer::n_params() const {
  int64_t n = 0;
  for (auto& p : params_) n += p.second.numel();
  return n;
}

void Transformer::to(const std::string& device, bool float64) { to_dtype(device, float64 ? "float64" : "float32"); }

void Transformer::to_dtype(const std::string& device, const std::string& dtype) {
  torch::Device dev(device);
  const auto dt = dtype == "float64"    ? torch::kFloat64
                  : dtype == "bfloat16" ? torch::kBFloat16
                  : dtype == "float16"  ? torch::kFloat16
                  : dtype == "float32"  ? torch::kFloat32
                                        : (fail("unknown dtype '" + dtype + "' (float32, float64, bfloat16, float16)"),
                                           torch::kFloat32);
  torch::NoGradGuard ng;
  for (auto& [name, t] : params_) {
    const bool rg = t.requires_grad();
    at::Tensor src = stored(&t) ? value(name) : t;
    t = src.to(dev, dt).detach().set_requires_grad(rg);
  }
  stored_.clear();
  for (auto& b : scratch_) b = at::Tensor();
}

std::string Transformer::device() const {
  for (const auto& p : params_)
    if (!p.second.is_meta()) return p.second.device().str();
  return "cpu";  // every weight stored: they are filled on the CPU
}

void Transformer::store(const std::string& name, StoredWeight w) {
  at::Tensor& p = param(name);
  require(p.dim() == 2 && can_store(name), "internal: parameter '" + name + "' cannot be stored");
  require((bool)w.fill, "internal: stored weight '" + name + "' has no fill");
  require(p.device().is_cpu() || p.is_meta(), "internal: stored weights need a model on the CPU");
  p = torch::empty(p.sizes(), torch::TensorOptions().dtype(torch::kFloat32).device(torch::kMeta));
  stored_[&p] = std::move(w);
}

bool Transformer::can_store(const std::string& name) {
  return name == "embed.W_E" || name == "unembed.W_U" ||
         (name.rfind("blocks.", 0) == 0 &&
          (name.find(".attn.W_") != std::string::npos || name.find(".mlp.W_") != std::string::npos));
}

bool Transformer::is_stored(const std::string& name) const { return stored(&param(name)) != nullptr; }

at::Tensor Transformer::value(const std::string& name) const {
  const at::Tensor& p = param(name);
  const StoredWeight* sw = stored(&p);
  if (!sw) return p;
  auto t = torch::empty(p.sizes(), torch::kFloat32);
  sw->fill(0, p.size(0), t.data_ptr<float>());
  return t;
}

int64_t Transformer::resident_bytes() const {
  int64_t n = 0;
  for (const auto& p : params_)
    if (!p.second.is_meta()) n += p.second.numel() * (int64_t)p.second.element_size();
  return n;
}

std::string Transformer::missing_param() const {
  for (const auto& [name, t] : params_)
    if (t.is_meta() && !stored(&t)) return name;
  return "";
}

int64_t Transformer::stored_bytes() const {
  int64_t n = 0;
  for (const auto& [p, w] : stored_) n += w.stored_bytes;
  return n;
}

namespace {

// In float32 for bfloat16/float16 activations (as transformers does), cast back.
at::Tensor apply_norm(const ModelSpec& s, const at::Tensor& x, const at::Tensor* w, const at::Tensor* b) {
  const int64_t d = x.size(-1);
  const bool half = x.scalar_type() == torch::kBFloat16 || x.scalar_type() == torch::kHalf;
  if (half) {
    auto wf = w ? w->to(torch::kFloat32) : at::Tensor(), bf = b ? b->to(torch::kFloat32) : at::Tensor();
    return apply_norm(s, x.to(torch::kFloat32), w ? &wf : nullptr, b ? &bf : nullptr).to(x.scalar_type());
  }
  if (s.norm == NormKind::RMSNorm) {
    auto y = x * torch::rsqrt(x.pow(2).mean(-1, true) + s.norm_eps);
    return w ? y * *w : y;
  }
  return torch::layer_norm(x, {d}, w ? *w : at::Tensor(), b ? *b : at::Tensor(), s.norm_eps);
}

// Rows [row0, row0 + n) of a stored weight with `cols` columns, as float32 in `buf`
// (grown as needed; the view is valid until the buffer's next fill).
at::Tensor fill_rows(const StoredWeight& sw, at::Tensor& buf, int64_t row0, int64_t n, int64_t cols) {
  if (!buf.defined() || buf.numel() < n * cols) buf = torch::empty({n * cols}, torch::kFloat32);
  at::Tensor w = buf.narrow(0, 0, n * cols).view({n, cols});
  sw.fill(row0, n, w.data_ptr<float>());
  return w;
}

// x W^T for rows [row0, row0 + n) of a stored W: the forward fills them into the slot's
// buffer, backward fills them again for grad_x = grad_y W. Nothing of W is kept between
// the two (the graph holds pointers into the model, which must outlive it), and W takes
// no gradient.
struct StoredLinear : torch::autograd::Function<StoredLinear> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const StoredWeight* sw,
                            at::Tensor* buf, int64_t row0, int64_t n, int64_t cols) {
    ctx->saved_data["sw"] = reinterpret_cast<int64_t>(sw);
    ctx->saved_data["buf"] = reinterpret_cast<int64_t>(buf);
    ctx->saved_data["row0"] = row0;
    ctx->saved_data["n"] = n;
    ctx->saved_data["cols"] = cols;
    return torch::linear(x, fill_rows(*sw, *buf, row0, n, cols));
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list g) {
    const auto* sw = reinterpret_cast<const StoredWeight*>(ctx->saved_data["sw"].toInt());
    auto* buf = reinterpret_cast<at::Tensor*>(ctx->saved_data["buf"].toInt());
    at::Tensor w = fill_rows(*sw, *buf, ctx->saved_data["row0"].toInt(), ctx->saved_data["n"].toInt(),
                             ctx->saved_data["cols"].toInt());
    return {torch::matmul(g[0], w), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// x W[row0 : row0 + n]^T, W stored.
at::Tensor stored_linear(const at::Tensor& x, const StoredWeight& sw, at::Tensor& buf, int64_t row0, int64_t n,
                         int64_t cols) {
  if (torch::GradMode::is_enabled() && x.requires_grad()) return StoredLinear::apply(x, &sw, &buf, row0, n, cols);
  return torch::linear(x, fill_rows(sw, buf, row0, n, cols));
}

}  // namespace

const StoredWeight* Transformer::stored(const at::Tensor* p) const {
  if (!p || !p->is_meta()) return nullptr;
  auto it = stored_.find(p);
  return it == stored_.end() ? nullptr : &it->second;
}

at::Tensor fake_quantize(const at::Tensor& x, double max_abs, int bits) {
  const double qmax = std::ldexp(1.0, bits - 1) - 1;
  if (!(max_abs > 0)) return x;
  const double scale = max_abs / qmax;
  return torch::clamp(torch::round(x / scale), -qmax, qmax) * scale;
}

void Transformer::set_fake_quant(int bits) {
  require(bits == 0 || (bits >= 2 && bits <= 16), fmt::format("fake quantisation needs 2..16 bits, got {}", bits));
  fq_bits_ = bits;
  fq_wmax_.clear();
  if (!bits) return;
  torch::NoGradGuard ng;
  for (const auto& [name, t] : params_)
    if (t.dim() == 2 && name != "embed.W_E" && name != "pos_embed.W_pos")
      fq_wmax_[&t] = value(name).abs().max().item<double>();
  if (spec_.tied_embeddings) fq_wmax_[&param("embed.W_E")] = value("embed.W_E").abs().max().item<double>();
}

at::Tensor Transformer::fq_act(const at::Tensor& x) const {
  require(!(torch::GradMode::is_enabled() && x.requires_grad()),
          "a fake-quantised model runs without gradients (inference only)");
  return fake_quantize(x, x.abs().max().item<double>(), fq_bits_);
}

at::Tensor Transformer::fq_weight(const at::Tensor* W, const at::Tensor& value) const {
  auto it = fq_wmax_.find(W);
  return it == fq_wmax_.end() ? value : fake_quantize(value, it->second, fq_bits_);
}

at::Tensor Transformer::linear(const at::Tensor& x_in, const at::Tensor* W, const at::Tensor* b, Slot slot) const {
  const StoredWeight* sw = stored(W);
  const at::Tensor x = fq_bits_ ? fq_act(x_in) : x_in;
  if (fq_bits_) {
    at::Tensor w = sw ? fill_rows(*sw, scratch_[slot], 0, W->size(0), W->size(1)) : *W;
    return torch::linear(x, fq_weight(W, w), b ? *b : at::Tensor());
  }
  if (!sw) return torch::linear(x, *W, b ? *b : at::Tensor());
  auto y = stored_linear(x, *sw, scratch_[slot], 0, W->size(0), W->size(1));
  return b ? y + *b : y;
}

at::Tensor Transformer::embed(const at::Tensor& tokens) const {
  const at::Tensor& W = param("embed.W_E");
  const StoredWeight* sw = stored(&W);
  if (!sw) return torch::embedding(W, tokens);
  // Only the rows of the tokens present are read from the file.
  const int64_t V = W.size(0), d = W.size(1);
  auto ids = tokens.to(torch::kCPU, torch::kInt64).contiguous();
  auto out = torch::empty({ids.numel(), d}, torch::kFloat32);
  const int64_t* id = ids.data_ptr<int64_t>();
  float* o = out.data_ptr<float>();
  for (int64_t i = 0; i < ids.numel(); ++i) {
    require(id[i] >= 0 && id[i] < V, fmt::format("token id {} is outside the model's vocabulary of {}", id[i], V));
    sw->fill(id[i], 1, o + i * d);
  }
  std::vector<int64_t> shape(tokens.sizes().begin(), tokens.sizes().end());
  shape.push_back(d);
  return out.view(shape);
}

at::Tensor Transformer::unembed(const at::Tensor& h_in) const {
  const at::Tensor& W = spec_.tied_embeddings ? param("embed.W_E") : param("unembed.W_U");
  const at::Tensor* bU = opt("unembed.b_U");
  const StoredWeight* sw = stored(&W);
  const at::Tensor h = fq_bits_ ? fq_act(h_in) : h_in;
  if (!sw) return torch::linear(h, fq_bits_ ? fq_weight(&W, W) : W, bU ? *bU : at::Tensor());
  // Blocks of vocabulary rows through one buffer of at most 4 Mi floats.
  const int64_t V = W.size(0), d = W.size(1), rows = std::max<int64_t>(1, ((int64_t)1 << 22) / d);
  std::vector<at::Tensor> parts;
  at::Tensor out;
  const bool grad = torch::GradMode::is_enabled() && h.requires_grad();
  if (!grad) {
    std::vector<int64_t> shape(h.sizes().begin(), h.sizes().end());
    shape.back() = V;
    out = torch::empty(shape, h.options());
  }
  for (int64_t r0 = 0; r0 < V; r0 += rows) {
    const int64_t n = std::min(rows, V - r0);
    auto y = fq_bits_ ? torch::linear(h, fq_weight(&W, fill_rows(*sw, scratch_[kUnembed], r0, n, d)))
                      : stored_linear(h, *sw, scratch_[kUnembed], r0, n, d);
    if (grad) parts.push_back(y);
    else out.narrow(-1, r0, n).copy_(y);
  }
  if (grad) out = torch::cat(parts, -1);
  return bU ? out + *bU : out;
}

at::Tensor Transformer::rope(const at::Tensor& x, int64_t pos_offset, bool local) const {
  // x [B, T, H, hd]; rotates the first rope_dim dims of each head by the frequencies of
  // the spec's RoPE (and scaling) for a sequence ending at pos_offset + T.
  const int64_t T = x.size(1), hd = x.size(3), rd = spec_.rope_dim;
  auto opts = x.options();
  const RopeFreqs f = rope_freqs(spec_, local, pos_offset + T);
  auto inv = torch::tensor(f.inv_freq, torch::kFloat64).to(opts.device());
  auto pos = torch::arange(pos_offset, pos_offset + T, opts.dtype(torch::kFloat64));
  auto ang = torch::outer(pos, inv);  // [T, rd/2], angles in float64
  auto cos = (ang.cos() * f.attention_factor).to(x.scalar_type()).view({1, T, 1, rd / 2});
  auto sin = (ang.sin() * f.attention_factor).to(x.scalar_type()).view({1, T, 1, rd / 2});
  auto xr = x.narrow(3, 0, rd);
  at::Tensor out;
  if (spec_.rope_interleaved) {
    auto p = xr.reshape({x.size(0), T, x.size(2), rd / 2, 2});
    auto a = p.select(4, 0), b = p.select(4, 1);
    out = torch::stack({a * cos - b * sin, a * sin + b * cos}, 4).reshape(xr.sizes());
  } else {
    auto a = xr.narrow(3, 0, rd / 2), b = xr.narrow(3, rd / 2, rd / 2);
    out = torch::cat({a * cos - b * sin, a * sin + b * cos}, 3);
  }
  if (rd == hd) return out;
  return torch::cat({out, x.narrow(3, rd, hd - rd)}, 3);
}

at::Tensor Transformer::attention(int l, const at::Tensor& x, Hooks* hooks, int64_t pos_offset) const {
  const auto& p = lp_[l];
  const auto& s = spec_;
  const int64_t B = x.size(0), T = x.size(1), H = s.n_heads, Hkv = s.kv_heads(), hd = s.hd();
  auto hook = [&](HookPoint hp, at::Tensor t) { return (hooks && hooks->active(hp, l)) ? hooks->apply(hp, l, t) : t; };
  auto q = linear(x, p.WQ, p.bQ, kQ).view({B, T, H, hd});
  auto k = linear(x, p.WK, p.bK, kK).view({B, T, Hkv, hd});
  auto v = linear(x, p.WV, p.bV, kV).view({B, T, Hkv, hd});
  if (s.qkv_clip > 0) {
    q = q.clamp(-s.qkv_clip, s.qkv_clip);
    k = k.clamp(-s.qkv_clip, s.qkv_clip);
    v = v.clamp(-s.qkv_clip, s.qkv_clip);
  }
  const AttnParams own = [&p, l](const std::string& n) -> const at::Tensor& {
    auto it = p.attn_own.find(n);
    if (it == p.attn_own.end() || !it->second) fail(fmt::format("internal: layer {} has no attention parameter '{}'", l, n));
    return *it->second;
  };
  apply_qk_norm(s, q, k, own);
  // Grouped KV heads are expanded to the query heads before the hooks (rotary acts on
  // each head alike, so expanding before or after it gives the same values).
  if (Hkv != H) {
    k = k.repeat_interleave(H / Hkv, 2);
    v = v.repeat_interleave(H / Hkv, 2);
  }
  q = hook(HookPoint::Q, q);
  k = hook(HookPoint::K, k);
  v = hook(HookPoint::V, v);
  const int window = s.layers[l].window;
  if (s.pos == PosKind::Rotary) {
    q = hook(HookPoint::RotQ, rope(q, pos_offset, window > 0));
    k = hook(HookPoint::RotK, rope(k, pos_offset, window > 0));
  }
  auto qh = q.transpose(1, 2), kh = k.transpose(1, 2), vh = v.transpose(1, 2);  // [B, H, T, hd]
  // Scaled, causally masked logits in one batched GEMM: C = mask + scale * q k^T with
  // an additive mask (0 on and below the diagonal, -inf above; in a sliding-window layer
  // also -inf from `window` positions back). The GEMM applies the scale to its
  // accumulated sums, so the values equal matmul, * scale, masked_fill, with two fewer
  // passes over the [B, H, T, T] scores (and over their gradients). Soft-capping (Gemma 2)
  // acts on the logits before the mask, so it takes the unmasked product.
  const double scale = s.attn_scale > 0 ? s.attn_scale : 1.0 / std::sqrt((double)hd);
  auto hidden = torch::ones({T, T}, torch::TensorOptions().dtype(torch::kBool).device(x.device())).triu(1);
  if (window > 0 && window < T) hidden = hidden.logical_or(torch::ones_like(hidden).tril(-window));
  auto neg = torch::zeros({T, T}, q.options()).masked_fill(hidden, -std::numeric_limits<double>::infinity());
  at::Tensor scores;
  if (s.attn_softcap > 0) {
    scores = torch::bmm(qh.reshape({B * H, T, hd}), kh.reshape({B * H, T, hd}).transpose(1, 2)) * scale;
    scores = (torch::tanh(scores / s.attn_softcap) * s.attn_softcap + neg).view({B, H, T, T});
  } else {
    scores = torch::baddbmm(neg.expand({B * H, T, T}), qh.reshape({B * H, T, hd}),
                            kh.reshape({B * H, T, hd}).transpose(1, 2), 1.0, scale)
                 .view({B, H, T, T});
  }
  scores = hook(HookPoint::AttnScores, scores);
  // bfloat16/float16 activations: the attention weights in float32 (as transformers does).
  const bool half = scores.scalar_type() == torch::kBFloat16 || scores.scalar_type() == torch::kHalf;
  auto pattern = attn_variant(s.attn).weights(s, half ? scores.to(torch::kFloat32) : scores, 0, own);
  pattern = hook(HookPoint::Pattern, pattern);
  auto z = torch::matmul(half ? pattern.to(vh.scalar_type()) : pattern, vh).transpose(1, 2);  // [B, T, H, hd]
  z = hook(HookPoint::Z, apply_attn_gate(s, z, x, own));
  return linear(z.reshape({B, T, H * hd}), p.WO, p.bO, kO);
}

at::Tensor Transformer::mlp(int l, const at::Tensor& x) const {
  const auto& p = lp_[l];
  auto h = linear(x, p.Win, p.bin, kIn);
  if (spec_.layers[l].linear_mlp) return linear(h, p.Wout, p.bout, kOut);
  switch (spec_.mlp) {
    case MlpKind::ReLU: h = torch::relu(h); break;
    case MlpKind::GELU: h = torch::gelu(h); break;
    case MlpKind::GELUTanh: h = torch::gelu(h, "tanh"); break;
    case MlpKind::SwiGLU: h = torch::silu(linear(x, p.Wgate, nullptr, kGate)) * h; break;
    case MlpKind::GeGLU: h = torch::gelu(linear(x, p.Wgate, nullptr, kGate)) * h; break;
    case MlpKind::GeGLUTanh: h = torch::gelu(linear(x, p.Wgate, nullptr, kGate), "tanh") * h; break;
    case MlpKind::Linear: break;
  }
  return linear(h, p.Wout, p.bout, kOut);
}

at::Tensor Transformer::forward(const at::Tensor& tokens, Hooks* hooks, int64_t pos_offset) const {
  const auto& s = spec_;
  require(tokens.dim() == 2, "forward: tokens must be [batch, positions]");
  const int64_t T = tokens.size(1);
  if (s.pos == PosKind::Learned)
    require(pos_offset + T <= s.n_ctx,
            fmt::format("sequence of {} tokens exceeds the model context of {}", pos_offset + T, s.n_ctx));
  auto hook = [&](HookPoint hp, int l, at::Tensor t) {
    return (hooks && hooks->active(hp, l)) ? hooks->apply(hp, l, t) : t;
  };
  const torch::Device dev(device());
  auto h = embed(tokens.device() == dev ? tokens : tokens.to(dev));
  if (s.embed_scale > 0) h = h * s.embed_scale;
  h = hook(HookPoint::Embed, -1, h);
  if (s.pos == PosKind::Learned) {
    auto pe = param("pos_embed.W_pos").narrow(0, pos_offset, T).unsqueeze(0);
    pe = hook(HookPoint::PosEmbed, -1, pe);
    h = h + pe;
  }
  return forward_from(0, h, hooks, pos_offset);
}

at::Tensor Transformer::forward_from(int layer, const at::Tensor& resid_pre, Hooks* hooks, int64_t pos_offset) const {
  const auto& s = spec_;
  require(layer >= 0 && layer <= s.n_layers,
          fmt::format("forward_from: layer {} is outside 0..{}", layer, s.n_layers));
  require(resid_pre.dim() == 3 && resid_pre.size(2) == s.d_model,
          fmt::format("forward_from: the residual stream must be [batch, positions, {}]", s.d_model));
  auto hook = [&](HookPoint hp, int l, at::Tensor t) {
    return (hooks && hooks->active(hp, l)) ? hooks->apply(hp, l, t) : t;
  };
  at::Tensor h = resid_pre;
  for (int l = layer; l < s.n_layers; ++l) {
    const auto& p = lp_[l];
    const auto& ls = s.layers[l];
    h = hook(HookPoint::ResidPre, l, h);
    if (s.parallel_attn_mlp) {
      auto out = h;
      if (ls.attn) out = out + hook(HookPoint::AttnOut, l, attention(l, apply_norm(s, h, p.ln1w, p.ln1b), hooks, pos_offset));
      if (ls.mlp) out = out + hook(HookPoint::MlpOut, l, mlp(l, apply_norm(s, h, p.ln2w, p.ln2b)));
      h = out;
    } else if (s.post_norm) {
      if (ls.attn) h = apply_norm(s, h + hook(HookPoint::AttnOut, l, attention(l, h, hooks, pos_offset)), p.ln1w, p.ln1b);
      h = hook(HookPoint::ResidMid, l, h);
      if (ls.mlp) h = apply_norm(s, h + hook(HookPoint::MlpOut, l, mlp(l, h)), p.ln2w, p.ln2b);
    } else {
      // Pre-norm (input_norm), with the sublayer's output normed too (out_norm: Gemma 2/3),
      // or only that (OLMo-2). AttnOut/MlpOut hold what is added to the residual stream.
      auto in = [&](const at::Tensor& x, const at::Tensor* w, const at::Tensor* b) {
        return s.input_norm ? apply_norm(s, x, w, b) : x;
      };
      auto out = [&](const at::Tensor& y, const at::Tensor* w, const at::Tensor* b) {
        return s.out_norm ? apply_norm(s, y, w, b) : y;
      };
      if (ls.attn)
        h = h + hook(HookPoint::AttnOut, l, out(attention(l, in(h, p.ln1w, p.ln1b), hooks, pos_offset), p.ln1pw, p.ln1pb));
      h = hook(HookPoint::ResidMid, l, h);
      if (ls.mlp) h = h + hook(HookPoint::MlpOut, l, out(mlp(l, in(h, p.ln2w, p.ln2b)), p.ln2pw, p.ln2pb));
    }
    h = hook(HookPoint::ResidPost, l, h);
  }
  if (s.final_norm) h = apply_norm(s, h, opt("ln_final.w"), opt("ln_final.b"));
  h = hook(HookPoint::FinalNorm, -1, h);
  auto logits = unembed(h);
  if (s.logit_softcap > 0) logits = torch::tanh(logits / s.logit_softcap) * s.logit_softcap;
  return logits;
}

at::Tensor Transformer::token_nll(const at::Tensor& tokens, Hooks* hooks) const {
  const int64_t T = tokens.size(1) - 1;
  auto logits = forward(tokens.narrow(1, 0, T), hooks);
  const bool half = logits.scalar_type() == torch::kBFloat16 || logits.scalar_type() == torch::kHalf;
  auto lp = torch::log_softmax(half ? logits.to(torch::kFloat32) : logits, -1);
  return -lp.gather(2, tokens.narrow(1, 1, T).to(lp.device()).unsqueeze(-1)).squeeze(-1);
}

}  // namespace sinklab

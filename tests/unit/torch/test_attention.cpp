// Attention variants with parameters of their own and the qk-norm switch, each against
// a hand computation, through the registry and through a model.
#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "io/error.h"
#include "model/attention.h"
#include "model/hooks.h"
#include "model/transformer.h"

using namespace sinklab;

namespace {

ModelSpec spec_of(const std::string& attn, const std::string& qk_norm = "none", int heads = 2, int kv_heads = 0) {
  ModelSpec s;
  s.vocab = 13;
  s.d_model = 16;
  s.n_heads = heads;
  s.n_kv_heads = kv_heads;
  s.n_layers = 2;
  s.n_ctx = 12;
  s.attn = attn;
  s.qk_norm = qk_norm;
  s.finalize();
  return s;
}

at::Tensor toks(int B, int T) {
  auto g = at::detail::createCPUGenerator(11);
  return torch::randint(13, {B, T}, g, torch::kInt64);
}

}  // namespace

TEST(Attention, RegistryNamesEveryVariantAndRejectsUnknownOnes) {
  auto names = attn_variant_names();
  for (std::string n : {"softmax", "relu", "softmax1", "sigmoid", "sink-logit", "clipped-softmax"})
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
  try {
    attn_variant("softmax2");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown attention kind 'softmax2' (valid: softmax, relu"), std::string::npos);
  }
  EXPECT_NE(attn_variants_help().find("sink-logit | clipped-softmax ("), std::string::npos);
  ModelSpec s = spec_of("softmax");
  s.qk_norm = "both";
  EXPECT_THROW(s.finalize(), InputError);
}

// w_j = exp(l_j) / (exp(s_h) + sum_k exp(l_k)) over the visible keys, by hand.
TEST(Attention, SinkLogitMatchesHandComputation) {
  const std::vector<double> sink = {0.7, -1.3};
  Transformer m(spec_of("sink-logit"));
  m.init_weights(5, InitScheme::TorchDefault);
  ASSERT_TRUE(m.has_param("blocks.0.attn.sink"));
  EXPECT_EQ(m.param("blocks.1.attn.sink").sizes(), (std::vector<int64_t>{2}));
  EXPECT_EQ(m.param("blocks.1.attn.sink").abs().max().item<double>(), 0.0);  // initialised to 0
  m.set_param("blocks.0.attn.sink", torch::tensor({sink[0], sink[1]}, torch::kFloat32));
  Hooks h;
  h.record("blocks.0.attn.hook_attn_scores");
  h.record("blocks.0.attn.hook_pattern");
  m.forward(toks(2, 9), &h);
  auto sc = h.get("blocks.0.attn.hook_attn_scores").to(torch::kFloat64);
  auto pat = h.get("blocks.0.attn.hook_pattern").to(torch::kFloat64);
  for (int b = 0; b < 2; ++b)
    for (int hd = 0; hd < 2; ++hd)
      for (int i = 0; i < 9; ++i) {
        double den = std::exp(sink[hd]);
        for (int j = 0; j <= i; ++j) den += std::exp(sc[b][hd][i][j].item<double>());
        for (int j = 0; j < 9; ++j) {
          const double want = j <= i ? std::exp(sc[b][hd][i][j].item<double>()) / den : 0.0;
          EXPECT_NEAR(pat[b][hd][i][j].item<double>(), want, 1e-6) << b << " " << hd << " " << i << " " << j;
        }
      }
  // A very negative sink logit is plain softmax: the same weights give the same logits.
  Transformer soft(spec_of("softmax"));
  for (const auto& [name, t] : soft.named_parameters()) soft.set_param(name, m.param(name));
  m.set_param("blocks.0.attn.sink", torch::full({2}, -200.0));
  m.set_param("blocks.1.attn.sink", torch::full({2}, -200.0));
  auto x = toks(2, 9);
  EXPECT_TRUE(torch::allclose(m.forward(x), soft.forward(x), 1e-5, 1e-5));
  // At 0 it is softmax-off-by-one.
  m.set_param("blocks.0.attn.sink", torch::zeros({2}));
  m.set_param("blocks.1.attn.sink", torch::zeros({2}));
  Transformer one(spec_of("softmax1"));
  for (const auto& [name, t] : one.named_parameters()) one.set_param(name, m.param(name));
  EXPECT_TRUE(torch::allclose(m.forward(x), one.forward(x), 1e-5, 1e-5));
}

// RMSNorm of q and k per head (weight [hd]) or over the whole projection (weights
// [H*hd], [Hkv*hd]), before attention: checked on the recorded q and k by hand.
TEST(Attention, QkNormMatchesHandComputation) {
  for (std::string mode : {"head", "full"}) {
    ModelSpec s = spec_of("softmax", mode, 4, 2);
    Transformer m(s);
    m.init_weights(3, InitScheme::TorchDefault);
    const int64_t hd = s.hd();
    const std::vector<int64_t> qshape = {mode == "head" ? hd : 4 * hd}, kshape = {mode == "head" ? hd : 2 * hd};
    EXPECT_EQ(m.param("blocks.0.attn.q_norm.w").sizes(), qshape) << mode;
    EXPECT_EQ(m.param("blocks.0.attn.k_norm.w").sizes(), kshape) << mode;
    EXPECT_EQ(m.param("blocks.1.attn.k_norm.w").min().item<double>(), 1.0) << mode;  // initialised to 1
    auto g = at::detail::createCPUGenerator(4);
    auto wq = torch::rand(qshape, g) + 0.5, wk = torch::rand(kshape, g) + 0.5;
    m.set_param("blocks.0.attn.q_norm.w", wq);
    m.set_param("blocks.0.attn.k_norm.w", wk);
    Hooks h;
    h.record("blocks.0.hook_resid_pre");
    h.record("blocks.0.attn.hook_q");
    h.record("blocks.0.attn.hook_k");
    auto x = toks(2, 7);
    m.forward(x, &h);
    auto ln = torch::layer_norm(h.get("blocks.0.hook_resid_pre"), {s.d_model}, m.param("blocks.0.ln1.w"),
                                m.param("blocks.0.ln1.b"), s.norm_eps);
    auto q = torch::matmul(ln, m.param("blocks.0.attn.W_Q").t()), k = torch::matmul(ln, m.param("blocks.0.attn.W_K").t());
    auto rms = [&](at::Tensor t, const at::Tensor& w) { return t * torch::rsqrt(t.pow(2).mean(-1, true) + s.norm_eps) * w; };
    at::Tensor want_q, want_k;
    if (mode == "head") {
      want_q = rms(q.view({2, 7, 4, hd}), wq);
      want_k = rms(k.view({2, 7, 2, hd}), wk);
    } else {
      want_q = rms(q, wq).view({2, 7, 4, hd});
      want_k = rms(k, wk).view({2, 7, 2, hd});
    }
    want_k = want_k.repeat_interleave(2, 2);  // the hook holds k after the GQA expansion
    EXPECT_TRUE(torch::allclose(h.get("blocks.0.attn.hook_q"), want_q, 1e-5, 1e-5)) << mode;
    EXPECT_TRUE(torch::allclose(h.get("blocks.0.attn.hook_k"), want_k, 1e-5, 1e-5)) << mode;
  }
}

// Gradients reach the variant's own parameters (the sink logit, the qk-norm weights).
TEST(Attention, OwnParametersLearn) {
  ModelSpec s = spec_of("sink-logit", "head");
  Transformer m(s);
  m.init_weights(2, InitScheme::TorchDefault);
  for (auto& p : m.parameters()) p.set_requires_grad(true);
  auto x = toks(3, 10);
  m.token_nll(x).mean().backward();
  for (std::string n : {"blocks.0.attn.sink", "blocks.1.attn.q_norm.w", "blocks.1.attn.k_norm.w"}) {
    auto g = m.param(n).grad();
    ASSERT_TRUE(g.defined()) << n;
    EXPECT_GT(g.abs().max().item<double>(), 0.0) << n;
  }
}

// TransformerLens's names: hook_q / hook_k before rotary, hook_rot_q / hook_rot_k after;
// the scores are the rotated q against the rotated k.
TEST(Attention, HookQIsBeforeRotaryAndHookRotQAfter) {
  ModelSpec s = spec_of("softmax", "none", 4, 2);
  s.pos = PosKind::Rotary;
  s.finalize();
  Transformer m(s);
  m.init_weights(9, InitScheme::TorchDefault);
  Hooks h;
  for (std::string n : {"hook_q", "hook_k", "hook_rot_q", "hook_rot_k", "hook_attn_scores"}) h.record("blocks.1.attn." + n);
  m.forward(toks(1, 6), &h);
  auto q = h.get("blocks.1.attn.hook_q"), rq = h.get("blocks.1.attn.hook_rot_q");
  auto rk = h.get("blocks.1.attn.hook_rot_k");
  EXPECT_EQ(h.get("blocks.1.attn.hook_k").sizes(), (std::vector<int64_t>{1, 6, 4, 4}));  // expanded to query heads
  EXPECT_TRUE(torch::allclose(q.select(1, 0), rq.select(1, 0)));  // position 0: rotation by 0
  EXPECT_FALSE(torch::allclose(q.select(1, 3), rq.select(1, 3), 1e-3, 1e-3));
  // Rotation keeps each head's norm.
  EXPECT_TRUE(torch::allclose(q.norm(2, -1), rq.norm(2, -1), 1e-5, 1e-5));
  auto want = torch::matmul(rq.transpose(1, 2), rk.transpose(1, 2).transpose(-1, -2)) / std::sqrt((double)s.hd());
  auto sc = h.get("blocks.1.attn.hook_attn_scores");
  auto finite = torch::isfinite(sc);
  EXPECT_TRUE(torch::allclose(sc.masked_select(finite), want.masked_select(finite), 1e-4, 1e-5));
  // Without rotary, the rotated hooks never fire.
  Transformer plain(spec_of("softmax"));
  Hooks h2;
  h2.record("blocks.0.attn.hook_rot_q");
  plain.forward(toks(1, 4), &h2);
  EXPECT_FALSE(h2.has(HookPoint::RotQ, 0));
}

// clip((zeta - gamma) p + gamma, 0, 1), gamma = -alpha / n, p the softmax over the n
// visible keys, by hand; weights below alpha / (n + alpha) (zeta = 1) are exactly 0.
TEST(Attention, ClippedSoftmaxMatchesHandComputation) {
  ModelSpec s = spec_of("clipped-softmax");
  s.clip_alpha = 1.5;
  s.clip_zeta = 1.1;
  Transformer m(s);
  m.init_weights(5, InitScheme::TorchDefault);
  Hooks h;
  h.record("blocks.0.attn.hook_attn_scores");
  h.record("blocks.0.attn.hook_pattern");
  m.forward(toks(2, 9), &h);
  auto sc = h.get("blocks.0.attn.hook_attn_scores").to(torch::kFloat64);
  auto pat = h.get("blocks.0.attn.hook_pattern").to(torch::kFloat64);
  int zeros = 0;
  for (int b = 0; b < 2; ++b)
    for (int hd = 0; hd < 2; ++hd)
      for (int i = 0; i < 9; ++i) {
        const double gamma = -1.5 / (i + 1);
        double den = 0;
        for (int j = 0; j <= i; ++j) den += std::exp(sc[b][hd][i][j].item<double>());
        for (int j = 0; j < 9; ++j) {
          double want = 0;
          if (j <= i) {
            const double p = std::exp(sc[b][hd][i][j].item<double>()) / den;
            want = std::min(1.0, std::max(0.0, (1.1 - gamma) * p + gamma));
            zeros += want == 0.0;
          }
          EXPECT_NEAR(pat[b][hd][i][j].item<double>(), want, 1e-6) << b << " " << hd << " " << i << " " << j;
        }
      }
  EXPECT_GT(zeros, 0);  // near-uniform rows at init: the clip gives exact zeros
  ModelSpec bad = spec_of("clipped-softmax");
  bad.clip_zeta = 0.5;
  EXPECT_THROW(bad.finalize(), InputError);
}

// z * sigmoid(x W_G^T) before W_O, x the attention's normed input: one gate per head
// ("head") or per element ("element"), checked on the recorded z by hand.
TEST(Attention, OutputGateMatchesHandComputation) {
  for (std::string mode : {"head", "element"}) {
    ModelSpec s = spec_of("softmax");
    s.attn_gate = mode;
    s.finalize();
    Transformer m(s), plain(spec_of("softmax"));
    m.init_weights(3, InitScheme::TorchDefault);
    const int64_t rows = mode == "head" ? 2 : 16;
    EXPECT_EQ(m.param("blocks.1.attn.W_G").sizes(), (std::vector<int64_t>{rows, 16})) << mode;
    EXPECT_GT(m.param("blocks.1.attn.W_G").abs().max().item<double>(), 0.0) << mode;  // drawn, not constant
    for (const auto& [name, t] : plain.named_parameters()) plain.set_param(name, m.param(name));
    auto x = toks(2, 7);
    Hooks h, hp;
    h.record("blocks.0.hook_resid_pre");
    h.record("blocks.0.attn.hook_z");
    hp.record("blocks.0.attn.hook_z");
    m.forward(x, &h);
    plain.forward(x, &hp);
    auto ln = torch::layer_norm(h.get("blocks.0.hook_resid_pre"), {16}, m.param("blocks.0.ln1.w"),
                                m.param("blocks.0.ln1.b"), s.norm_eps);
    auto g = torch::sigmoid(torch::matmul(ln, m.param("blocks.0.attn.W_G").t()));  // [B, T, rows]
    auto z0 = hp.get("blocks.0.attn.hook_z");                                      // ungated [B, T, H, hd]
    auto want = mode == "head" ? z0 * g.unsqueeze(-1) : z0 * g.view(z0.sizes());
    EXPECT_TRUE(torch::allclose(h.get("blocks.0.attn.hook_z"), want, 1e-5, 1e-6)) << mode;
  }
  ModelSpec bad = spec_of("softmax");
  bad.attn_gate = "channel";
  EXPECT_THROW(bad.finalize(), InputError);
}

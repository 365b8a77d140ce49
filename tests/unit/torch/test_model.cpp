// The block family: gradients, hook points, attention kinds, head overrides.
#include <cmath>

#include <gtest/gtest.h>

#include "io/error.h"
#include "model/hooks.h"
#include "model/transformer.h"

using namespace sinklab;

namespace {

ModelSpec tiny_spec(const std::string& kind = "softmax", int heads = 1, int layers = 2) {
  ModelSpec s;
  s.vocab = 11;
  s.d_model = 8;
  s.n_heads = heads;
  s.n_layers = layers;
  s.n_ctx = 16;
  s.attn = kind;
  s.finalize();
  return s;
}

at::Tensor tokens(int B, int T, int vocab, int seed) {
  auto g = at::detail::createCPUGenerator(seed);
  return torch::randint(vocab, {B, T}, g, torch::kInt64);
}

}  // namespace

TEST(Model, GradientsMatchFiniteDifferences) {
  for (const std::string& kind : attn_variant_names()) {
    Transformer m(tiny_spec(kind, 2, 2));
    m.init_weights(3);
    // Larger weights than the 0.02 init so every path (ReLU kinks aside) matters.
    {
      torch::NoGradGuard ng;
      for (auto& p : m.parameters()) p.add_(torch::randn(p.sizes()) * 0.3);
    }
    m.to("cpu", true);
    for (auto& p : m.parameters()) p.set_requires_grad(true);
    auto x = tokens(2, 7, 11, 5);
    auto loss = m.token_nll(x).mean();
    loss.backward();
    for (auto& [name, p] : m.named_parameters()) {
      auto g = p.grad();
      ASSERT_TRUE(g.defined()) << name;
      auto flat = p.view(-1);
      for (int64_t i = 0; i < std::min<int64_t>(flat.numel(), 5); ++i) {
        const int64_t j = (i * 7919) % flat.numel();
        const double h = 1e-6, old = flat[j].item<double>();
        double lp, lm, l0;
        {
          torch::NoGradGuard ng;
          l0 = m.token_nll(x).mean().item<double>();
          flat[j] = old + h;
          lp = m.token_nll(x).mean().item<double>();
          flat[j] = old - h;
          lm = m.token_nll(x).mean().item<double>();
          flat[j] = old;
        }
        // relu and clipped-softmax have kinks: where the two one-sided slopes disagree, the
        // step crossed one and the central difference means nothing there.
        const double right = (lp - l0) / h, left = (l0 - lm) / h;
        if (std::abs(right - left) > 1e-3 * (1 + std::abs(right))) continue;
        double fd = (lp - lm) / (2 * h), an = g.view(-1)[j].item<double>();
        EXPECT_NEAR(an, fd, 1e-6 + 1e-4 * std::abs(fd)) << kind << " " << name << "[" << j << "]";
      }
    }
  }
}

TEST(Model, ReluAttentionIsReluOverVisibleKeys) {
  Transformer m(tiny_spec("relu"));
  m.init_weights(1);
  {
    torch::NoGradGuard ng;
    for (auto& p : m.parameters()) p.add_(torch::randn(p.sizes()) * 0.5);
  }
  Hooks h;
  h.record("blocks.*.attn.hook_attn_scores");
  h.record("blocks.*.attn.hook_pattern");
  torch::NoGradGuard ng;
  m.forward(tokens(3, 9, 11, 2), &h);
  for (int l = 0; l < 2; ++l) {
    auto s = h.get(HookPoint::AttnScores, l), p = h.get(HookPoint::Pattern, l);
    for (int i = 0; i < 9; ++i)
      for (int j = 0; j < 9; ++j) {
        auto want = j <= i ? torch::relu(s.select(2, i).select(2, j)) / (i + 1) : torch::zeros({3, 1});
        EXPECT_TRUE(torch::allclose(p.select(2, i).select(2, j), want.view({3, 1}), 1e-6, 1e-7)) << i << "," << j;
      }
  }
}

TEST(Model, ImposedPatternEqualsHandComputation) {
  Transformer m(tiny_spec("softmax", 2, 1));
  m.init_weights(4);
  torch::NoGradGuard ng;
  const int T = 6;
  // Head 0: everything on key 0 (a sink); head 1: each query on the previous token.
  auto imposed = torch::zeros({1, 2, T, T});
  for (int i = 0; i < T; ++i) {
    imposed[0][0][i][0] = 1;
    imposed[0][1][i][std::max(0, i - 1)] = 1;
  }
  Hooks h;
  h.record(HookPoint::V, 0);
  h.record(HookPoint::Z, 0);
  h.record(HookPoint::AttnOut, 0);
  h.record(HookPoint::ResidPre, 0);
  h.add_override(HookPoint::Pattern, 0, [&](const at::Tensor&) { return imposed; });
  m.forward(tokens(1, T, 11, 8), &h);
  auto v = h.get(HookPoint::V, 0);  // [1, T, 2, 4]
  auto z = h.get(HookPoint::Z, 0);
  for (int i = 0; i < T; ++i) {
    EXPECT_TRUE(torch::allclose(z[0][i][0], v[0][0][0]));
    EXPECT_TRUE(torch::allclose(z[0][i][1], v[0][std::max(0, i - 1)][1]));
  }
  // attn_out = z W_O^T, by hand.
  auto WO = m.param("blocks.0.attn.W_O");
  auto want = torch::matmul(z.reshape({1, T, 8}), WO.t());
  EXPECT_TRUE(torch::allclose(h.get(HookPoint::AttnOut, 0), want, 1e-5, 1e-6));
  // And v itself is W_V applied to the normalised residual, by hand.
  auto x = h.get(HookPoint::ResidPre, 0);
  auto ln = torch::layer_norm(x, {8}, m.param("blocks.0.ln1.w"), m.param("blocks.0.ln1.b"), 1e-5);
  EXPECT_TRUE(torch::allclose(v.reshape({1, T, 8}), torch::matmul(ln, m.param("blocks.0.attn.W_V").t()), 1e-5, 1e-6));
}

TEST(Model, RecordingHooksLeavesOutputsUnchanged) {
  Transformer m(tiny_spec("softmax", 2, 3));
  m.init_weights(5);
  torch::NoGradGuard ng;
  auto x = tokens(2, 10, 11, 1);
  auto a = m.forward(x);
  Hooks h;
  h.record_all();
  auto b = m.forward(x, &h);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_EQ(h.records().size(), 3u + 3u * 11u);  // embed, pos, final + 11 per block
  EXPECT_EQ(h.get("blocks.2.attn.hook_pattern").sizes(), (std::vector<int64_t>{2, 2, 10, 10}));
  EXPECT_THROW(h.record("blocks.0.attn.hook_nope"), std::exception);
}

TEST(Model, ZeroingAHeadEqualsRemovingItsOutput) {
  Transformer m(tiny_spec("softmax", 2, 2));
  m.init_weights(6);
  torch::NoGradGuard ng;
  auto x = tokens(2, 9, 11, 3);
  Hooks h;
  h.add_override(HookPoint::Z, 1, [](const at::Tensor& z) {
    auto o = z.clone();
    o.select(2, 1).zero_();
    return o;
  });
  auto a = m.forward(x, &h);
  // Same model with head 1's columns of W_O removed (set to zero).
  Transformer m2(tiny_spec("softmax", 2, 2));
  for (auto& [n, p] : m.named_parameters()) m2.set_param(n, p);
  m2.param("blocks.1.attn.W_O").narrow(1, 4, 4).zero_();
  auto b = m2.forward(x);
  EXPECT_TRUE(torch::allclose(a, b, 1e-6, 1e-6));
  EXPECT_FALSE(torch::allclose(a, m.forward(x), 1e-6, 1e-6));
}

TEST(Model, SpecChecksShapes) {
  ModelSpec s = tiny_spec();
  s.d_model = 10;
  s.n_heads = 3;
  EXPECT_THROW(s.finalize(), std::exception);
  Transformer m(tiny_spec());
  EXPECT_THROW(m.set_param("embed.W_E", torch::zeros({3, 3})), std::exception);
  EXPECT_THROW(m.forward(tokens(1, 17, 11, 1)), std::exception);  // longer than the context
}

// Initial parameter moments per tensor kind, for both schemes (the toy dynamics
// depend on them: docs/results-reproduce.md).
TEST(Model, InitSchemesHaveTheirMoments) {
  ModelSpec s;
  s.vocab = 66;
  s.d_model = 64;
  s.n_layers = 3;
  s.n_heads = 1;
  s.n_ctx = 64;
  s.finalize();
  auto moments = [](const at::Tensor& t) { return std::pair<double, double>{t.mean().item<double>(), t.std().item<double>()}; };
  {
    Transformer m(s);
    m.init_weights(7, InitScheme::TorchDefault);
    for (const auto& [name, t] : m.named_parameters()) {
      auto [mean, sd] = moments(t);
      if (name == "embed.W_E" || name == "pos_embed.W_pos") {
        EXPECT_NEAR(mean, 0.0, 0.05) << name;  // N(0, 1)
        EXPECT_NEAR(sd, 1.0, 0.05) << name;
      } else if (name.size() > 2 && name.substr(name.size() - 2) == ".w") {
        EXPECT_EQ(t.min().item<double>(), 1.0) << name;
        EXPECT_EQ(t.max().item<double>(), 1.0) << name;
      } else if (name.size() > 2 && name.substr(name.size() - 2) == ".b") {
        EXPECT_EQ(t.abs().max().item<double>(), 0.0) << name;
      } else {
        // nn.Linear: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), std = bound / sqrt(3).
        ASSERT_EQ(t.dim(), 2) << name;
        const double bound = 1.0 / std::sqrt((double)t.size(1));
        EXPECT_LE(t.abs().max().item<double>(), bound) << name;
        EXPECT_GT(t.abs().max().item<double>(), 0.95 * bound) << name;
        EXPECT_NEAR(mean, 0.0, 0.1 * bound) << name;
        EXPECT_NEAR(sd, bound / std::sqrt(3.0), 0.05 * bound) << name;
      }
    }
  }
  {
    Transformer m(s);
    m.init_weights(7, InitScheme::GPT2);
    const double resid = 0.02 / std::sqrt(6.0);
    for (const auto& [name, t] : m.named_parameters()) {
      auto [mean, sd] = moments(t);
      const bool out_proj = name.find("attn.W_O") != std::string::npos || name.find("mlp.W_out") != std::string::npos;
      if (t.dim() != 2) continue;
      EXPECT_NEAR(mean, 0.0, 0.005) << name;
      EXPECT_NEAR(sd, out_proj ? resid : 0.02, 0.1 * (out_proj ? resid : 0.02)) << name;
    }
  }
  // Deterministic in the seed, different across seeds and schemes.
  Transformer a(s), b(s), c(s);
  a.init_weights(1, InitScheme::TorchDefault), b.init_weights(1, InitScheme::TorchDefault), c.init_weights(2, InitScheme::TorchDefault);
  EXPECT_TRUE(a.param("blocks.1.attn.W_Q").equal(b.param("blocks.1.attn.W_Q")));
  EXPECT_FALSE(a.param("blocks.1.attn.W_Q").equal(c.param("blocks.1.attn.W_Q")));
  EXPECT_EQ(parse_init_scheme("gpt2"), InitScheme::GPT2);
  EXPECT_THROW(parse_init_scheme("xavier"), InputError);
}

// Outlier metrics and simulated W8A8: each against a hand computation.
#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "analysis/outliers.h"
#include "io/error.h"
#include "model/hooks.h"
#include "model/transformer.h"

using namespace sinklab;

namespace {
ModelSpec small_spec() {
  ModelSpec s;
  s.vocab = 17, s.d_model = 16, s.n_heads = 2, s.n_layers = 2, s.n_ctx = 12;
  s.finalize();
  return s;
}
at::Tensor toks(int B, int T) {
  auto g = at::detail::createCPUGenerator(11);
  return torch::randint(17, {B, T}, g, torch::kInt64);
}
}  // namespace

TEST(Outliers, FakeQuantizeRoundsToTheIntegerGrid) {
  auto x = torch::tensor({-2.0, -0.01, 0.0, 0.3, 1.0}, torch::kFloat64);
  auto q = fake_quantize(x, 2.0, 8);  // scale 2 / 127
  const double sc = 2.0 / 127;
  for (int i = 0; i < 5; ++i)
    EXPECT_NEAR(q[i].item<double>(), std::round(x[i].item<double>() / sc) * sc, 1e-12) << i;
  // Values beyond max_abs clip to +-127 steps; 2 bits: the grid {-1, 0, 1} * max.
  EXPECT_NEAR(fake_quantize(torch::tensor({5.0}, torch::kFloat64), 2.0, 8).item<double>(), 2.0, 1e-12);
  EXPECT_NEAR(fake_quantize(torch::tensor({0.7}, torch::kFloat64), 1.0, 2).item<double>(), 1.0, 1e-12);
}

TEST(Outliers, KurtosisOfKnownVectors) {
  // +-1 alternating: every deviation is 1, kurtosis 1; one spike among n zeros:
  // (n - 1)^3 / n + ... = (n^2 - 3n + 3) / (n - 1) by hand for n = 8: 43 / 7.
  EXPECT_NEAR(mean_token_kurtosis(torch::tensor({1.0, -1.0, 1.0, -1.0}).view({1, 4})), 1.0, 1e-12);
  // a constant token (a zero attention output) has no kurtosis and is left out of the mean
  EXPECT_NEAR(mean_token_kurtosis(torch::tensor({1.0, -1.0, 1.0, -1.0, 0.0, 0.0, 0.0, 0.0}).view({2, 4})), 1.0, 1e-12);
  EXPECT_TRUE(std::isnan(mean_token_kurtosis(torch::zeros({3, 4}))));
  auto spike = torch::zeros({1, 8}, torch::kFloat64);
  spike[0][3] = 5.0;
  EXPECT_NEAR(mean_token_kurtosis(spike), 43.0 / 7.0, 1e-9);
  auto g = at::detail::createCPUGenerator(2);
  EXPECT_NEAR(mean_token_kurtosis(torch::randn({64, 4096}, g)), 3.0, 0.05);
}

TEST(Outliers, W8A8QuantisesEveryLinearAndSwitchesOff) {
  Transformer m(small_spec());
  m.init_weights(4, InitScheme::TorchDefault);
  auto x = toks(3, 9);
  torch::NoGradGuard ng;
  auto ref = m.forward(x);
  // By hand: layer 0's queries from the int8 grid of its normed input and of W_Q.
  m.set_fake_quant(8);
  Hooks h;
  h.record("blocks.0.hook_resid_pre");
  h.record("blocks.0.attn.hook_q");
  auto q8 = m.forward(x, &h);
  auto ln = torch::layer_norm(h.get("blocks.0.hook_resid_pre"), {16}, m.param("blocks.0.ln1.w"),
                              m.param("blocks.0.ln1.b"), 1e-5);
  auto W = m.param("blocks.0.attn.W_Q");
  auto want = torch::linear(fake_quantize(ln, ln.abs().max().item<double>(), 8),
                            fake_quantize(W, W.abs().max().item<double>(), 8), m.param("blocks.0.attn.W_Q").new_zeros({16}));
  EXPECT_TRUE(torch::allclose(h.get("blocks.0.attn.hook_q").reshape({3, 9, 16}), want, 1e-5, 1e-6));
  const double d8 = (q8 - ref).abs().max().item<double>();
  EXPECT_GT(d8, 0.0);
  m.set_fake_quant(16);
  EXPECT_LT((m.forward(x) - ref).abs().max().item<double>(), d8 / 50);
  m.set_fake_quant(0);
  EXPECT_TRUE(torch::equal(m.forward(x), ref));
  EXPECT_THROW(m.set_fake_quant(1), InputError);
}

TEST(Outliers, MeasureOutliersPerLayer) {
  Transformer m(small_spec());
  m.init_weights(4, InitScheme::TorchDefault);
  auto x = toks(4, 11);
  Hooks h;
  h.record("blocks.1.hook_resid_post");
  m.forward(x.narrow(1, 0, 10), &h);
  auto r = h.get("blocks.1.hook_resid_post").abs().flatten();
  auto o = measure_outliers(m, x);
  ASSERT_EQ(o.layers.size(), 2u);
  EXPECT_NEAR(o.layers[1].max_abs, r.max().item<double>(), 1e-6);
  EXPECT_NEAR(o.layers[1].median_abs, r.median().item<double>(), 1e-6);
  EXPECT_NEAR(o.max_over_median, std::max(o.layers[0].max_over_median, o.layers[1].max_over_median), 1e-12);
  EXPECT_NEAR(o.loss, m.token_nll(x).mean().item<double>(), 1e-6);
  EXPECT_TRUE(std::isfinite(o.w8a8_increase));
  EXPECT_EQ(m.fake_quant_bits(), 0);
  EXPECT_GT(o.kurtosis_resid, 1.0);
}

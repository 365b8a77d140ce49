// The shared extreme-token definitions (src/analysis/sink_metrics.h) against hand
// computations, and the shared interventions (src/analysis/interventions.h) at a sink
// position other than 0 and on one batch element.
#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "analysis/interventions.h"
#include "analysis/sink_metrics.h"
#include "io/error.h"
#include "model/transformer.h"

using namespace sinklab;

TEST(SinkMetrics, MassIsTheSinkColumn) {
  auto p = torch::rand({2, 3, 5, 5}, torch::kFloat64);
  auto m = sink::mass(p, 2);
  ASSERT_EQ(m.sizes(), (std::vector<int64_t>{2, 3, 5}));
  EXPECT_DOUBLE_EQ(m[1][2][4].item<double>(), p[1][2][4][2].item<double>());
}

TEST(SinkMetrics, LogitGapByHand) {
  // Causal scores of 4 queries; -inf above the diagonal.
  const double inf = std::numeric_limits<double>::infinity();
  auto s = torch::tensor({3.0, -inf, -inf, -inf,   //
                          1.0, 2.0, -inf, -inf,    //
                          4.0, 0.0, 1.0, -inf,     //
                          2.0, 5.0, -1.0, 3.0},
                         torch::kFloat64)
               .view({4, 4});
  auto g0 = sink::logit_gap(s, 0);
  EXPECT_DOUBLE_EQ(g0[0].item<double>(), 3.0);              // sees only the sink
  EXPECT_DOUBLE_EQ(g0[1].item<double>(), 1.0 - 2.0);
  EXPECT_DOUBLE_EQ(g0[2].item<double>(), 4.0 - 0.5);
  EXPECT_DOUBLE_EQ(g0[3].item<double>(), 2.0 - 7.0 / 3.0);
  auto g1 = sink::logit_gap(s, 1);
  EXPECT_DOUBLE_EQ(g1[3].item<double>(), 5.0 - 4.0 / 3.0);  // others: 2, -1, 3
  EXPECT_DOUBLE_EQ(g1[2].item<double>(), 0.0 - 2.5);
}

TEST(SinkMetrics, NormsAtTheSinkAndElsewhere) {
  auto x = torch::zeros({2, 3, 2}, torch::kFloat64);  // [B, T, D]
  x[0][0] = torch::tensor({3.0, 4.0}, torch::kFloat64);   // 5
  x[0][1] = torch::tensor({0.0, 1.0}, torch::kFloat64);   // 1
  x[0][2] = torch::tensor({0.0, 3.0}, torch::kFloat64);   // 3
  x[1][1] = torch::tensor({6.0, 8.0}, torch::kFloat64);   // 10
  auto r = sink::norms_at_sink(x, 1, 1);
  EXPECT_DOUBLE_EQ(r.sink[0].item<double>(), 1.0);
  EXPECT_DOUBLE_EQ(r.other[0].item<double>(), 4.0);
  EXPECT_DOUBLE_EQ(r.sink[1].item<double>(), 10.0);
  EXPECT_DOUBLE_EQ(r.other[1].item<double>(), 0.0);
}

TEST(Interventions, NamesRoundTripAndUnknownNamesAreInputErrors) {
  for (auto k : all_interventions()) EXPECT_EQ(parse_intervention(intervention_name(k)), k);
  EXPECT_THROW(parse_intervention("attend-bos"), InputError);
  EXPECT_NE(intervention_names().find("attend-sink"), std::string::npos);
}

// At sink position P on one batch element: attend-sink + zero-sink-value zero the
// head's output at queries q >= P of that element and leave everything else alone.
TEST(Interventions, SinkPositionAndBatchElement) {
  ModelSpec s;
  s.vocab = 11, s.d_model = 16, s.n_layers = 1, s.n_heads = 2, s.n_ctx = 8;
  s.finalize();
  Transformer m(s);
  m.init_weights(3);
  auto x = torch::randint(0, 11, {3, 8}, torch::kInt64);
  torch::NoGradGuard ng;
  Hooks base;
  base.record(HookPoint::Z, 0);
  m.forward(x, &base);
  auto z0 = base.get(HookPoint::Z, 0);  // [B, T, H, hd]
  const int P = 3;
  Hooks h;
  InterventionSite site{{0, 1}, P, {}, 1, {}};
  add_intervention(h, Intervention::AttendSink, site);
  add_intervention(h, Intervention::ZeroSinkValue, site);
  h.record(HookPoint::Z, 0);
  m.forward(x, &h);
  auto z = h.get(HookPoint::Z, 0);
  EXPECT_LT(z[1].select(1, 1).narrow(0, P, 8 - P).abs().max().item<double>(), 1e-6);
  EXPECT_TRUE(torch::allclose(z[1].select(1, 1).narrow(0, 0, P), z0[1].select(1, 1).narrow(0, 0, P)));
  EXPECT_TRUE(torch::allclose(z[0], z0[0]));
  EXPECT_TRUE(torch::allclose(z[2], z0[2]));
  EXPECT_TRUE(torch::allclose(z[1].select(1, 0), z0[1].select(1, 0)));
}

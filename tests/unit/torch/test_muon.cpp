// Muon: the Newton-Schulz map orthogonalises, one step matches a hand computation, the
// non-matrix parameters follow AdamW exactly, and the state file round-trips.
#include <cmath>
#include <sstream>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "train/muon.h"

using namespace sinklab;

TEST(Muon, NewtonSchulzPushesSingularValuesTowardsOne) {
  auto gen = at::detail::createCPUGenerator(3);
  for (auto shape : {std::vector<int64_t>{16, 16}, {24, 8}, {8, 40}}) {
    auto g = torch::randn(shape, gen) * 5.0;
    auto o = newton_schulz(g);
    auto sv = torch::linalg_svdvals(o);
    EXPECT_GT(sv.min().item<double>(), 0.6) << shape[0] << "x" << shape[1];
    EXPECT_LT(sv.max().item<double>(), 1.25) << shape[0] << "x" << shape[1];
    // Same singular vectors: o and g's polar factor U V^T agree in direction.
    auto svd = torch::linalg_svd(g, false);
    auto polar = torch::matmul(std::get<0>(svd), std::get<2>(svd));
    const double cos = (o * polar).sum().item<double>() / (o.norm().item<double>() * polar.norm().item<double>());
    EXPECT_GT(cos, 0.97) << shape[0] << "x" << shape[1];
  }
}

TEST(Muon, OneStepMatchesHandComputationAndAdamWForTheRest) {
  auto gen = at::detail::createCPUGenerator(5);
  auto W = torch::randn({6, 4}, gen).set_requires_grad(true);  // a block matrix: Muon
  auto b = torch::randn({4}, gen).set_requires_grad(true);     // not a matrix: AdamW
  auto E = torch::randn({5, 4}, gen).set_requires_grad(true);  // embedding: AdamW
  auto W0 = W.detach().clone(), b0 = b.detach().clone(), E0 = E.detach().clone();
  MuonSettings s;
  s.lr = 0.05, s.momentum = 0.9, s.adam_lr = 0.01, s.weight_decay = 0.1;
  Muon opt({{"blocks.0.attn.W_Q", W}, {"blocks.0.ln1.b", b}, {"embed.W_E", E}}, s);
  auto ref_b = b0.clone().set_requires_grad(true), ref_E = E0.clone().set_requires_grad(true);
  torch::optim::AdamW ref({ref_b, ref_E}, torch::optim::AdamWOptions(0.01).betas({0.9, 0.95}).eps(1e-8).weight_decay(0.1));
  at::Tensor buf = torch::zeros_like(W0), Wh = W0.clone();
  for (int step = 0; step < 3; ++step) {
    auto x = torch::randn({3, 4}, gen);
    opt.zero_grad();
    ref.zero_grad();
    (torch::matmul(x, W.t()).pow(2).sum() + (x * b).sum() + (E * E).sum()).backward();
    (torch::matmul(x, Wh.t()).pow(2).sum() + (x * ref_b).sum() + (ref_E * ref_E).sum()).backward();
    // By hand: Nesterov momentum, orthogonalised, scaled by sqrt(rows / cols), decoupled decay.
    auto gW = 2 * torch::matmul(torch::matmul(x, Wh.t()).t(), x);
    buf = 0.9 * buf + gW;
    auto u = newton_schulz(gW + 0.9 * buf);
    Wh = Wh * (1 - 0.05 * 0.1) - 0.05 * std::sqrt(6.0 / 4.0) * u;
    opt.step();
    ref.step();
    EXPECT_TRUE(torch::allclose(W.detach(), Wh, 1e-5, 1e-5)) << step;
    EXPECT_TRUE(torch::equal(b.detach(), ref_b.detach())) << step;
    EXPECT_TRUE(torch::equal(E.detach(), ref_E.detach())) << step;
  }
  // The scheduled lr: AdamW gets it, the matrices lr * (muon lr / adam lr).
  opt.set_lr(0.002);
  EXPECT_DOUBLE_EQ(static_cast<torch::optim::SGDOptions&>(opt.param_groups()[0].options()).lr(), 0.01);
  // State round trip: a fresh optimizer loaded from the archive continues identically.
  std::stringstream ss;
  torch::save(opt, ss);
  auto W2 = W.detach().clone().set_requires_grad(true), b2 = b.detach().clone().set_requires_grad(true),
       E2 = E.detach().clone().set_requires_grad(true);
  Muon opt2({{"blocks.0.attn.W_Q", W2}, {"blocks.0.ln1.b", b2}, {"embed.W_E", E2}}, s);
  torch::load(opt2, ss);
  opt2.set_lr(0.002);
  auto x = torch::randn({3, 4}, gen);
  for (auto* o : {&opt, &opt2}) o->zero_grad();
  (torch::matmul(x, W.t()).pow(2).sum() + (x * b).sum() + (E * E).sum()).backward();
  (torch::matmul(x, W2.t()).pow(2).sum() + (x * b2).sum() + (E2 * E2).sum()).backward();
  opt.step();
  opt2.step();
  EXPECT_TRUE(torch::equal(W.detach(), W2.detach()));
  EXPECT_TRUE(torch::equal(b.detach(), b2.detach()));
}

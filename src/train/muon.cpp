#include "train/muon.h"

#include <cmath>

#include <fmt/format.h>
#include <torch/torch.h>

namespace sinklab {

at::Tensor newton_schulz(const at::Tensor& g, int steps) {
  // Quintic iteration X <- a X + (b A + c A^2) X, A = X X^T, with the coefficients of
  // Jordan et al. (a, b, c) = (3.4445, -4.7750, 2.0315), chosen for a steep slope at 0.
  const double a = 3.4445, b = -4.7750, c = 2.0315;
  at::Tensor x = g.to(torch::kFloat32);
  const bool tall = x.size(0) > x.size(1);
  if (tall) x = x.t();
  x = x / (x.norm() + 1e-7);
  for (int i = 0; i < steps; ++i) {
    auto A = torch::matmul(x, x.t());
    auto B = b * A + c * torch::matmul(A, A);
    x = a * x + torch::matmul(B, x);
  }
  if (tall) x = x.t();
  return x.to(g.scalar_type());
}

bool muon_matrix(const std::string& name, const at::Tensor& p) {
  return p.dim() == 2 && name.rfind("blocks.", 0) == 0;
}

namespace {
std::vector<torch::optim::OptimizerParamGroup> groups(const std::vector<std::pair<std::string, at::Tensor>>& named,
                                                      const MuonSettings& s) {
  std::vector<at::Tensor> mats, rest;
  for (const auto& [n, p] : named) (muon_matrix(n, p) ? mats : rest).push_back(p);
  std::vector<torch::optim::OptimizerParamGroup> g;
  g.emplace_back(mats, std::make_unique<torch::optim::SGDOptions>(
                           torch::optim::SGDOptions(s.lr).momentum(s.momentum).nesterov(true).weight_decay(s.weight_decay)));
  g.emplace_back(rest, std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(s.adam_lr)
                                                                        .betas({s.beta1, s.beta2})
                                                                        .eps(s.eps)
                                                                        .weight_decay(s.weight_decay)));
  return g;
}
}  // namespace

Muon::Muon(const std::vector<std::pair<std::string, at::Tensor>>& named, const MuonSettings& s)
    : torch::optim::Optimizer(groups(named, s), std::make_unique<torch::optim::SGDOptions>(s.lr)), s_(s) {
  for (const auto& p : param_groups()[0].params()) bufs_.push_back(torch::zeros_like(p));
  adam_ = std::make_unique<torch::optim::AdamW>(
      param_groups()[1].params(),
      torch::optim::AdamWOptions(s.adam_lr).betas({s.beta1, s.beta2}).eps(s.eps).weight_decay(s.weight_decay));
}

void Muon::set_lr(double lr) {
  const double ratio = s_.lr / s_.adam_lr;
  static_cast<torch::optim::SGDOptions&>(param_groups()[0].options()).lr(lr * ratio);
  static_cast<torch::optim::AdamWOptions&>(param_groups()[1].options()).lr(lr);
  for (auto& g : adam_->param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
}

at::Tensor Muon::step(LossClosure closure) {
  at::Tensor loss;
  if (closure) {
    torch::AutoGradMode on(true);
    loss = closure();
  }
  torch::NoGradGuard ng;
  const auto& o = static_cast<const torch::optim::SGDOptions&>(param_groups()[0].options());
  const double lr = o.lr(), mu = o.momentum(), wd = o.weight_decay();
  auto& ps = param_groups()[0].params();
  for (size_t i = 0; i < ps.size(); ++i) {
    auto& p = ps[i];
    if (!p.grad().defined()) continue;
    const at::Tensor& g = p.grad();
    bufs_[i].mul_(mu).add_(g);
    auto u = newton_schulz(g + mu * bufs_[i], s_.ns_steps);
    // Scaled so that a tall matrix's update has the RMS of a square one's.
    const double scale = std::sqrt(std::max(1.0, (double)p.size(0) / (double)p.size(1)));
    if (wd != 0) p.mul_(1.0 - lr * wd);
    p.add_(u, -lr * scale);
  }
  adam_->step();
  return loss;
}

void Muon::save(torch::serialize::OutputArchive& archive) const {
  for (size_t i = 0; i < bufs_.size(); ++i) archive.write(fmt::format("muon.momentum.{}", i), bufs_[i], true);
  torch::serialize::OutputArchive sub;
  adam_->save(sub);
  archive.write("muon.adamw", sub);
}

void Muon::load(torch::serialize::InputArchive& archive) {
  for (size_t i = 0; i < bufs_.size(); ++i) {
    at::Tensor t;
    archive.read(fmt::format("muon.momentum.{}", i), t, true);
    TORCH_CHECK(t.sizes() == bufs_[i].sizes(), "muon momentum ", i, " has the wrong shape");
    bufs_[i].copy_(t);
  }
  torch::serialize::InputArchive sub;
  archive.read("muon.adamw", sub);
  adam_->load(sub);
}

}  // namespace sinklab

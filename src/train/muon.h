// Muon (Jordan et al. 2024): SGD with Nesterov momentum whose update of each hidden
// weight matrix is orthogonalised by a Newton-Schulz iteration (its singular values pushed
// towards 1) before it is applied; every other parameter (embeddings, unembedding, norms,
// biases, per-head scalars) is trained by AdamW. Two parameter groups on one optimizer:
// group 0, the matrices (SGDOptions: lr, momentum, weight_decay), and group 1, the rest
// (AdamWOptions), so zero_grad and the state file cover both.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include <torch/optim/adamw.h>
#include <torch/optim/optimizer.h>
#include <torch/optim/sgd.h>

namespace sinklab {

struct MuonSettings {
  double lr = 0.02, momentum = 0.95;           // the matrices
  double adam_lr = 3e-4, beta1 = 0.9, beta2 = 0.95, eps = 1e-8;  // the rest
  double weight_decay = 0;                     // decoupled, on both groups
  int ns_steps = 5;
};

// The orthogonalised direction of G (2-D): five quintic Newton-Schulz steps on
// G / ||G||_F, which leave the singular vectors and map the singular values into about
// [0.7, 1.2]. Exposed for its test.
at::Tensor newton_schulz(const at::Tensor& g, int steps = 5);

// Which parameters Muon treats as matrices: 2-D weights inside the blocks.
bool muon_matrix(const std::string& name, const at::Tensor& p);

class Muon : public torch::optim::Optimizer {
 public:
  Muon(const std::vector<std::pair<std::string, at::Tensor>>& named_params, const MuonSettings& s);
  at::Tensor step(LossClosure closure = nullptr) override;
  void save(torch::serialize::OutputArchive& archive) const override;
  void load(torch::serialize::InputArchive& archive) override;
  // lr: the schedule's value for the AdamW group; the matrices get lr * (muon lr / adam lr).
  void set_lr(double lr);

 private:
  MuonSettings s_;
  std::vector<at::Tensor> bufs_;               // momentum of each matrix
  std::unique_ptr<torch::optim::AdamW> adam_;  // the rest, over group 1's tensors
};

}  // namespace sinklab

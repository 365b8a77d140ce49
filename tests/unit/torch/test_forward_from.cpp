// Transformer::forward_from: the rest of the forward from a recorded residual stream
// equals the whole forward, at every layer, for a sequential and a parallel-residual
// model; an ablation started from the prefix equals one over the whole forward.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "analysis/interventions.h"
#include "io/error.h"
#include "model/hooks.h"
#include "model/transformer.h"

using namespace sinklab;

namespace {
void check(bool parallel) {
  ModelSpec s;
  s.vocab = 31, s.d_model = 24, s.n_layers = 4, s.n_heads = 3, s.n_ctx = 16;
  s.parallel_attn_mlp = parallel;
  s.finalize();
  Transformer m(s);
  m.init_weights(11);
  torch::NoGradGuard ng;
  auto x = torch::randint(0, 31, {2, 12}, torch::kInt64);
  Hooks rec;
  rec.record(HookPoint::ResidPre);
  auto full = m.forward(x, &rec);
  for (int l = 0; l < s.n_layers; ++l)
    EXPECT_TRUE(torch::allclose(m.forward_from(l, rec.get(HookPoint::ResidPre, l)), full, 1e-5, 1e-6)) << "layer " << l;
  // Zero-head of L2H1: from the prefix == over the whole forward.
  Hooks a, b;
  InterventionSite site;
  site.head = {2, 1};
  add_intervention(a, Intervention::ZeroHead, site);
  add_intervention(b, Intervention::ZeroHead, site);
  auto whole = m.forward(x, &a);
  EXPECT_TRUE(torch::allclose(m.forward_from(2, rec.get(HookPoint::ResidPre, 2), &b), whole, 1e-5, 1e-6));
  EXPECT_FALSE(torch::allclose(whole, full, 1e-5, 1e-6));
  EXPECT_THROW(m.forward_from(5, rec.get(HookPoint::ResidPre, 0)), InputError);
}
}  // namespace

TEST(ForwardFrom, EqualsTheWholeForward) { check(false); }
TEST(ForwardFrom, EqualsTheWholeForwardParallelResidual) { check(true); }

// Toy metrics and interventions on hand-built heads with known patterns.
#include <fstream>
#include <cmath>
#include <filesystem>

#include <gtest/gtest.h>

#include "analysis/toy_metrics.h"
#include "model/transformer.h"
#include "report/reproduce.h"

using namespace sinklab;

namespace {

struct Fixture {
  std::unique_ptr<BBTask> task;
  std::unique_ptr<Transformer> model;
  EvalBatch eval;
  Fixture() {
    TaskConfig c;
    c.seq_len = 24;
    task = std::make_unique<BBTask>(BigramSource::synthetic(), c);
    ModelSpec s;
    s.vocab = task->vocab_size();
    s.d_model = 16;
    s.n_layers = 1;
    s.n_ctx = 24;
    s.finalize();
    model = std::make_unique<Transformer>(s);
    model->init_weights(2);
    eval = make_eval_batch(*task, 16, 5);
  }
};

at::Tensor fixed_pattern(int T, bool bos) {
  auto p = torch::zeros({T, T});
  for (int q = 0; q < T; ++q) p[q][bos ? 0 : std::max(0, q - 1)] = 1;
  return p;
}

}  // namespace

TEST(ToyMetrics, UniformHeadGivesExactMassesAndZeroGap) {
  Fixture f;
  f.model->param("blocks.0.attn.W_Q").zero_();  // all logits 0: uniform attention
  auto m = measure_toy(*f.model, f.eval);
  ASSERT_EQ(m.heads.size(), 1u);
  // Exact expectation: query q sees q+1 keys, so BOS mass and previous mass are 1/(q+1).
  const int64_t T = f.eval.is_trigger.size(1);
  double sn = 0, nn = 0, st = 0, nt = 0;
  for (int64_t b = 0; b < f.eval.is_trigger.size(0); ++b)
    for (int64_t q = 1; q < T; ++q) {
      bool trig = f.eval.is_trigger[b][q].item<bool>();
      (trig ? st : sn) += 1.0 / (q + 1);
      (trig ? nt : nn) += 1;
    }
  EXPECT_NEAR(m.heads[0].bos_mass_nontrigger, sn / nn, 1e-6);
  EXPECT_NEAR(m.heads[0].bos_mass_trigger, st / nt, 1e-6);
  EXPECT_NEAR(m.heads[0].prev_mass_trigger, st / nt, 1e-6);
  EXPECT_NEAR(m.heads[0].gap_mean, 0.0, 1e-9);
  EXPECT_NEAR(m.heads[0].gap_std, 0.0, 1e-9);
  EXPECT_FALSE(m.heads[0].dormant_nontrigger);
}

TEST(ToyMetrics, BosOnlyAndPreviousOnlyHeads) {
  Fixture f;
  const int T = 24;
  for (bool bos : {true, false}) {
    Hooks h;
    auto pat = fixed_pattern(T, bos);
    h.add_override(HookPoint::Pattern, 0, [&](const at::Tensor& p) { return pat.expand_as(p).contiguous(); });
    auto m = measure_toy(*f.model, f.eval, 0.5, &h);
    const auto& hm = m.heads[0];
    if (bos) {
      EXPECT_DOUBLE_EQ(hm.bos_mass_nontrigger, 1.0);
      EXPECT_DOUBLE_EQ(hm.bos_mass_trigger, 1.0);
      EXPECT_DOUBLE_EQ(hm.prev_mass_trigger, 0.0);  // triggers never sit at position 1
      EXPECT_TRUE(hm.dormant_nontrigger && hm.dormant_trigger);
    } else {
      EXPECT_DOUBLE_EQ(hm.prev_mass_trigger, 1.0);
      EXPECT_DOUBLE_EQ(hm.bos_mass_trigger, 0.0);
      EXPECT_FALSE(hm.dormant_trigger);
    }
  }
  // Value norms by hand: v = W_V LN(x) at the BOS position.
  Hooks rec;
  rec.record(HookPoint::ResidPre, 0);
  auto m = measure_toy(*f.model, f.eval, 0.5, &rec);
  auto x = rec.get(HookPoint::ResidPre, 0);
  auto ln = torch::layer_norm(x, {16}, f.model->param("blocks.0.ln1.w"), f.model->param("blocks.0.ln1.b"), 1e-5);
  auto v = torch::matmul(ln, f.model->param("blocks.0.attn.W_V").t()).norm(2, -1).to(torch::kFloat64);
  EXPECT_NEAR(m.heads[0].v_bos_norm, v.select(1, 0).mean().item<double>(), 1e-5);
  EXPECT_NEAR(m.heads[0].v_other_norm, v.narrow(1, 1, 23).mean().item<double>(), 1e-5);
}

TEST(ToyMetrics, InterventionsEqualHandComputations) {
  Fixture f;
  torch::NoGradGuard ng;
  auto all = role_mask(f.eval, Role::All);
  // Zeroing the head everywhere == the model without W_O.
  Hooks z;
  add_intervention(z, Intervention::ZeroHead, InterventionSite{{0, 0}, 0, all, -1, f.eval.is_trigger});
  auto a = f.model->token_nll(f.eval.tokens, &z);
  Transformer m2(f.model->spec());
  for (auto& [n, p] : f.model->named_parameters()) m2.set_param(n, p);
  m2.param("blocks.0.attn.W_O").zero_();
  EXPECT_TRUE(torch::allclose(a, m2.token_nll(f.eval.tokens), 1e-5, 1e-6));
  // Attend-BOS everywhere == imposing the BOS pattern directly.
  Hooks b, b2;
  add_intervention(b, Intervention::AttendSink, InterventionSite{{0, 0}, 0, all, -1, f.eval.is_trigger});
  auto pat = fixed_pattern(24, true);
  b2.add_override(HookPoint::Pattern, 0, [&](const at::Tensor& p) { return pat.expand_as(p).contiguous(); });
  EXPECT_TRUE(torch::allclose(f.model->token_nll(f.eval.tokens, &b), f.model->token_nll(f.eval.tokens, &b2)));
  // Attend-BOS plus zero-BOS-value everywhere == zeroing the head.
  Hooks bz;
  add_intervention(bz, Intervention::AttendSink, InterventionSite{{0, 0}, 0, all, -1, f.eval.is_trigger});
  add_intervention(bz, Intervention::ZeroSinkValue, InterventionSite{{0, 0}, 0, all, -1, f.eval.is_trigger});
  EXPECT_TRUE(torch::allclose(f.model->token_nll(f.eval.tokens, &bz), a, 1e-5, 1e-6));
  // Oracle pattern: previous token at trigger queries, BOS elsewhere, by hand.
  Hooks o, o2;
  add_intervention(o, Intervention::OraclePattern, InterventionSite{{0, 0}, 0, all, -1, f.eval.is_trigger});
  auto trig = f.eval.is_trigger;
  o2.add_override(HookPoint::Pattern, 0, [&](const at::Tensor& p) {
    auto out = torch::zeros_like(p);
    for (int64_t bb = 0; bb < p.size(0); ++bb)
      for (int64_t q = 0; q < p.size(2); ++q) out[bb][0][q][trig[bb][q].item<bool>() ? q - 1 : 0] = 1;
    return out;
  });
  EXPECT_TRUE(torch::allclose(f.model->token_nll(f.eval.tokens, &o), f.model->token_nll(f.eval.tokens, &o2)));
  // Restricting to non-trigger queries leaves trigger-position outputs untouched.
  auto r = run_intervention(*f.model, f.eval, Intervention::ZeroHead, 0, 0, Role::NonTrigger);
  EXPECT_NEAR(r.after.loss_trigger, r.base.loss_trigger, 1e-9);
  EXPECT_THROW(run_intervention(*f.model, f.eval, Intervention::ZeroHead, 0, 3, Role::All), std::exception);
}

TEST(Reproduce, UntrainedModelsFailTheirClaims) {
  auto out = std::filesystem::temp_directory_path() / ("sinklab_repro_" + std::to_string(::getpid()));
  std::filesystem::remove_all(out);
  ReproduceOptions o;
  o.out = out.string();
  o.progress = false;
  o.sets = {"train.steps=20", "checkpoints.dense_every=10", "model.d_model=16", "train.batch_size=8",
            "data.seq_len=24"};
  // Three seeds: with two, the t interval (t = 12.7) is too wide to decide even an
  // untrained model's value ratio of ~1 against 0.3 (the default, 8, costs more here).
  o.seeds = 3;
  auto r = reproduce(o);
  ASSERT_EQ(r.claims.size(), 7u);
  for (auto& c : r.claims) {
    EXPECT_EQ(c.seeds, (std::vector<int64_t>{0, 1, 2})) << c.id;
    ASSERT_FALSE(c.measures.empty()) << c.id;
    for (auto& m : c.measures) EXPECT_EQ(m.per_seed.size(), 3u) << c.id << " " << m.name;
  }
  for (int s = 0; s < 3; ++s)
    EXPECT_TRUE(std::filesystem::exists(out / "runs" / ("sgd-3l-s" + std::to_string(s)) / "analysis" / "heads.csv"));
  // No sink, no backcopy: these fail outright. The value ratio of an untrained d = 16
  // head scatters widely around 1 across seeds (torch-default init), so C2 may only be
  // inconclusive, but never passes.
  for (auto& c : r.claims) {
    if (c.id == "C1" || c.id == "C4" || c.id == "C5")
      EXPECT_EQ(c.verdict, report::Verdict::FAIL) << c.id << ": " << c.note;
    if (c.id == "C2") {
      EXPECT_NE(c.verdict, report::Verdict::PASS) << c.note;
      EXPECT_GT(c.measures[0].median, 0.3);
    }
  }
  EXPECT_TRUE(std::filesystem::exists(r.report_path));
  EXPECT_TRUE(std::filesystem::exists(r.claims_path));
  std::filesystem::remove_all(out);
}

// A source whose characters are hostile to plotting programs (%, quotes, backquotes,
// backslashes) still ends in a report and claims (they reach gnuplot as token labels).
TEST(Reproduce, HostileTokenLabelsStillGiveAReport) {
  auto out = std::filesystem::temp_directory_path() / ("sinklab_repro_pct_" + std::to_string(::getpid()));
  std::filesystem::remove_all(out);
  std::filesystem::create_directories(out);
  std::string text;
  for (int i = 0; i < 200; ++i) text += "Sales grew 50% in `2020`; \"it's\" a 100%% \\ rise @{x}_^ & $HOME %d %s\n";
  { std::ofstream f(out / "text.txt"); f << text; }
  ReproduceOptions o;
  o.out = (out / "r").string();
  o.progress = false;
  o.seeds = 2;
  o.source = "text:" + (out / "text.txt").string();
  o.sets = {"train.steps=10", "checkpoints.dense_every=5", "model.d_model=16", "train.batch_size=8",
            "data.seq_len=24"};
  auto r = reproduce(o);
  EXPECT_TRUE(std::filesystem::exists(r.report_path));
  EXPECT_TRUE(std::filesystem::exists(r.claims_path));
  for (auto& w : r.warnings) ADD_FAILURE() << "figure warning: " << w;
  std::filesystem::remove_all(out);
}

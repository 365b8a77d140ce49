// llm scan on SmolLM2-135M (skipped when the model is not in the cache): measures
// are in range, the scan is deterministic, ablations equal hand computations.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>

#include "smol_model.h"
#include "analysis/llm_scan.h"
#include "data/corpus.h"
#include "io/error.h"
#include "io/gguf_info.h"
#include "model/pretrained.h"
#include "model/transformer.h"

using namespace sinklab;
using namespace sinklab::llm;

namespace {

std::vector<DomainDocs> two_domains(const Tokenizer& tok, const ScanOptions& o) {
  const std::string dir = std::string(SINKLAB_DATA_DIR) + "/domains/";
  return {prepare_domain(tok, "prose", read_jsonl_corpus(dir + "prose_wikipedia.jsonl", 20), o),
          prepare_domain(tok, "code", read_jsonl_corpus(dir + "code_python.jsonl", 20), o)};
}

ScanOptions small() {
  ScanOptions o;
  o.docs = 2, o.ctx = 32;
  return o;
}

}  // namespace

TEST(LlmScan, MeasuresAreInRange) {
  NEED_MODEL();
  auto o = small();
  auto r = scan(*pm->model, two_domains(*pm->tokenizer, o), o);
  ASSERT_EQ(r.domains.size(), 2u);
  EXPECT_EQ(r.n_layers, 30);
  EXPECT_EQ(r.n_heads, 9);
  for (auto& d : r.domains) {
    ASSERT_EQ(d.docs.size(), 2u);
    EXPECT_EQ(d.docs[0].ids.size(), 33u);
    EXPECT_EQ(d.docs[0].ids[0], pm->tokenizer->bos_id());
    for (double l : d.base_loss) EXPECT_TRUE(l > 0 && l < 20) << l;
    for (auto& doc : d.heads) {
      ASSERT_EQ(doc.size(), 270u);
      for (auto& h : doc) {
        EXPECT_GE(h.sink_mass, 0.0);
        EXPECT_LE(h.sink_mass, h.top1 + 1e-9);  // the largest weight is at least the sink's
        EXPECT_LE(h.top1, h.top2 + 1e-12);
        EXPECT_LE(h.top2, 1.0 + 1e-6);
        EXPECT_GE(h.row_entropy, -1e-9);
        EXPECT_LE(h.row_entropy, 1.0 + 1e-6);
        EXPECT_GE(h.col_entropy, -1e-9);
        EXPECT_LE(h.col_entropy, 1.0 + 1e-6);
        EXPECT_GT(h.v_sink, 0.0);
        EXPECT_GT(h.v_other, 0.0);
        EXPECT_GE(h.gap_std, 0.0);
      }
    }
    for (auto& doc : d.layers)
      for (auto& l : doc) {
        EXPECT_GT(l.resid_sink, 0.0);
        EXPECT_GE(l.max_abs, std::abs(l.top_val[0]) - 1e-9);
        EXPECT_GE(std::abs(l.top_val[0]), std::abs(l.top_val[1]));
        EXPECT_GE(std::abs(l.top_val[1]), std::abs(l.top_val[2]));
        EXPECT_LE(l.median_abs, l.max_abs);
      }
    for (auto& s : d.secondary) {
      EXPECT_NE(s.position, 0);
      EXPECT_GE(s.mass, o.secondary_threshold);
      EXPECT_EQ(s.token, d.docs[s.doc].pieces[s.position]);
    }
  }
  // SmolLM2 has attention sinks: on average more than a third of the mass lands on BOS.
  double mean = 0;
  for (int l = 0; l < 30; ++l)
    for (int h = 0; h < 9; ++h) mean += head_mean(r.domains[0], 9, l, h, &HeadDoc::sink_mass) / 270;
  EXPECT_GT(mean, 0.33);
  auto ranked = rank_heads(r, 200, 7);
  ASSERT_EQ(ranked.size(), 270u);
  for (size_t i = 1; i < ranked.size(); ++i) EXPECT_GE(std::abs(ranked[i - 1].diff.mean), std::abs(ranked[i].diff.mean));
  EXPECT_NEAR(ranked[0].diff.mean, ranked[0].mass_a - ranked[0].mass_b, 1e-12);
}

TEST(LlmScan, IsDeterministicAndWorksWithoutBos) {
  NEED_MODEL();
  auto o = small();
  o.docs = 1;
  auto dd = two_domains(*pm->tokenizer, o);
  auto a = scan(*pm->model, dd, o), b = scan(*pm->model, dd, o);
  for (size_t d = 0; d < 2; ++d) {
    EXPECT_EQ(a.domains[d].base_loss, b.domains[d].base_loss);
    for (size_t i = 0; i < 270; ++i) {
      EXPECT_EQ(a.domains[d].heads[0][i].sink_mass, b.domains[d].heads[0][i].sink_mass);
      EXPECT_EQ(a.domains[d].heads[0][i].gap_std, b.domains[d].heads[0][i].gap_std);
    }
    EXPECT_EQ(a.domains[d].secondary.size(), b.domains[d].secondary.size());
  }
  o.add_bos = false;
  auto nb = two_domains(*pm->tokenizer, o);
  EXPECT_NE(nb[0].docs[0].ids[0], pm->tokenizer->bos_id());
  auto c = scan(*pm->model, nb, o);
  EXPECT_EQ(c.domains[0].heads[0].size(), 270u);
}

TEST(LlmScan, ZeroHeadEqualsZeroedOutputColumns) {
  NEED_MODEL();
  auto o = small();
  o.docs = 1;
  auto doc = two_domains(*pm->tokenizer, o)[0].docs[0];
  auto x = torch::tensor(std::vector<int64_t>(doc.ids.begin(), doc.ids.end()), torch::kInt64).unsqueeze(0);
  const HeadRef hr{5, 3};
  Hooks h;
  add_intervention(h, Intervention::ZeroHead, InterventionSite{hr});
  double hooked = sequence_loss(*pm->model, x, &h)[0];
  double base = sequence_loss(*pm->model, x)[0];
  const std::string name = "blocks.5.attn.W_O";
  // The weight as values (GGUF weights stay quantised in the model), zeroed, set.
  auto saved = pm->model->value(name).clone();
  auto zeroed = saved.clone();
  const int64_t hd = pm->model->spec().hd();
  zeroed.narrow(1, hr.head * hd, hd).zero_();
  pm->model->set_param(name, zeroed);
  double hand = sequence_loss(*pm->model, x)[0];
  pm->model->set_param(name, saved);
  EXPECT_NEAR(hooked, hand, 1e-5);
  EXPECT_GT(std::abs(hooked - base), 1e-6);  // the head does something
  EXPECT_NEAR(sequence_loss(*pm->model, x)[0], base, 1e-7);
}

TEST(LlmScan, AttendSinkCopiesTheSinkValue) {
  NEED_MODEL();
  auto o = small();
  o.docs = 1;
  auto doc = two_domains(*pm->tokenizer, o)[1].docs[0];
  auto x = torch::tensor(std::vector<int64_t>(doc.ids.begin(), doc.ids.end() - 1), torch::kInt64).unsqueeze(0);
  for (int P : {0, 4}) {
    Hooks h;
    add_intervention(h, Intervention::AttendSink, InterventionSite{{7, 2}, P});
    h.record(HookPoint::V, 7);
    h.record(HookPoint::Z, 7);
    h.record(HookPoint::Pattern, 7);
    torch::NoGradGuard ng;
    pm->model->forward(x, &h);
    auto v = h.get(HookPoint::V, 7)[0].select(1, 2);  // [T, hd]
    auto z = h.get(HookPoint::Z, 7)[0].select(1, 2);
    const int64_t T = v.size(0);
    auto want = v[P].unsqueeze(0).expand({T - P, v.size(1)});
    EXPECT_TRUE(torch::allclose(z.narrow(0, P, T - P), want, 1e-5, 1e-6)) << "P=" << P;
    auto pat = h.get(HookPoint::Pattern, 7)[0][2];
    EXPECT_NEAR(pat.narrow(0, P, T - P).select(1, P).sum().item<double>(), (double)(T - P), 1e-6);
    EXPECT_NEAR(pat.sum().item<double>(), (double)T, 1e-3);  // rows still sum to 1
  }
}

TEST(LlmScan, BatchedAblationEqualsOneAtATime) {
  NEED_MODEL();
  auto o = small();
  o.docs = 1;
  auto dd = two_domains(*pm->tokenizer, o);
  auto r = scan(*pm->model, dd, o);
  std::vector<HeadRef> heads{{0, 1}, {12, 4}, {29, 8}};
  AblationOptions ao;
  ao.batch = 4, ao.resamples = 50;
  auto run = ablate(*pm->model, r, heads, ao);
  ASSERT_EQ(run.results.size(), 3u * 2 * 2);
  for (auto& a : run.results) {
    const auto& doc = r.domains[a.domain].docs[0];
    auto x = torch::tensor(std::vector<int64_t>(doc.ids.begin(), doc.ids.end()), torch::kInt64).unsqueeze(0);
    Hooks h;
    add_intervention(h, a.kind, InterventionSite{a.head});
    double want = sequence_loss(*pm->model, x, &h)[0] - r.domains[a.domain].base_loss[0];
    EXPECT_NEAR(a.delta[0], want, 2e-4) << head_label(a.head) << " " << intervention_name(a.kind);
    EXPECT_EQ(a.ci.lo, a.ci.hi);  // one document: no spread
  }
}

// The attribution estimate is the derivative of the loss along the ablation: moving z a
// fraction eps of the way to its ablated value changes the loss by eps * estimate to
// first order (central difference, float32 model).
TEST(LlmScan, AttributionIsTheDerivativeAlongTheAblation) {
  NEED_MODEL();
  auto o = small();
  o.docs = 1;
  auto dd = two_domains(*pm->tokenizer, o);
  auto r = scan(*pm->model, dd, o);
  AblationOptions ao;
  ao.resamples = 20;
  auto est = attribute_all_heads(*pm->model, r, ao);
  ASSERT_EQ(est.results.size(), (size_t)r.n_layers * r.n_heads * 2 * 2);
  const auto& doc = r.domains[0].docs[0];
  auto x = torch::tensor(std::vector<int64_t>(doc.ids.begin(), doc.ids.end()), torch::kInt64).unsqueeze(0);
  for (HeadRef hr : {HeadRef{0, 1}, HeadRef{12, 4}, HeadRef{29, 8}})
    for (auto kind : scan_interventions()) {
      auto loss_at = [&](double eps) {
        Hooks h;
        h.record(HookPoint::V, hr.layer);
        h.add_override(HookPoint::Z, hr.layer, [&, eps](const at::Tensor& z) {
          auto out = z.clone();
          auto zh = z.select(2, hr.head);  // [B, T, hd]
          at::Tensor target = kind == Intervention::ZeroHead
                                  ? torch::zeros_like(zh)
                                  : h.get(HookPoint::V, hr.layer).select(2, hr.head).narrow(1, 0, 1).expand_as(zh);
          out.select(2, hr.head).copy_(zh + eps * (target - zh));
          return out;
        });
        return sequence_loss(*pm->model, x, &h)[0];
      };
      const double eps = 0.05;
      const double fd = (loss_at(eps) - loss_at(-eps)) / (2 * eps);
      const AblationResult* a = nullptr;
      for (auto& e : est.results)
        if (e.head == hr && e.kind == kind && e.domain == 0) a = &e;
      ASSERT_NE(a, nullptr);
      EXPECT_NEAR(a->delta[0], fd, 0.05 * std::abs(fd) + 2e-4) << head_label(hr) << " " << intervention_name(kind);
    }
}

// GradDrop (AtP*): per document, 1/(L-1) sum over layers l of |estimate with the gradient
// through layer l's outputs dropped|. For the last layer's heads that is |plain estimate|;
// for layer L-2 it is ((L-2) |plain| + |estimate with layer L-1's outputs held at their
// clean values|) / (L-1), the latter checked here by a central difference with those
// outputs patched in: an independent computation of the dropped path.
TEST(LlmScan, GradDropDropsOneLayerAtATime) {
  NEED_MODEL();
  auto o = small();
  o.docs = 1;
  auto dd = two_domains(*pm->tokenizer, o);
  auto r = scan(*pm->model, dd, o);
  AblationOptions ao;
  ao.resamples = 20;
  auto plain = attribute_all_heads(*pm->model, r, ao);
  ao.graddrop = true;
  auto gd = attribute_all_heads(*pm->model, r, ao);
  EXPECT_TRUE(gd.magnitude);
  EXPECT_EQ(gd.method, "atp-graddrop");
  const int L = r.n_layers;
  auto find = [&](const AblationRun& run, HeadRef hr, Intervention k) {
    for (auto& e : run.results)
      if (e.head == hr && e.kind == k && e.domain == 0) return e.delta[0];
    ADD_FAILURE() << "missing " << head_label(hr);
    return 0.0;
  };
  for (int h : {0, 4})
    for (auto kind : scan_interventions())
      EXPECT_NEAR(find(gd, {L - 1, h}, kind), std::abs(find(plain, {L - 1, h}, kind)), 1e-9);
  const auto& doc = r.domains[0].docs[0];
  auto x = torch::tensor(std::vector<int64_t>(doc.ids.begin(), doc.ids.end()), torch::kInt64).unsqueeze(0);
  Hooks clean;
  clean.record(HookPoint::AttnOut, L - 1);
  clean.record(HookPoint::MlpOut, L - 1);
  clean.record(HookPoint::V, L - 2);
  {
    torch::NoGradGuard ng;
    pm->model->token_nll(x, &clean);
  }
  for (HeadRef hr : {HeadRef{L - 2, 1}, HeadRef{L - 2, 6}}) {
    auto loss_at = [&](double eps) {
      Hooks h;
      h.add_override(HookPoint::AttnOut, L - 1, [&](const at::Tensor&) { return clean.get(HookPoint::AttnOut, L - 1); });
      h.add_override(HookPoint::MlpOut, L - 1, [&](const at::Tensor&) { return clean.get(HookPoint::MlpOut, L - 1); });
      h.add_override(HookPoint::Z, hr.layer, [&, eps](const at::Tensor& z) {
        auto out = z.clone();
        out.select(2, hr.head).mul_(1 - eps);  // toward zero-head
        return out;
      });
      return sequence_loss(*pm->model, x, &h)[0];
    };
    const double eps = 0.05;
    const double dropped = (loss_at(eps) - loss_at(-eps)) / (2 * eps);
    const double want = ((L - 2) * std::abs(find(plain, hr, Intervention::ZeroHead)) + std::abs(dropped)) / (L - 1);
    EXPECT_NEAR(find(gd, hr, Intervention::ZeroHead), want, 0.05 * want + 2e-4) << head_label(hr);
  }
}

TEST(LlmScan, BadInput) {
  NEED_MODEL();
  const std::string dir = std::string(SINKLAB_DATA_DIR) + "/domains/";
  auto texts = read_jsonl_corpus(dir + "prose_wikipedia.jsonl", 3);
  auto o = small();
  o.sink_pos = 31;
  EXPECT_THROW(prepare_domain(*pm->tokenizer, "p", texts, o), InputError);
  o.sink_pos = 0;
  o.ctx = 100000;
  try {
    prepare_domain(*pm->tokenizer, "p", texts, o);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("3 skipped"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_head_selection("30.0", 30, 9, {}), InputError);
  EXPECT_THROW(parse_head_selection("1.9", 30, 9, {}), InputError);
  EXPECT_THROW(parse_head_selection("1-2", 30, 9, {}), InputError);
  EXPECT_THROW(parse_head_selection("top:x", 30, 9, {}), InputError);
  EXPECT_EQ(parse_head_selection("all", 30, 9, {}).size(), 270u);
  auto two = parse_head_selection("3.4,0.0,3.4", 30, 9, {});
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0], (HeadRef{3, 4}));
}

TEST(LlmScan, BootstrapIntervals) {
  std::vector<double> x{1, 2, 3, 4, 5, 6, 7, 8};
  auto a = bootstrap_mean(x, 1000, 3), b = bootstrap_mean(x, 1000, 3);
  EXPECT_EQ(a.lo, b.lo);
  EXPECT_EQ(a.hi, b.hi);
  EXPECT_DOUBLE_EQ(a.mean, 4.5);
  EXPECT_LT(a.lo, 4.5);
  EXPECT_GT(a.hi, 4.5);
  EXPECT_GT(a.lo, 1.0);
  EXPECT_LT(a.hi, 8.0);
  auto c = bootstrap_mean({2, 2, 2}, 100, 1);
  EXPECT_EQ(c.lo, 2);
  EXPECT_EQ(c.hi, 2);
  auto d = bootstrap_diff({5, 6, 7}, {1, 2, 3}, 500, 1);
  EXPECT_DOUBLE_EQ(d.mean, 4.0);
  EXPECT_GE(d.lo, 2.0);
  EXPECT_LE(d.hi, 6.0);
}

// top:K means one thing: the best-ranked domain-dependent heads (dormant in one domain,
// active in the other); with one domain, the heads with the most sink mass.
TEST(LlmScan, TopKPicksDomainDependentHeads) {
  auto rank = [](int l, int h, bool da, bool db, int dom_b) {
    HeadRank r;
    r.head = {l, h}, r.dom_a = 0, r.dom_b = dom_b, r.dormant_a = da, r.dormant_b = db;
    return r;
  };
  std::vector<HeadRank> two = {rank(1, 0, true, true, 1), rank(2, 0, true, false, 1), rank(3, 0, false, false, 1),
                               rank(4, 0, false, true, 1)};
  auto top = parse_head_selection("top:2", 30, 9, two);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0], (HeadRef{2, 0}));
  EXPECT_EQ(top[1], (HeadRef{4, 0}));
  EXPECT_EQ(parse_head_selection("top:5", 30, 9, two).size(), 2u);  // only two are domain-dependent
  std::vector<HeadRank> one = {rank(1, 0, true, true, 0), rank(2, 0, false, false, 0)};
  EXPECT_EQ(parse_head_selection("top:2", 30, 9, one).size(), 2u);
}

// Forward-pass parity of the GGUF llama path (src/model/pretrained.cpp) with llama.cpp
// on the SmolLM2-135M-Instruct test model (Q4_1). Two goldens of llama.cpp (tests/tools/
// llamacpp_reference.py, llama-cpp-python 0.3.x, f32 KV cache), both compared with
// sinklab running the Q4_1 file (weights dequantised to float32):
//   smollm2_f32_logits.json  llama.cpp on the same weights dequantised to float32
//       (tests/tools/gguf_dequantize.py): both compute in float32, so they must agree to
//       float32 rounding. This is the parity check.
//   smollm2_logits.json      llama.cpp on the Q4_1 file itself, whose matmuls round the
//       activations to 8 bits; it differs from llama.cpp-float32 exactly as much as from
//       sinklab (docs/parity.md), so its bounds are looser.
// Skips (saying why) where the model file is absent. See docs/parity.md.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "smol_model.h"
#include "../golden_io.h"
#include "data/corpus.h"
#include "io/gguf_info.h"
#include "model/pretrained.h"
#include "model/transformer.h"

using namespace sinklab;

namespace {

const nlohmann::json& golden(const std::string& name) {
  static std::map<std::string, nlohmann::json> cache;
  auto it = cache.find(name);
  if (it == cache.end())
    it = cache.emplace(name, sinklab::testing::read_json(std::string(SINKLAB_TEST_DATA) + "/golden/" + name)).first;
  return it->second;
}
const char* kFloatGolden = "smollm2_f32_logits.json";
const char* kQuantGolden = "smollm2_logits.json";

std::vector<float> b64_floats(const std::string& s) { return sinklab::testing::b64_floats(s); }

at::Tensor run_ids(const Transformer& m, const std::vector<int64_t>& ids) {
  torch::NoGradGuard ng;
  auto x = torch::tensor(ids, torch::kInt64).unsqueeze(0);
  return m.forward(x).squeeze(0).to(torch::kFloat64);  // [T, V]
}

struct Parity {
  int64_t agree = 0, total = 0, last_agree = 0, n_prompts = 0, near_ties = 0;
  double max_top = 0, max_full = 0, max_top10 = 0;
  double rate() const { return (double)agree / (double)total; }
};

// Runs every prompt of a golden; prints each top-1 difference and the summary.
Parity compare_logits(const PretrainedModel& pm, const std::string& name) {
  const auto& g = golden(name);
  Parity r;
  EXPECT_EQ((int64_t)g["n_vocab"], pm.model->spec().vocab);
  for (const auto& p : g["prompts"]) {
    std::vector<int64_t> ids = p["ids"].get<std::vector<int64_t>>();
    auto logits = run_ids(*pm.model, ids);
    const int64_t T = (int64_t)ids.size();
    EXPECT_EQ(logits.size(0), T);
    auto am = logits.argmax(-1);
    auto mx = std::get<0>(logits.max(-1));
    const auto want_am = p["argmax_all"].get<std::vector<int64_t>>();
    const auto want_mx = p["max_logit_all"].get<std::vector<double>>();
    EXPECT_EQ((int64_t)want_am.size(), T);
    for (int64_t t = 0; t < T && t < (int64_t)want_am.size(); ++t) {
      const int64_t a = am[t].item<int64_t>();
      const bool ok = a == want_am[t];
      r.agree += ok;
      ++r.total;
      // Where they differ: how close llama.cpp's choice is to ours in our logits.
      if (!ok) {
        const double gap = logits[t][a].item<double>() - logits[t][want_am[t]].item<double>();
        r.near_ties += gap < 0.25;
        std::printf("  differs: %s prompt %lld pos %lld: sinklab %lld, llama.cpp %lld (our logit gap %.3f)\n",
                    p["kind"].get<std::string>().c_str(), (long long)r.n_prompts, (long long)t, (long long)a,
                    (long long)want_am[t], gap);
      }
      r.max_top = std::max(r.max_top, std::abs(mx[t].item<double>() - want_mx[t]));
    }
    r.last_agree += am[T - 1].item<int64_t>() == want_am.back();
    const auto tid = p["top10_ids"].get<std::vector<int64_t>>();
    const auto tlg = p["top10_logits"].get<std::vector<double>>();
    for (size_t i = 0; i < tid.size(); ++i)
      r.max_top10 = std::max(r.max_top10, std::abs(logits[T - 1][tid[i]].item<double>() - tlg[i]));
    if (p.contains("last_logits_f32_b64")) {
      auto ref = b64_floats(p["last_logits_f32_b64"].get<std::string>());
      EXPECT_EQ((int64_t)ref.size(), logits.size(1));
      auto rv = torch::from_blob(ref.data(), {(int64_t)ref.size()}, torch::kFloat32).to(torch::kFloat64);
      const double d = (logits[T - 1] - rv).abs().max().item<double>();
      const double mean = (logits[T - 1] - rv).abs().mean().item<double>();
      std::printf("  full vector, %s prompt %lld (%lld tokens): max |diff| %.6f, mean |diff| %.6f\n",
                  p["kind"].get<std::string>().c_str(), (long long)r.n_prompts, (long long)T, d, mean);
      r.max_full = std::max(r.max_full, d);
    }
    ++r.n_prompts;
  }
  std::printf(
      "parity with %s: top-1 agreement %lld/%lld positions (%.2f%%; %lld of the differences within 0.25 "
      "of a tie), last position %lld/%lld prompts; max |diff| of the max logit over all positions %.6f, of the "
      "top-10 logits at the last position %.6f, of the full last-position vectors %.6f\n",
      name.c_str(), (long long)r.agree, (long long)r.total, 100 * r.rate(), (long long)r.near_ties,
      (long long)r.last_agree, (long long)r.n_prompts, r.max_top, r.max_top10, r.max_full);
  return r;
}

}  // namespace

// The parity check: llama.cpp computing in float32 on the same (dequantised) weights.
// Measured (docs/parity.md): 390/390 top-1, every logit within 1e-4.
TEST(LlmParity, MatchesLlamaCppInFloat32) {
  NEED_MODEL();
  auto r = compare_logits(*pm, kFloatGolden);
  EXPECT_GE(r.total, 300);
  EXPECT_GE(r.rate(), 0.99);
  EXPECT_EQ(r.last_agree, r.n_prompts);
  EXPECT_LE(r.max_full, 1e-3);
  EXPECT_LE(r.max_top, 1e-3);
  EXPECT_LE(r.max_top10, 1e-3);
}

// llama.cpp on the Q4_1 file itself: its CPU matmuls quantise the activations to 8
// bits (Q8_1/Q8_0) before the quantised dot products, while sinklab (and llama.cpp on
// the float32 copy) multiply the dequantised weights by float32 activations; through 30
// layers this moves logits (range ~[-10, 30]) by a few tenths. Measured: 380/390 (97.4%),
// 9 of the 10 differences near-ties, max |diff| 1.41 -- the same figures as between
// llama.cpp-float32 and llama.cpp-Q4_1 (docs/parity.md).
TEST(LlmParity, AgreesWithLlamaCppQuantisedArithmetic) {
  NEED_MODEL();
  auto r = compare_logits(*pm, kQuantGolden);
  EXPECT_GE(r.rate(), 0.97);
  EXPECT_LE(r.total - r.agree - r.near_ties, 1) << "top-1 differences that are not near-ties (measured: 1 of 10)";
  EXPECT_GE(r.last_agree, r.n_prompts - 1);
  EXPECT_LE(r.max_full, 2.0);   // measured 1.41
  EXPECT_LE(r.max_top, 2.0);    // measured 1.30
  EXPECT_LE(r.max_top10, 2.0);  // measured 0.61
}

// Perplexity on the goldens' recipe (chunked_nll). The full 16 documents (10020 scored
// tokens) take minutes on a loaded 2-core machine, so by default the test scores the
// documents of the golden with fewer than 300 tokens (7 of 16, 2 chunks at most each)
// against llama.cpp's per-document NLL sums; SINKLAB_FULL_PPL=1 runs all 16 and also
// compares with the golden's total.
namespace {
void check_perplexity(const PretrainedModel& pm, const std::string& name, double rel_tol) {
  const auto& ppl = golden(name)["perplexity"];
  const int ctx = ppl["ctx"];
  const bool full = std::getenv("SINKLAB_FULL_PPL") != nullptr;
  auto docs = read_jsonl_corpus(std::string(SINKLAB_DATA_DIR) + "/domains/" +
                                    ppl["corpus"].get<std::string>(),
                                ppl["n_docs"].get<size_t>());
  double nll = 0, ref_nll = 0;
  int64_t n = 0, ref_n = 0;
  for (const auto& d : ppl["per_doc"]) {
    const size_t i = d["index"];
    if (!full && d["n_tokens"].get<int64_t>() >= 300) continue;
    ASSERT_LT(i, docs.size());
    auto ids = pm.tokenizer->encode(docs[i]);
    ASSERT_EQ((int64_t)ids.size(), d["n_tokens"].get<int64_t>()) << "document " << i << " tokenizes differently";
    auto r = chunked_nll(*pm.model, ids, ctx);
    ASSERT_EQ(r.n_scored, d["n_scored"].get<int64_t>()) << "document " << i;
    const double mine = std::exp(r.nll_sum / (double)r.n_scored);
    const double theirs = std::exp(d["nll_sum"].get<double>() / (double)r.n_scored);
    std::printf("  doc %zu: %lld tokens, ppl sinklab %.4f, llama.cpp %.4f (%+.4f%%)\n", i,
                (long long)ids.size(), mine, theirs, 100 * (mine / theirs - 1));
    nll += r.nll_sum;
    n += r.n_scored;
    ref_nll += d["nll_sum"].get<double>();
    ref_n += d["n_scored"].get<int64_t>();
  }
  ASSERT_GT(n, 0);
  ASSERT_EQ(n, ref_n);
  const double mine = std::exp(nll / (double)n), theirs = std::exp(ref_nll / (double)ref_n);
  std::printf("perplexity vs %s (%s, %lld scored tokens, ctx %d): sinklab %.4f, llama.cpp %.4f (%+.4f%%)%s\n",
              name.c_str(), full ? "all 16 documents" : "documents < 300 tokens", (long long)n, ctx, mine, theirs,
              100 * (mine / theirs - 1), full ? "" : "; SINKLAB_FULL_PPL=1 for all 16");
  EXPECT_NEAR(mine / theirs, 1.0, rel_tol);
  if (full) EXPECT_NEAR(mine / ppl["ppl"].get<double>(), 1.0, rel_tol);
}
}  // namespace

TEST(LlmParity, PerplexityMatchesLlamaCppInFloat32) {
  NEED_MODEL();
  check_perplexity(*pm, kFloatGolden, 1e-4);
}

TEST(LlmParity, PerplexityWithinOnePercentOfLlamaCppQuantised) {
  NEED_MODEL();
  check_perplexity(*pm, kQuantGolden, 0.01);
}

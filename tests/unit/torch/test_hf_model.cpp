// Parity of Hugging Face model directories (src/model/hf_model.cpp through
// load_pretrained) with transformers itself: tiny random-weight models created and
// saved by transformers 4.44.2 (tests/tools/make_hf_tiny.py), whose logits and
// hidden_states (output_hidden_states=True, float32, eager attention) are stored in
// tests/data/hf/<arch>/golden.json. HF's hidden_states[l] (l < n_layers) is the
// residual stream entering block l (blocks.{l}.hook_resid_pre); hidden_states
// [n_layers] is after the final norm (ln_final.hook_normalized). See docs/parity.md.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../golden_io.h"
#include "io/error.h"
#include "model/hf_model.h"
#include "model/hooks.h"
#include "model/pretrained.h"
#include "model/transformer.h"

using namespace sinklab;

namespace {

std::string hfdata(const std::string& sub) { return std::string(SINKLAB_TEST_DATA) + "/hf/" + sub; }

nlohmann::json read_golden(const std::string& dir) { return sinklab::testing::read_json(hfdata(dir) + "/golden.json"); }

std::vector<float> unb64(const std::string& s) { return sinklab::testing::b64_floats(s); }

// max |a - b| and max |b| over all elements; a is [1, T, ...] or [T, ...].
std::pair<double, double> diff(const at::Tensor& a, const std::vector<float>& b) {
  auto t = a.contiguous().to(torch::kFloat32).reshape({-1});
  EXPECT_EQ(t.numel(), (int64_t)b.size());
  if (t.numel() != (int64_t)b.size()) return {1e30, 1};
  auto g = torch::from_blob(const_cast<float*>(b.data()), {(int64_t)b.size()}, torch::kFloat32);
  return {(t - g).abs().max().item<double>(), g.abs().max().item<double>()};
}

struct Result {
  double logits = 0, hidden = 0, logits_scale = 0;
};

// Runs every golden sequence through the model in `dir`; asserts |diff| <= tol *
// max(1, max |golden|) per tensor and returns the largest differences seen.
Result check_dir(const std::string& dir, const std::string& golden_dir) {
  auto g = read_golden(golden_dir);
  const double tol = g.value("tolerance", 1e-4);
  auto pm = load_pretrained(hfdata(dir));
  const Transformer& m = *pm.model;
  const int L = m.spec().n_layers;
  Result r;
  torch::NoGradGuard ng;
  for (const auto& seq : g["sequences"]) {
    auto ids = seq["ids"].get<std::vector<int64_t>>();
    Hooks hooks;
    hooks.record(HookPoint::ResidPre);
    hooks.record(HookPoint::ResidPost);
    hooks.record(HookPoint::FinalNorm);
    auto logits = m.forward(torch::tensor(ids, torch::kInt64).unsqueeze(0), &hooks);
    auto [dl, sl] = diff(logits, unb64(seq["logits"].get<std::string>()));
    EXPECT_LE(dl, tol * std::max(1.0, sl)) << dir << ": logits differ by " << dl << " (scale " << sl << ")";
    r.logits = std::max(r.logits, dl);
    r.logits_scale = std::max(r.logits_scale, sl);
    const auto& hs = seq["hidden_states"];
    EXPECT_EQ((int)hs.size(), L + 1) << dir;
    for (int i = 0; i <= L && i < (int)hs.size(); ++i) {
      auto want = unb64(hs[i].get<std::string>());
      const at::Tensor& got = i < L ? hooks.get(HookPoint::ResidPre, i) : hooks.get(HookPoint::FinalNorm, -1);
      auto [dh, sh] = diff(got, want);
      EXPECT_LE(dh, tol * std::max(1.0, sh)) << dir << ": hidden_states[" << i << "] differ by " << dh;
      r.hidden = std::max(r.hidden, dh);
      if (i >= 1 && i < L) {  // resid_post of block i-1 is the same stream
        auto [dp, sp] = diff(hooks.get(HookPoint::ResidPost, i - 1), want);
        EXPECT_LE(dp, tol * std::max(1.0, sp)) << dir << ": resid_post " << i - 1;
      }
    }
  }
  std::printf("[hf parity] %-14s max |logit diff| %.3g (max |logit| %.3g), max |hidden diff| %.3g\n", dir.c_str(),
              r.logits, r.logits_scale, r.hidden);
  return r;
}

}  // namespace

TEST(HfParity, Llama) { check_dir("llama", "llama"); }
TEST(HfParity, LlamaSharded) { check_dir("llama_sharded", "llama"); }
TEST(HfParity, LlamaBf16) { check_dir("llama_bf16", "llama_bf16"); }
TEST(HfParity, Qwen2) { check_dir("qwen2", "qwen2"); }
TEST(HfParity, Olmo) { check_dir("olmo", "olmo"); }
TEST(HfParity, GptNeox) { check_dir("gpt_neox", "gpt_neox"); }
TEST(HfParity, Gpt2) { check_dir("gpt2", "gpt2"); }

TEST(HfModel, SpecSwitches) {
  auto olmo = spec_from_hf(hf::read_config(hfdata("olmo")));
  EXPECT_EQ(olmo.norm, NormKind::LayerNormNoAffine);
  EXPECT_DOUBLE_EQ(olmo.qkv_clip, 1.0);
  EXPECT_FALSE(olmo.rope_interleaved);
  auto neox = spec_from_hf(hf::read_config(hfdata("gpt_neox")));
  EXPECT_TRUE(neox.parallel_attn_mlp);
  EXPECT_EQ(neox.rope_dim, 4);
  auto gpt2 = spec_from_hf(hf::read_config(hfdata("gpt2")));
  EXPECT_EQ(gpt2.pos, PosKind::Learned);
  EXPECT_EQ(gpt2.mlp, MlpKind::GELUTanh);
  EXPECT_TRUE(gpt2.tied_embeddings);
}

// The switches matter: the OLMo clip bites on these weights, and the wrong rotary
// convention (adjacent pairs, as GGUF) breaks parity.
TEST(HfModel, SwitchesAreExercised) {
  auto g = read_golden("olmo");
  auto pm = load_pretrained(hfdata("olmo"));
  auto ids = g["sequences"][1]["ids"].get<std::vector<int64_t>>();
  auto want = unb64(g["sequences"][1]["logits"].get<std::string>());
  torch::NoGradGuard ng;
  auto x = torch::tensor(ids, torch::kInt64).unsqueeze(0);
  EXPECT_LT(diff(pm.model->forward(x), want).first, 1e-3);
  auto spec = pm.model->spec();
  spec.qkv_clip = 0;
  Transformer noclip(spec);
  for (const auto& [n, t] : pm.model->named_parameters()) noclip.set_param(n, t);
  EXPECT_GT(diff(noclip.forward(x), want).first, 1e-2);
  spec = pm.model->spec();
  spec.rope_interleaved = true;
  Transformer inter(spec);
  for (const auto& [n, t] : pm.model->named_parameters()) inter.set_param(n, t);
  EXPECT_GT(diff(inter.forward(x), want).first, 1e-2);
}

TEST(HfModel, NoTokenizerIsAnInputError) {
  auto pm = load_pretrained(hfdata("llama"));
  if (pm.tokenizer) GTEST_SKIP() << "tests/data/hf/llama has a tokenizer";
  EXPECT_THROW(pm.tok(), InputError);
}

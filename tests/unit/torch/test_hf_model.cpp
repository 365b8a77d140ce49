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
#include <filesystem>
#include <functional>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "../golden_io.h"
#include "io/error.h"
#include "io/gguf.h"
#include "model/hf_model.h"
#include "model/hooks.h"
#include "model/pretrained.h"
#include "model/transformer.h"

using namespace sinklab;

namespace {

std::string hfdata(const std::string& sub) {
  return sub.rfind('/', 0) == 0 ? sub : std::string(SINKLAB_TEST_DATA) + "/hf/" + sub;  // absolute paths as they are
}

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


// The same weights under each older form of config.json that golden.json lists
// ("alt_configs": what transformers 4 wrote: rope_theta + rope_scaling, no layer_types).
void check_alt_configs(const std::string& dir) {
  auto g = read_golden(dir);
  if (!g.contains("alt_configs")) return;
  int i = 0;
  for (const auto& cfg : g["alt_configs"]) {
    const std::filesystem::path tmp =
        std::filesystem::path(::testing::TempDir()) / fmt::format("sinklab_alt_{}_{}", dir, i++);
    std::filesystem::remove_all(tmp);
    std::filesystem::create_directories(tmp);
    std::filesystem::copy_file(hfdata(dir) + "/model.safetensors", tmp / "model.safetensors");
    std::ofstream(tmp / "config.json") << cfg.dump();
    std::ofstream(tmp / "golden.json") << g.dump();
    check_dir(tmp.string(), tmp.string());
    std::filesystem::remove_all(tmp);
  }
}

void check_arch(const std::string& dir) {
  check_dir(dir, dir);
  check_alt_configs(dir);
}

}  // namespace

TEST(HfParity, Llama) { check_dir("llama", "llama"); }
TEST(HfParity, LlamaRopeLinear) { check_arch("llama_rope_linear"); }
TEST(HfParity, LlamaRopeDynamic) { check_arch("llama_rope_dynamic"); }
TEST(HfParity, LlamaRopeLlama3) { check_arch("llama_rope_llama3"); }
TEST(HfParity, LlamaRopeYarn) { check_arch("llama_rope_yarn"); }
TEST(HfParity, MistralSlidingWindow) { check_arch("mistral_window"); }
TEST(HfParity, Qwen3) { check_arch("qwen3"); }
TEST(HfParity, Olmo2) { check_arch("olmo2"); }
TEST(HfParity, Gemma) { check_arch("gemma"); }
TEST(HfParity, Gemma2) { check_arch("gemma2"); }
TEST(HfParity, Gemma3) { check_arch("gemma3"); }
TEST(HfParity, Phi3) { check_arch("phi3"); }
TEST(HfParity, LlamaSharded) { check_dir("llama_sharded", "llama"); }
TEST(HfParity, LlamaBf16) { check_dir("llama_bf16", "llama_bf16"); }
TEST(HfParity, Qwen2) { check_dir("qwen2", "qwen2"); }
TEST(HfParity, Olmo) { check_dir("olmo", "olmo"); }
TEST(HfParity, GptNeox) { check_dir("gpt_neox", "gpt_neox"); }
TEST(HfParity, Gpt2) { check_dir("gpt2", "gpt2"); }

namespace {

// The same tiny models as GGUF files written by llama.cpp's converter
// (tests/tools/convert_hf_arch_gguf.py): llama.cpp's tensor names and metadata, read
// through sinklab's GGUF tables, give transformers' logits. Where the file cannot say
// what the config says (`unsaid` edits the config to what the file implies), the
// reference is the HF directory loaded with that edit (itself checked against
// transformers by HfParity.*).
void check_gguf(const std::string& name, const std::function<void(hf::HfConfig&)>& unsaid = nullptr) {
  auto g = read_golden(name);
  const double tol = g.value("tolerance", 1e-4);
  auto f = std::make_shared<const gguf::GgufFile>(std::string(SINKLAB_TEST_DATA) + "/gguf_arch/" + name + ".gguf");
  auto m = transformer_from_gguf(f);
  std::unique_ptr<Transformer> ref;
  if (unsaid) {
    hf::HfConfig c = hf::read_config(hfdata(name));
    unsaid(c);
    ref = transformer_from_hf(c);
  }
  torch::NoGradGuard ng;
  double worst = 0;
  for (const auto& seq : g["sequences"]) {
    auto ids = seq["ids"].get<std::vector<int64_t>>();
    auto x = torch::tensor(ids, torch::kInt64).unsqueeze(0);
    auto logits = m->forward(x);
    auto [dl, sl] = ref ? std::make_pair((logits - ref->forward(x)).abs().max().item<double>(), 1.0)
                        : diff(logits, unb64(seq["logits"].get<std::string>()));
    EXPECT_LE(dl, tol * std::max(1.0, sl)) << name << ".gguf: logits differ by " << dl << " (scale " << sl << ")";
    worst = std::max(worst, dl);
  }
  std::printf("[gguf parity] %-17s max |logit diff| %.3g against %s\n", name.c_str(), worst,
              ref ? "the HF directory as the file implies it" : "transformers");
}

}  // namespace

TEST(GgufArch, LlamaRopeLinear) { check_gguf("llama_rope_linear"); }
TEST(GgufArch, LlamaRopeLlama3) { check_gguf("llama_rope_llama3"); }
TEST(GgufArch, LlamaRopeYarn) { check_gguf("llama_rope_yarn"); }
TEST(GgufArch, Qwen2) { check_gguf("qwen2"); }
TEST(GgufArch, Qwen3) { check_gguf("qwen3"); }
TEST(GgufArch, Olmo2) { check_gguf("olmo2"); }
TEST(GgufArch, Gemma) { check_gguf("gemma"); }
TEST(GgufArch, Phi3) { check_gguf("phi3"); }
// llama.cpp's converter writes Mistral as "llama" without its sliding window (and
// llama.cpp attends to every earlier token); the file is read as what it says.
TEST(GgufArch, MistralWithoutItsWindow) {
  check_gguf("mistral_window", [](hf::HfConfig& c) {
    for (auto& l : c.spec.layers) l.window = 0;
  });
}
// Gemma 2/3 files carry no query_pre_attn_scalar: llama.cpp scales by 1/sqrt(head_dim)
// (1/sqrt(d_model / heads) for the 27B model), which is what every released checkpoint
// but 27B uses; the tiny models use 24 instead of their head_dim 16. Nor do Gemma 3
// files carry layer types: every sixth layer is global, as in the released models (the
// tiny model's second layer is global in HF, local in the file).
TEST(GgufArch, Gemma2) {
  check_gguf("gemma2", [](hf::HfConfig& c) { c.spec.attn_scale = 0; });
}
TEST(GgufArch, Gemma3) {
  check_gguf("gemma3", [](hf::HfConfig& c) {
    c.spec.attn_scale = 0;
    for (size_t l = 0; l < c.spec.layers.size(); ++l) c.spec.layers[l].window = (l + 1) % 6 == 0 ? 0 : 4;
  });
}

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

// Each new switch bites on its tiny model: turning it off breaks parity with transformers
// on the longest golden sequence (16 tokens: past the windows of 4, the dynamic and
// longrope original contexts of 8).
namespace {
double diff_without(const std::string& dir, const std::function<void(ModelSpec&)>& off) {
  auto g = read_golden(dir);
  auto pm = load_pretrained(hfdata(dir));
  const auto& seq = g["sequences"][2];
  auto ids = seq["ids"].get<std::vector<int64_t>>();
  auto want = unb64(seq["logits"].get<std::string>());
  torch::NoGradGuard ng;
  auto x = torch::tensor(ids, torch::kInt64).unsqueeze(0);
  EXPECT_LT(diff(pm.model->forward(x), want).first, 1e-4) << dir;
  ModelSpec spec = pm.model->spec();
  off(spec);
  Transformer changed(spec);
  for (const auto& [n, t] : pm.model->named_parameters()) changed.set_param(n, t);
  return diff(changed.forward(x), want).first;
}
}  // namespace

TEST(HfModel, NewSwitchesAreExercised) {
  auto no_scaling = [](ModelSpec& s) { s.rope_scaling = RopeScaling{}; };
  for (const char* d : {"llama_rope_linear", "llama_rope_dynamic", "llama_rope_llama3", "llama_rope_yarn", "phi3"})
    EXPECT_GT(diff_without(d, no_scaling), 1e-2) << d;
  auto no_windows = [](ModelSpec& s) {
    for (auto& l : s.layers) l.window = 0;
  };
  for (const char* d : {"mistral_window", "gemma2", "gemma3"}) EXPECT_GT(diff_without(d, no_windows), 1e-2) << d;
  EXPECT_GT(diff_without("gemma2", [](ModelSpec& s) { s.attn_softcap = 0; }), 1e-2);
  EXPECT_GT(diff_without("gemma2", [](ModelSpec& s) { s.logit_softcap = 0; }), 1e-2);
  EXPECT_GT(diff_without("gemma2", [](ModelSpec& s) { s.attn_scale = 0; }), 1e-2);
  EXPECT_GT(diff_without("gemma3", [](ModelSpec& s) { s.rope_local_theta = 0; }), 1e-2);
  EXPECT_GT(diff_without("gemma", [](ModelSpec& s) { s.embed_scale = 0; }), 1e-2);
  EXPECT_GT(diff_without("gemma", [](ModelSpec& s) { s.mlp = MlpKind::GeGLU; }), 1e-4);  // exact vs tanh GELU
  // longrope past its original context uses the long factors.
  EXPECT_GT(diff_without("phi3", [](ModelSpec& s) { s.rope_scaling.long_factor = s.rope_scaling.short_factor; }), 1e-2);
}

TEST(HfModel, NewFamilySpecs) {
  auto g3 = spec_from_hf(hf::read_config(hfdata("gemma3")));
  EXPECT_EQ(g3.qk_norm, "head");
  EXPECT_TRUE(g3.out_norm && g3.input_norm);
  EXPECT_EQ(g3.layers[0].window, 4);
  EXPECT_EQ(g3.layers[1].window, 0);
  EXPECT_DOUBLE_EQ(g3.rope_local_theta, 10000.0);
  EXPECT_DOUBLE_EQ(g3.rope_theta, 1000000.0);
  EXPECT_EQ(g3.rope_scaling.type, "linear");
  EXPECT_EQ(g3.rope_local_scaling.type, "none");
  auto o2 = spec_from_hf(hf::read_config(hfdata("olmo2")));
  EXPECT_EQ(o2.qk_norm, "full");
  EXPECT_FALSE(o2.input_norm);
  EXPECT_TRUE(o2.out_norm);
  auto p3 = spec_from_hf(hf::read_config(hfdata("phi3")));
  EXPECT_EQ(p3.rope_scaling.type, "longrope");
  EXPECT_EQ(p3.rope_scaling.original_ctx, 8);
  EXPECT_DOUBLE_EQ(p3.rope_scaling.factor, 4.0);  // max_position_embeddings 32 / 8
}

// Stored weights (src/model/transformer.h, StoredWeight): matrices kept in their file's
// form and filled a layer at a time give the same forward, the same gradients with
// respect to activations, and the same values as the model that holds them as float32;
// for a GGUF file (SmolLM2, Q4_1) and for BF16 / fused-row safetensors directories.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

#include "io/error.h"
#include "io/gguf.h"
#include "io/safetensors.h"
#include "model/hf_model.h"
#include "model/hooks.h"
#include "model/pretrained.h"
#include "model/transformer.h"
#include "smol_model.h"

using namespace sinklab;
namespace fs = std::filesystem;

namespace {

ModelSpec tiny_spec() {
  ModelSpec s;
  s.vocab = 37, s.d_model = 24, s.n_layers = 3, s.n_heads = 4, s.n_kv_heads = 2, s.n_ctx = 32;
  s.norm = NormKind::RMSNorm, s.pos = PosKind::Rotary, s.mlp = MlpKind::SwiGLU, s.tied_embeddings = true;
  s.finalize();
  return s;
}

// Stores every storable matrix of `b`, filled from a copy of `a`'s values.
void store_from(Transformer& b, const Transformer& a) {
  for (const auto& [name, t] : a.named_parameters()) {
    if (t.dim() != 2 || !Transformer::can_store(name)) continue;
    auto src = std::make_shared<at::Tensor>(t.detach().clone().contiguous());
    StoredWeight w;
    w.fill = [src](int64_t r0, int64_t n, float* dst) {
      const int64_t cols = src->size(1);
      std::memcpy(dst, src->data_ptr<float>() + r0 * cols, (size_t)(n * cols) * sizeof(float));
    };
    w.keep = src;
    w.stored_bytes = src->numel() * 4;
    b.store(name, std::move(w));
  }
}

// d(sum of squared logits)/d(residual stream entering layer 0).
at::Tensor resid_grad(const Transformer& m, const at::Tensor& resid) {
  auto r = resid.detach().clone().requires_grad_(true);
  m.forward_from(0, r).pow(2).sum().backward();
  return r.grad();
}

}  // namespace

TEST(StoredWeights, ForwardBackwardAndValuesEqualTheResidentModel) {
  Transformer a(tiny_spec()), b(tiny_spec());
  a.init_weights(3);
  b.init_weights(3);
  store_from(b, a);
  EXPECT_TRUE(b.is_stored("blocks.1.attn.W_Q"));
  EXPECT_TRUE(b.is_stored("embed.W_E"));
  EXPECT_FALSE(b.is_stored("blocks.1.ln1.w"));
  EXPECT_TRUE(b.param("blocks.1.mlp.W_gate").is_meta());
  EXPECT_EQ(b.n_params(), a.n_params());  // shapes kept
  EXPECT_LT(b.resident_bytes(), a.resident_bytes() / 10);
  EXPECT_EQ(b.device(), "cpu");
  auto x = torch::randint(0, 37, {2, 11}, torch::kInt64);
  {
    torch::NoGradGuard ng;
    EXPECT_TRUE(torch::allclose(a.forward(x), b.forward(x), 1e-6, 1e-6));
    EXPECT_TRUE(torch::equal(a.param("blocks.2.attn.W_O"), b.value("blocks.2.attn.W_O")));
  }
  // Backward through stored matrices re-fills them: activations' gradients agree.
  auto resid = torch::randn({2, 11, 24});
  EXPECT_TRUE(torch::allclose(resid_grad(a, resid), resid_grad(b, resid), 1e-5, 1e-6));
  // Out-of-vocabulary ids are refused by the stored embedding as by torch's.
  EXPECT_THROW(b.forward(torch::full({1, 2}, 37, torch::kInt64)), InputError);
  // set_param makes a weight resident again; to() makes all of them resident.
  b.set_param("blocks.0.attn.W_K", a.param("blocks.0.attn.W_K"));
  EXPECT_FALSE(b.is_stored("blocks.0.attn.W_K"));
  b.to("cpu", true);
  EXPECT_FALSE(b.is_stored("embed.W_E"));
  EXPECT_EQ(b.param("embed.W_E").scalar_type(), torch::kFloat64);
  torch::NoGradGuard ng;
  EXPECT_TRUE(torch::allclose(a.forward(x).to(torch::kFloat64), b.forward(x), 1e-5, 1e-6));
}

TEST(StoredWeights, GgufQuantisedEqualsFloat32AtLoad) {
  NEED_MODEL();
  LoadOptions o;
  o.weights = "float32";
  auto f32 = load_pretrained(pm->path, o);
  auto stored = load_pretrained(pm->path);  // the default
  PretrainedModel* sp = &stored;
  ASSERT_TRUE(sp->model->is_stored("blocks.0.attn.W_Q"));
  ASSERT_FALSE(f32.model->is_stored("blocks.0.attn.W_Q"));
  // Weights in memory: the norms only (the file's 94 MB stay in the mapping).
  EXPECT_LT(sp->model->resident_bytes(), 1 << 20);
  EXPECT_GT(sp->model->stored_bytes(), 80'000'000);
  EXPECT_GT(f32.model->resident_bytes(), 500'000'000);
  auto ids = sp->tok().encode("The capital of France is Paris, and the capital of Italy is");
  auto x = torch::tensor(std::vector<int64_t>(ids.begin(), ids.end()), torch::kInt64).unsqueeze(0);
  {
    torch::NoGradGuard ng;
    Hooks ha, hb;
    ha.record(HookPoint::ResidPre);
    hb.record(HookPoint::ResidPre);
    auto la = sp->model->forward(x, &ha), lb = f32.model->forward(x, &hb);
    // The unembedding runs in blocks of rows (7 here): same values, other GEMM shapes.
    EXPECT_LT((la - lb).abs().max().item<double>(), 1e-4);
    EXPECT_TRUE(torch::allclose(ha.get(HookPoint::ResidPre, 29), hb.get(HookPoint::ResidPre, 29), 1e-5, 1e-5));
  }
  auto resid = torch::randn({1, x.size(1), 576});
  auto ga = resid_grad(*sp->model, resid), gb = resid_grad(*f32.model, resid);
  EXPECT_LT((ga - gb).abs().max().item<double>(), 1e-4 * std::max(1.0, gb.abs().max().item<double>()));
}

TEST(StoredWeights, Bf16FusedRowsEqualFloat32AtLoad) {
  // Every HF test model, its weights rewritten as BF16 (phi3: fused qkv and gate_up
  // rows; gemma2: norms with an offset, which stay resident): stored == converted at load.
  for (const std::string arch : {"llama", "phi3", "gemma2", "qwen3"}) {
    const fs::path src = fs::path(SINKLAB_TEST_DATA) / "hf" / arch;
    const fs::path dir = fs::temp_directory_path() / ("sinklab-bf16-" + arch + "-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    fs::copy_file(src / "config.json", dir / "config.json", fs::copy_options::overwrite_existing);
    SafetensorsFile in((src / "model.safetensors").string());
    std::vector<std::vector<uint16_t>> bufs;
    std::vector<TensorToWrite> out;
    for (const auto& name : in.names()) {
      const TensorView& v = in.get(name);
      auto f = to_f32(v);
      std::vector<uint16_t> h(f.size());
      for (size_t i = 0; i < f.size(); ++i) {
        uint32_t bits;
        std::memcpy(&bits, &f[i], 4);
        h[i] = (uint16_t)((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);  // round to nearest even
      }
      bufs.push_back(std::move(h));
      TensorToWrite w;
      w.name = name, w.dtype = DType::BF16, w.shape = v.shape;
      w.data = bufs.back().data(), w.nbytes = bufs.back().size() * 2;
      out.push_back(std::move(w));
    }
    write_safetensors((dir / "model.safetensors").string(), out);
    auto stored = transformer_from_hf_dir(dir.string(), true), f32 = transformer_from_hf_dir(dir.string(), false);
    EXPECT_TRUE(stored->is_stored("blocks.0.attn.W_Q")) << arch;
    EXPECT_TRUE(stored->is_stored("blocks.1.mlp.W_out")) << arch;
    const int64_t V = stored->spec().vocab;
    auto x = torch::randint(0, V, {2, 9}, torch::kInt64);
    {
      torch::NoGradGuard ng;
      EXPECT_TRUE(torch::allclose(stored->forward(x), f32->forward(x), 1e-5, 1e-5)) << arch;
      EXPECT_TRUE(torch::equal(stored->value("blocks.1.attn.W_V"), f32->param("blocks.1.attn.W_V"))) << arch;
      EXPECT_TRUE(torch::equal(stored->value("blocks.0.mlp.W_gate"), f32->param("blocks.0.mlp.W_gate"))) << arch;
    }
    fs::remove_all(dir);
  }
}

TEST(StoredWeights, Bfloat16ModelIsCloseToFloat32) {
  // --dtype bfloat16: stored weights become bfloat16 tensors; norms and the attention
  // softmax run in float32, so the patterns are float32 and sum to 1.
  for (const std::string arch : {"llama_bf16", "gemma2", "phi3"}) {
    const std::string dir = std::string(SINKLAB_TEST_DATA) + "/hf/" + arch;
    auto f32 = transformer_from_hf_dir(dir), bf = transformer_from_hf_dir(dir);
    bf->to_dtype("cpu", "bfloat16");
    EXPECT_EQ(bf->param("blocks.0.attn.W_Q").scalar_type(), torch::kBFloat16) << arch;
    auto x = torch::randint(0, f32->spec().vocab, {1, 12}, torch::kInt64);
    torch::NoGradGuard ng;
    Hooks h;
    h.record(HookPoint::Pattern);
    auto a = f32->forward(x), b = bf->forward(x, &h).to(torch::kFloat32);
    const double scale = a.abs().max().item<double>();
    EXPECT_LT((a - b).abs().max().item<double>(), 0.15 * scale) << arch;  // bf16: 8 bits of mantissa
    EXPECT_GT(torch::cosine_similarity(a.flatten(), b.flatten(), 0).item<double>(), 0.999) << arch;
    const auto& p = h.get(HookPoint::Pattern, 1);
    EXPECT_EQ(p.scalar_type(), torch::kFloat32) << arch;
    EXPECT_LT((p.sum(-1) - 1).abs().max().item<double>(), 1e-5) << arch;
  }
}

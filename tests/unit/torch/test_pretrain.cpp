// `sinklab pretrain`'s checkpoints as Hugging Face llama directories
// (src/model/hf_export.h): what is written loads back through the HF loader with the
// same logits, and a model llama cannot express is refused with the reason.
#include <gtest/gtest.h>

#include <filesystem>

#include <torch/torch.h>

#include "../golden_io.h"
#include "data/lm_corpus.h"
#include "io/error.h"
#include "model/hf_export.h"
#include "model/pretrained.h"
#include "model/transformer.h"
#include "report/llm_series_report.h"
#include "train/config.h"

namespace fs = std::filesystem;
using namespace sinklab;

TEST(Pretrain, HfExportLoadsBackWithTheSameLogits) {
  for (bool tied : {false, true}) {
    TrainConfig c = load_train_config("tiny-lm", "", {"model.kv_heads=1", tied ? "model.tied_embeddings=true" : "model.tied_embeddings=false"});
    Transformer m(c.model_spec(LmCorpus::kVocab));
    m.init_weights(3, InitScheme::GPT2);
    ASSERT_EQ(hf_llama_incompatibility(m.spec()), "");
    const fs::path dir = fs::temp_directory_path() / ("sinklab-hfexport-" + std::to_string(::getpid()) + (tied ? "t" : "u"));
    export_hf_llama(m, dir.string(),
                    {{"tokenizer.json", byte_tokenizer_json(true)},
                     {"tokenizer_config.json", byte_tokenizer_config_json(true, m.spec().n_ctx)}},
                    LmCorpus::kBos, LmCorpus::kEos);
    LoadOptions lo;
    lo.weights = "float32";
    auto pm = load_pretrained(dir.string(), lo);
    EXPECT_EQ(pm.arch, "llama");
    EXPECT_EQ(pm.tok().bos_id(), LmCorpus::kBos);
    auto tokens = torch::randint(0, 258, {2, 20}, torch::kInt64);
    torch::NoGradGuard ng;
    auto a = m.forward(tokens), b = pm.model->forward(tokens);
    EXPECT_LT((a - b).abs().max().item<double>(), 1e-5) << "tied " << tied;
    fs::remove_all(dir);
  }
}

TEST(Pretrain, NonLlamaModelsAreNotExported) {
  TrainConfig c = load_train_config("tiny-lm", "", {"model.attention=relu"});
  Transformer m(c.model_spec(LmCorpus::kVocab));
  EXPECT_EQ(hf_llama_incompatibility(m.spec()), "model.attention = relu");
  TrainConfig g = load_train_config("tiny-lm", "", {"model.mlp=gelu"});
  EXPECT_EQ(hf_llama_incompatibility(Transformer(g.model_spec(258)).spec()), "model.mlp is not swiglu");
  EXPECT_THROW(export_hf_llama(m, "/tmp/never", {}, 256, 257), InputError);
}

TEST(Pretrain, HfNamesCoverEveryParameter) {
  TrainConfig c = load_train_config("tiny-lm", "", {});
  Transformer m(c.model_spec(LmCorpus::kVocab));
  for (const auto& [name, t] : m.named_parameters()) EXPECT_NO_THROW(hf_llama_name(name)) << name;
  EXPECT_EQ(hf_llama_name("blocks.1.attn.W_Q"), "model.layers.1.self_attn.q_proj.weight");
  EXPECT_EQ(hf_llama_name("blocks.0.mlp.W_gate"), "model.layers.0.mlp.gate_proj.weight");
}

// A checkpoint written by `sinklab pretrain --preset tiny-lm` (RUN/hf/step40/), opened
// by transformers 4.44.2 (AutoTokenizer, AutoModelForCausalLM; tests/tools/
// make_pretrain_fixture.py): the same token ids and logits in sinklab.
TEST(Pretrain, CheckpointMatchesTransformers) {
  const std::string dir = std::string(SINKLAB_TEST_DATA) + "/pretrain/tiny-lm-step40";
  const auto golden = sinklab::testing::read_json(dir + "/golden.json");
  LoadOptions lo;
  lo.weights = "float32";
  auto pm = load_pretrained(dir, lo);
  torch::NoGradGuard ng;
  for (const auto& c : golden["cases"]) {
    auto want_ids = c["ids"].get<std::vector<int32_t>>();
    auto ids = pm.tok().encode(c["text"].get<std::string>());
    ids.resize(std::min(ids.size(), want_ids.size()));
    EXPECT_EQ(ids, want_ids) << c["text"];
    std::vector<int64_t> v(want_ids.begin(), want_ids.end());
    auto t = torch::tensor(v, torch::kInt64).unsqueeze(0);
    auto got = pm.model->forward(t)[0].contiguous();
    auto want = sinklab::testing::b64_floats(c["logits"].get<std::string>());
    ASSERT_EQ((size_t)got.numel(), want.size());
    auto w = torch::from_blob(want.data(), got.sizes(), torch::kFloat32);
    EXPECT_LT((got - w).abs().max().item<double>(), 1e-4) << c["text"];
    EXPECT_TRUE(torch::equal(got.argmax(-1), w.argmax(-1))) << c["text"];
  }
}

// Emergence is the step from which a phenomenon holds to the end of the series: the first
// token's residual peak at initialisation (it reads only itself) that training then
// removes is not an emergence; a sink head that comes, goes and comes back emerges at its
// return.
TEST(Pretrain, EmergenceHoldsToTheEndOfTheSeries) {
  llm::SeriesResult r;
  r.domain_names = {"prose"};
  auto at = [&](int64_t step, double resid, int sink_heads) {
    llm::SeriesCheckpoint c;
    c.step = step;
    llm::SeriesDomain d;
    d.name = "prose";
    d.heads = 4;
    d.max_resid_ratio = resid;
    d.sink_heads = sink_heads;
    c.domains.push_back(d);
    r.checkpoints.push_back(c);
  };
  at(0, 2.5, 0);
  at(25, 2.1, 1);
  at(100, 1.0, 0);
  at(200, 1.2, 1);
  at(400, 2.4, 3);
  at(800, 3.0, 2);
  auto e = report::emergence_steps(r);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].resid_peak, 400);
  EXPECT_EQ(e[0].sink_heads, 200);
  EXPECT_EQ(e[0].half_sink, 400);
  EXPECT_EQ(e[0].dormant, -1);
}

// Hugging Face model directories, torch-free part (src/model/arch/hf_dir.h): config.json ->
// normalised config, weight mapping (Conv1D transpose, fused QKV splits), checkpoint
// series. Inputs: tests/data/hf (tests/tools/make_hf_tiny.py, made by transformers).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>
#include <unistd.h>

#include "io/error.h"
#include "model/arch/hf_dir.h"
#include "io/json_io.h"
#include "io/safetensors.h"

using namespace sinklab;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string hfdata(const std::string& sub) { return std::string(SINKLAB_TEST_DATA) + "/hf/" + sub; }

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

json llama_json() {
  return json{{"model_type", "llama"},     {"vocab_size", 100},          {"hidden_size", 32},
              {"num_hidden_layers", 2},    {"num_attention_heads", 4},   {"num_key_value_heads", 2},
              {"intermediate_size", 48},   {"rms_norm_eps", 1e-5},       {"rope_theta", 500000.0},
              {"tie_word_embeddings", false}, {"max_position_embeddings", 128}};
}

}  // namespace

TEST(HfConfig, LlamaFamilySwitches) {
  auto c = hf::parse_config(llama_json(), "x/config.json");
  EXPECT_EQ(c.model_type, "llama");
  EXPECT_EQ(c.spec.norm, NormKind::RMSNorm);
  EXPECT_DOUBLE_EQ(c.spec.norm_eps, 1e-5);
  EXPECT_EQ(c.spec.n_kv_heads, 2);
  EXPECT_EQ(c.spec.head_dim, 8);
  EXPECT_EQ(c.spec.rope_dim, 8);
  EXPECT_DOUBLE_EQ(c.spec.rope_theta, 500000.0);
  EXPECT_EQ(c.spec.mlp, MlpKind::SwiGLU);
  EXPECT_FALSE(c.spec.attn_bias);
  EXPECT_EQ(c.spec.pos, PosKind::Rotary);
  auto q = llama_json();
  q["model_type"] = "qwen2";
  auto cq = hf::parse_config(q, "x/config.json");
  EXPECT_TRUE(cq.spec.attn_bias);
  EXPECT_FALSE(cq.spec.attn_out_bias);
  auto mi = llama_json();
  mi["model_type"] = "mistral";
  mi["head_dim"] = 16;  // explicit head_dim wins over hidden_size / heads
  mi["sliding_window"] = 4096;
  auto cm = hf::parse_config(mi, "x/config.json");
  EXPECT_EQ(cm.spec.head_dim, 16);
  ASSERT_EQ(cm.spec.layers.size(), (size_t)cm.spec.n_layers);
  for (const auto& l : cm.spec.layers) EXPECT_EQ(l.window, 4096);  // every Mistral layer slides
}

TEST(HfConfig, TinyModelsFromTransformers) {
  auto olmo = hf::read_config(hfdata("olmo"));
  EXPECT_EQ(olmo.spec.norm, NormKind::LayerNormNoAffine);
  EXPECT_DOUBLE_EQ(olmo.spec.qkv_clip, 1.0);
  auto neox = hf::read_config(hfdata("gpt_neox"));
  EXPECT_TRUE(neox.spec.parallel_attn_mlp);
  EXPECT_EQ(neox.spec.head_dim, 16);
  EXPECT_EQ(neox.spec.rope_dim, 4);  // rotary_pct 0.25
  EXPECT_TRUE(neox.spec.attn_bias && neox.spec.attn_out_bias && neox.spec.mlp_bias);
  EXPECT_EQ(neox.spec.mlp, MlpKind::GELU);
  auto gpt2 = hf::read_config(hfdata("gpt2"));
  EXPECT_EQ(gpt2.spec.pos, PosKind::Learned);
  EXPECT_EQ(gpt2.spec.mlp, MlpKind::GELUTanh);
  EXPECT_EQ(gpt2.spec.d_ff, 256);
  EXPECT_EQ(gpt2.spec.n_ctx, 32);
  EXPECT_TRUE(gpt2.spec.tied_embeddings);
  auto qwen = hf::read_config(hfdata("qwen2"));
  EXPECT_TRUE(qwen.spec.tied_embeddings);
}

TEST(HfConfig, BadKeysNameFileAndKey) {
  auto j = llama_json();
  j.erase("hidden_size");
  EXPECT_NE(error_of([&] { hf::parse_config(j, "m/config.json"); }).find("'m/config.json': missing key \"hidden_size\""),
            std::string::npos);
  j = llama_json();
  j["num_attention_heads"] = "4";
  EXPECT_NE(error_of([&] { hf::parse_config(j, "m/config.json"); }).find("\"num_attention_heads\": expected an integer"),
            std::string::npos);
  j = llama_json();
  j["num_key_value_heads"] = 3;
  EXPECT_NE(error_of([&] { hf::parse_config(j, "m/config.json"); }).find("num_key_value_heads"), std::string::npos);
  j = llama_json();
  j["model_type"] = "bert";
  EXPECT_NE(error_of([&] { hf::parse_config(j, "m/config.json"); }).find("unsupported model_type 'bert'"),
            std::string::npos);
  j = llama_json();
  j["hidden_act"] = "relu";
  EXPECT_NE(error_of([&] { hf::parse_config(j, "m/config.json"); }).find("hidden_act"), std::string::npos);
  j = llama_json();
  j["vocab_size"] = -5;
  EXPECT_NE(error_of([&] { hf::parse_config(j, "m/config.json"); }).find("out of range"), std::string::npos);
  EXPECT_NE(error_of([&] { hf::read_config(hfdata("bad_no_config")); }).find("has no config.json"), std::string::npos);
  EXPECT_NE(error_of([&] { hf::parse_config(json::array(), "m/config.json"); }).find("not a JSON object"),
            std::string::npos);
}

TEST(HfWeights, Gpt2Conv1DIsTransposedAndCAttnSplit) {
  auto c = hf::read_config(hfdata("gpt2"));
  ShardedSafetensors st(hfdata("gpt2"));
  auto maps = hf::map_weights(c, st);
  const int64_t d = 64;
  auto raw = to_f32(st.get("transformer.h.1.attn.c_attn.weight"));  // [d, 3d] = [in, out]
  int found = 0;
  for (const auto& w : maps) {
    if (w.dst == "blocks.1.attn.W_K") {
      auto v = hf::read_weight(w, st);  // [out = d, in = d]: K = columns d..2d of c_attn
      ASSERT_EQ(v.size(), (size_t)(d * d));
      for (int64_t o = 0; o < d; o += 7)
        for (int64_t i = 0; i < d; i += 5) EXPECT_EQ(v[o * d + i], raw[i * 3 * d + d + o]);
      ++found;
    }
    if (w.dst == "blocks.0.mlp.W_out") {
      EXPECT_EQ(w.dst_shape, (std::vector<int64_t>{64, 256}));
      ++found;
    }
  }
  EXPECT_EQ(found, 2);
  int64_t n = 0;
  for (const auto& w : maps) EXPECT_NE(w.dst, "unembed.W_U");  // tied
  for (const auto& w : maps) n += w.dst_shape.size() == 2 ? w.dst_shape[0] * w.dst_shape[1] : w.dst_shape[0];
  auto s = hf::summarize(hfdata("gpt2"));
  EXPECT_EQ(s.n_params, n);
}

TEST(HfWeights, NeoxFusedQkvIsSplitPerHead) {
  auto c = hf::read_config(hfdata("gpt_neox"));
  ShardedSafetensors st(hfdata("gpt_neox"));
  auto raw = to_f32(st.get("gpt_neox.layers.0.attention.query_key_value.bias"));  // [3 * H * hd]
  const int64_t hd = 16;
  for (const auto& w : hf::map_weights(c, st)) {
    if (w.dst != "blocks.0.attn.b_V") continue;
    auto v = hf::read_weight(w, st);
    ASSERT_EQ(v.size(), (size_t)(4 * hd));
    for (int64_t h = 0; h < 4; ++h)
      for (int64_t i = 0; i < hd; ++i) EXPECT_EQ(v[h * hd + i], raw[h * 3 * hd + 2 * hd + i]);
    return;
  }
  FAIL() << "no b_V mapping";
}

TEST(HfWeights, ShardedAndBf16Directories) {
  auto a = hf::summarize(hfdata("llama"));
  auto b = hf::summarize(hfdata("llama_sharded"));
  EXPECT_EQ(a.n_shards, 1u);
  EXPECT_GT(b.n_shards, 1u);
  EXPECT_EQ(a.n_params, b.n_params);
  auto f = hf::summarize(hfdata("llama_bf16"));
  EXPECT_EQ(f.tensors_per_dtype.count("BF16"), 1u);
  EXPECT_EQ(f.tensors_per_dtype.count("F32"), 0u);
  EXPECT_NE(hf::summary_to_text(a).find("llama"), std::string::npos);
  EXPECT_EQ(hf::summary_to_json(b)["n_shards"].get<size_t>(), b.n_shards);
}

TEST(HfWeights, BadTensorsNameFileAndTensor) {
  auto e = error_of([] { hf::summarize(hfdata("bad_shape")); });
  EXPECT_NE(e.find("transformer.h.0.attn.c_attn.weight' has shape [8, 16], but config.json implies [8, 24]"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("model.safetensors"), std::string::npos) << e;
  e = error_of([] { hf::summarize(hfdata("bad_dtype")); });
  EXPECT_NE(e.find("has dtype I32"), std::string::npos) << e;
  e = error_of([] { hf::summarize(hfdata("bad_missing_tensor")); });
  EXPECT_NE(e.find("missing tensor 'transformer.ln_f.bias'"), std::string::npos) << e;
}

TEST(HfSeries, StepFromName) {
  EXPECT_EQ(hf::step_from_name("step1000"), 1000);
  EXPECT_EQ(hf::step_from_name("stage1-step1000-tokens4B"), 1000);
  EXPECT_EQ(hf::step_from_name("Step42"), 42);
  EXPECT_EQ(hf::step_from_name("step1-step20"), 20);
  EXPECT_FALSE(hf::step_from_name("main").has_value());
  EXPECT_FALSE(hf::step_from_name("stepX").has_value());
  EXPECT_FALSE(hf::step_from_name("step99999999999999999999").has_value());
}

TEST(HfSeries, DirectoryOfRevisionsIsOrderedByStep) {
  auto s = hf::checkpoint_series({hfdata("series")});
  ASSERT_EQ(s.size(), 3u);  // main/ is skipped
  EXPECT_EQ(s[0].step, 200);
  EXPECT_EQ(s[1].step, 1000);
  EXPECT_EQ(s[2].step, 30000);
  EXPECT_EQ(s[0].config.model_type, "llama");
  auto l = hf::checkpoint_series({hfdata("series/step30000"), hfdata("series/step200")});
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0].step, 200);
}

TEST(HfSeries, Errors) {
  EXPECT_NE(error_of([] { hf::checkpoint_series({hfdata("series/main")}); }).find("no step number"),
            std::string::npos);
  EXPECT_NE(error_of([] { hf::checkpoint_series({hfdata("series/step200"), hfdata("series/step200")}); })
                .find("are both step 200"),
            std::string::npos);
  EXPECT_NE(error_of([] { hf::checkpoint_series({hfdata("bad_no_config")}); }).find("no revision subdirectories"),
            std::string::npos);
  EXPECT_NE(error_of([] { hf::checkpoint_series({}); }).find("no directories"), std::string::npos);
  // Different architectures cannot form a series.
  auto tmp = fs::temp_directory_path() / ("sinklab_hf_series_" + std::to_string(::getpid()));
  fs::create_directories(tmp / "step5");
  fs::copy_file(hfdata("llama/config.json"), tmp / "step5" / "config.json", fs::copy_options::overwrite_existing);
  auto e = error_of([&] { hf::checkpoint_series({hfdata("series/step200"), (tmp / "step5").string()}); });
  fs::remove_all(tmp);
  EXPECT_NE(e.find("llama with 1 layers"), std::string::npos) << e;
  EXPECT_NE(e.find("llama with 2 layers"), std::string::npos) << e;
}

// A number JSON cannot hold as a double (found by fuzz/fuzz_hf_config.cpp) is bad
// input, not an escaping nlohmann exception.
TEST(HfConfig, NumberOverflowIsInputError) {
  auto e = error_of([] { parse_json("{\"model_type\": \"gpt2\", \"layer_norm_epsilon\": 1e444}", "'m/config.json'"); });
  EXPECT_NE(e.find("'m/config.json': malformed JSON"), std::string::npos) << e;
}

// RoPE scaling, layer types and the new families' keys: one line naming the key.
TEST(HfConfig, BadRopeAndWindowKeysNameTheKey) {
  auto err = [](const json& j) { return error_of([&] { hf::parse_config(j, "m/config.json"); }); };
  auto with = [](const char* key, json v) {
    auto j = llama_json();
    j[key] = std::move(v);
    return j;
  };
  EXPECT_NE(err(with("rope_scaling", json{{"rope_type", "su"}, {"factor", 2.0}}))
                .find("key \"rope_scaling.rope_type\": unsupported RoPE scaling 'su'"),
            std::string::npos);
  EXPECT_NE(err(with("rope_scaling", json{{"type", "wild"}})).find("key \"rope_scaling.type\""), std::string::npos);
  EXPECT_NE(err(with("rope_scaling", json{{"rope_type", "linear"}})).find("missing key \"rope_scaling.factor\""),
            std::string::npos);
  EXPECT_NE(err(with("rope_scaling", json{{"rope_type", "linear"}, {"factor", "2"}}))
                .find("key \"rope_scaling.factor\": expected a number"),
            std::string::npos);
  EXPECT_NE(err(with("rope_scaling", json{{"rope_type", "linear"}, {"factor", 0.5}})).find("must be >= 1"),
            std::string::npos);
  EXPECT_NE(err(with("rope_scaling", json{{"rope_type", "llama3"}, {"factor", 8}, {"low_freq_factor", 4},
                                          {"high_freq_factor", 1}}))
                .find("rope_scaling.high_freq_factor"),
            std::string::npos);
  EXPECT_NE(err(with("rope_scaling", json{{"rope_type", "longrope"}, {"short_factor", {1, 2}}, {"long_factor", {1, 2}}}))
                .find("key \"rope_scaling.short_factor\": expected a list of 4 numbers"),
            std::string::npos);
  EXPECT_NE(err(with("rope_scaling", "linear")).find("key \"rope_scaling\": expected an object"), std::string::npos);
  EXPECT_NE(err(with("rope_parameters", json{{"rope_type", "yarn"}, {"factor", 4}, {"beta_fast", -1}}))
                .find("rope_parameters.beta_fast"),
            std::string::npos);
  EXPECT_NE(err(with("partial_rotary_factor", 0.2)).find("partial_rotary_factor"), std::string::npos);
  // Layer types.
  auto m = with("sliding_window", 16);
  m["model_type"] = "mistral";
  m["layer_types"] = json{"sliding_attention", "chunked_attention"};
  EXPECT_NE(err(m).find("key \"layer_types\": layer 1 has type 'chunked_attention'"), std::string::npos);
  m["layer_types"] = json{"sliding_attention"};
  EXPECT_NE(err(m).find("1 entries for 2 layers"), std::string::npos);
  m["layer_types"] = "sliding_attention";
  EXPECT_NE(err(m).find("expected a list of strings"), std::string::npos);
  m.erase("layer_types");
  m["sliding_window"] = 0;
  EXPECT_NE(err(m).find("key \"sliding_window\""), std::string::npos);
  // Gemma keys.
  auto g = llama_json();
  g["model_type"] = "gemma2";
  g["attn_logit_softcapping"] = -1;
  EXPECT_NE(err(g).find("key \"attn_logit_softcapping\": must be positive"), std::string::npos);
  g["attn_logit_softcapping"] = 50;
  g["query_pre_attn_scalar"] = "x";
  EXPECT_NE(err(g).find("key \"query_pre_attn_scalar\""), std::string::npos);
}

TEST(HfConfig, RopeScalingForms) {
  // transformers 4 (rope_theta + rope_scaling with "type") and 5 (rope_parameters) agree.
  auto a = llama_json();
  a["rope_scaling"] = json{{"type", "llama3"}, {"factor", 8}, {"low_freq_factor", 1}, {"high_freq_factor", 4},
                           {"original_max_position_embeddings", 64}};
  auto b = llama_json();
  b.erase("rope_theta");
  b["rope_parameters"] = json{{"rope_type", "llama3"}, {"rope_theta", 500000.0}, {"factor", 8},
                              {"low_freq_factor", 1}, {"high_freq_factor", 4}, {"original_max_position_embeddings", 64}};
  auto sa = hf::parse_config(a, "a/config.json").spec, sb = hf::parse_config(b, "b/config.json").spec;
  EXPECT_EQ(sa.rope_scaling.type, "llama3");
  EXPECT_EQ(sb.rope_scaling.type, "llama3");
  EXPECT_DOUBLE_EQ(sa.rope_theta, 500000.0);
  EXPECT_DOUBLE_EQ(sb.rope_theta, 500000.0);
  EXPECT_EQ(sa.rope_scaling.original_ctx, 64);
  EXPECT_EQ(rope_freqs(sa, false, 10).inv_freq, rope_freqs(sb, false, 10).inv_freq);
  // "default" is no scaling.
  auto d = llama_json();
  d["rope_scaling"] = json{{"rope_type", "default"}};
  EXPECT_EQ(hf::parse_config(d, "d/config.json").spec.rope_scaling.type, "none");
}

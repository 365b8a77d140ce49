// Forward speed of a pretrained GGUF model (issue 5, "Speed"): SmolLM2-135M-Instruct
// (Q4_1 file) on the first 256 tokens of prose document 0 of
// data/domains/prose_wikipedia.jsonl, one batch of 256, no grad:
//   llm_forward/none/threads:K     weights stored (quantised in the file's mapping,
//                                  dequantised a layer at a time), no Hooks object
//   llm_forward/patterns/threads:K the same with Hooks::record("blocks.*.attn.hook_pattern")
//                                  (all 30 layers' [1, 9, 256, 256] patterns kept)
//   llm_forward/float32/threads:K  every weight dequantised to float32 at load
//                                  (--weights float32), no Hooks object
// Counter tokens_per_s = 256 / wall time. The same 256 tokens as llama.cpp's
// prompt-processing measurement (tests/tools/llamacpp_reference.py, bench/compare_llm.py).
// The model: SINKLAB_TEST_MODEL, else <sinklab cache>/models/SmolLM2-135M-Instruct.gguf.
// Run: build/bench/bench_llm --benchmark_format=json  (bench/compare_llm.py runs it next
// to llama.cpp).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "io/omp_env.h"
#include "data/corpus.h"
#include "io/gguf_info.h"
#include "model/hooks.h"
#include "model/pretrained.h"
#include "model/transformer.h"
#include "train/trainer.h"

namespace {

using namespace sinklab;

struct Setup {
  std::unique_ptr<PretrainedModel> pm;
  at::Tensor tokens;
};

std::unique_ptr<Setup> make_setup(const std::string& weights) {
  std::string path;
  if (const char* p = std::getenv("SINKLAB_TEST_MODEL")) path = p;
  else path = gguf::test_model_path();
  if (path.empty()) return nullptr;
  auto r = std::make_unique<Setup>();
  LoadOptions o;
  o.weights = weights;
  r->pm = std::make_unique<PretrainedModel>(load_pretrained(path, o));
  auto text = read_jsonl_corpus(std::string(SINKLAB_DATA_DIR) + "/domains/prose_wikipedia.jsonl", 1)[0];
  auto ids = r->pm->tokenizer->encode(text);
  if (ids.size() < 256) return nullptr;
  r->tokens = torch::tensor(std::vector<int64_t>(ids.begin(), ids.begin() + 256), torch::kInt64).unsqueeze(0);
  torch::NoGradGuard ng;
  r->pm->model->forward(r->tokens);  // warm-up: the file's pages read, buffers allocated
  return r;
}

Setup* setup(bool float32) {
  static std::unique_ptr<Setup> stored, f32;  // one model at a time: the other is dropped
  auto& s = float32 ? f32 : stored;
  if (!s) {
    (float32 ? stored : f32).reset();
    s = make_setup(float32 ? "float32" : "stored");
  }
  return s.get();
}

void BM_llm_forward(benchmark::State& state, bool patterns, bool float32) {
  Setup* s = setup(float32);
  if (!s) {
    state.SkipWithError("SmolLM2-135M-Instruct.gguf absent (scripts/setup.sh) or prose doc 0 < 256 tokens");
    return;
  }
  set_compute_threads((int)state.range(0));
  torch::NoGradGuard ng;
  for (auto _ : state) {
    if (patterns) {
      Hooks h;
      h.record("blocks.*.attn.hook_pattern");
      auto y = s->pm->model->forward(s->tokens, &h);
      benchmark::DoNotOptimize(y.data_ptr<float>());
      benchmark::DoNotOptimize(h.records().size());
    } else {
      auto y = s->pm->model->forward(s->tokens);
      benchmark::DoNotOptimize(y.data_ptr<float>());
    }
  }
  const double T = (double)s->tokens.size(1);
  state.counters["tokens_per_s"] = benchmark::Counter(T * (double)state.iterations(), benchmark::Counter::kIsRate);
  state.counters["tokens"] = T;
}

BENCHMARK_CAPTURE(BM_llm_forward, none, false, false)
    ->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3.0);
BENCHMARK_CAPTURE(BM_llm_forward, float32, false, true)
    ->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3.0);
BENCHMARK_CAPTURE(BM_llm_forward, patterns, true, false)
    ->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3.0);

}  // namespace

int main(int argc, char** argv) {
  sinklab::ensure_omp_passive(argv);  // as the sinklab CLI does (src/io/omp_env.h)
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

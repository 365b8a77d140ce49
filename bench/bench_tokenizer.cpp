// Tokenizer speed: SmolLM2's byte-level BPE on the prose and code corpora (data/domains/).
//   cmake --build BUILD --target bench_tokenizer && BUILD/bench/bench_tokenizer
// Needs the test model (scripts/setup.sh); reports an error and skips without it.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/tokenizer.h"
#include "data/tokenizer_gguf.h"
#include "io/gguf.h"

namespace {

std::string model_path() {
  if (const char* p = std::getenv("SINKLAB_TEST_MODEL")) return p;
  std::string cache;
  if (const char* c = std::getenv("SINKLAB_CACHE")) cache = c;
  else if (const char* x = std::getenv("XDG_CACHE_HOME")) cache = std::string(x) + "/sinklab";
  else if (const char* h = std::getenv("HOME")) cache = std::string(h) + "/.cache/sinklab";
  return cache + "/models/SmolLM2-135M-Instruct.gguf";
}

const sinklab::Tokenizer* tokenizer() {
  static std::unique_ptr<sinklab::Tokenizer> tok = []() -> std::unique_ptr<sinklab::Tokenizer> {
    if (!std::ifstream(model_path()).good()) return nullptr;
    sinklab::gguf::GgufFile f(model_path());
    return std::make_unique<sinklab::Tokenizer>(sinklab::tokenizer_from_gguf(f));
  }();
  return tok.get();
}

const std::vector<std::string>& corpus(const std::string& name) {
  static std::vector<std::string> prose, code;
  auto& v = name == "prose" ? prose : code;
  if (v.empty()) {
    std::ifstream in(std::string(SINKLAB_DATA_DIR) + "/domains/" +
                     (name == "prose" ? "prose_wikipedia.jsonl" : "code_python.jsonl"));
    std::string line;
    while (std::getline(in, line)) v.push_back(nlohmann::json::parse(line).at("text"));
  }
  return v;
}

void encode_corpus(benchmark::State& state, const std::string& name, bool cold) {
  const auto* tok = tokenizer();
  if (!tok) {
    state.SkipWithError("test model absent (run scripts/setup.sh)");
    return;
  }
  const auto& docs = corpus(name);
  if (docs.empty()) {
    state.SkipWithError("corpus data/domains/*.jsonl absent");
    return;
  }
  size_t bytes = 0, tokens = 0;
  for (auto _ : state) {
    if (cold) tok->clear_cache();
    for (const auto& d : docs) {
      auto ids = tok->encode(d);
      tokens += ids.size();
      bytes += d.size();
      benchmark::DoNotOptimize(ids.data());
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate);
}

void BM_EncodeProseWarm(benchmark::State& s) { encode_corpus(s, "prose", false); }
void BM_EncodeProseCold(benchmark::State& s) { encode_corpus(s, "prose", true); }
void BM_EncodeCodeWarm(benchmark::State& s) { encode_corpus(s, "code", false); }

void BM_DecodeProse(benchmark::State& state) {
  const auto* tok = tokenizer();
  if (!tok || corpus("prose").empty()) {
    state.SkipWithError("test model or corpus absent");
    return;
  }
  std::vector<std::vector<int32_t>> ids;
  for (const auto& d : corpus("prose")) ids.push_back(tok->encode(d));
  size_t tokens = 0;
  for (auto _ : state) {
    for (const auto& v : ids) {
      auto s = tok->decode(v);
      tokens += v.size();
      benchmark::DoNotOptimize(s.data());
    }
  }
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate);
}

BENCHMARK(BM_EncodeProseWarm)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EncodeProseCold)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EncodeCodeWarm)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DecodeProse)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();

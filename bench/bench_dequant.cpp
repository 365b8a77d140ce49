// Dequantisation throughput per tensor type (Google Benchmark).
//   Model/<TYPE>/threads:N   every tensor of that type in the real SmolLM2-135M file
//                            (skipped, with a message, when the file is absent)
//   Synthetic/<TYPE>/threads:N  16 Mi elements of random blocks of each supported type
// bytes_per_second counts the quantised input bytes; items_per_second the floats out.
#include <omp.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "io/dequant.h"
#include "io/gguf.h"
#include "io/gguf_info.h"

using namespace sinklab::gguf;

namespace {

std::string model_path() { return test_model_path(); }

std::unique_ptr<GgufFile> g_model;

void run_tensors(benchmark::State& state, const std::vector<const TensorInfo*>& ts, int threads) {
  omp_set_num_threads(threads);
  uint64_t n = 0, bytes = 0;
  for (auto* t : ts) n = std::max<uint64_t>(n, t->n_elements);
  std::vector<float> out(n);
  for (auto _ : state) {
    bytes = 0;
    n = 0;
    for (auto* t : ts) {
      dequantize_into(*g_model, *t, out.data());
      bytes += t->n_bytes;
      n += t->n_elements;
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(int64_t(state.iterations() * bytes));
  state.SetItemsProcessed(int64_t(state.iterations() * n));
  state.counters["MB_in"] = double(bytes) / 1e6;
}

// Random blocks with finite f16 scales (every 2-byte field set to a small half).
std::vector<uint8_t> random_blocks(GgmlType t, size_t n) {
  const TypeTraits* tr = type_traits(t);
  std::vector<uint8_t> b(type_bytes(t, n));
  std::mt19937 rng(1);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  if (tr->block_size == 1) {
    if (t == GgmlType::F32) for (size_t k = 0; k < n; ++k) { float v = float(k % 97) * 0.01f; std::memcpy(&b[4 * k], &v, 4); }
    if (t == GgmlType::F16 || t == GgmlType::BF16) for (size_t k = 0; k < n; ++k) b[2 * k + 1] = 0x3c;
  } else {
    // Keep scales tame: clear the exponent's top bits of every 16-bit word.
    for (size_t k = 1; k < b.size(); k += 2) b[k] &= 0x3b;
  }
  return b;
}

void run_synthetic(benchmark::State& state, GgmlType t, int threads) {
  omp_set_num_threads(threads);
  const size_t n = size_t(1) << 24;
  std::vector<uint8_t> src = random_blocks(t, n);
  std::vector<float> out(n);
  for (auto _ : state) {
    dequantize_into(t, src.data(), out.data(), n);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(int64_t(state.iterations() * src.size()));
  state.SetItemsProcessed(int64_t(state.iterations() * n));
}

}  // namespace

int main(int argc, char** argv) {
  const int max_threads = omp_get_max_threads();
  std::vector<int> thread_counts = {1};
  if (max_threads > 1) thread_counts.push_back(max_threads);

  std::string path = model_path();
  static std::map<std::string, std::vector<const TensorInfo*>> by_type;
  if (path.empty()) {
    std::fprintf(stderr, "bench_dequant: SmolLM2-135M-Instruct.gguf not in the sinklab cache "
                         "(scripts/setup.sh fetches it): model benchmarks skipped\n");
  } else {
    g_model = std::make_unique<GgufFile>(path);
    static std::vector<const TensorInfo*> all;
    for (const auto& t : g_model->tensors()) {
      by_type[type_name(t.type)].push_back(&t);
      all.push_back(&t);
    }
    by_type["ALL"] = all;
    for (auto& [name, ts] : by_type)
      for (int th : thread_counts)
        benchmark::RegisterBenchmark(("Model/" + name + "/threads:" + std::to_string(th)).c_str(),
                                     [&ts = ts, th](benchmark::State& s) { run_tensors(s, ts, th); })
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
  }
  for (GgmlType t : {GgmlType::F32, GgmlType::F16, GgmlType::BF16, GgmlType::Q8_0, GgmlType::Q4_0,
                     GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q2_K, GgmlType::Q3_K,
                     GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::Q8_K})
    for (int th : thread_counts)
      benchmark::RegisterBenchmark(("Synthetic/" + type_name(t) + "/threads:" + std::to_string(th)).c_str(),
                                   [t, th](benchmark::State& s) { run_synthetic(s, t, th); })
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

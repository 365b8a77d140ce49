// Bigram-Backcopy generation throughput (tokens/s), single thread and all threads,
// the built-in Tiny Shakespeare source (`shakespeare`), T = 256.
#include <benchmark/benchmark.h>
#include <omp.h>

#include "data/bb.h"

using namespace sinklab;

static BBTask& task() {
  static BBTask t = [] {
    TaskConfig c;
    c.seq_len = 256;
    return BBTask(BigramSource::from_spec("shakespeare"), c);
  }();
  return t;
}

static void BM_Generate(benchmark::State& st) {
  const int threads = st.range(0) == 0 ? omp_get_max_threads() : (int)st.range(0);
  const bool oracle = st.range(1);
  const int B = 512;
  Batch b;
  uint64_t i = 0;
  for (auto _ : st) {
    task().generate(1, i++, B, b, threads, oracle);
    benchmark::DoNotOptimize(b.tokens.data());
  }
  st.counters["threads"] = threads;
  st.counters["tokens/s"] = benchmark::Counter((double)B * 257 * st.iterations(), benchmark::Counter::kIsRate);
  st.counters["tokens/s/thread"] =
      benchmark::Counter((double)B * 257 * st.iterations() / threads, benchmark::Counter::kIsRate);
}
// args: threads (0 = all), with_oracle
BENCHMARK(BM_Generate)->Args({1, 0})->Args({0, 0})->Args({1, 1})->Args({0, 1})->UseRealTime()->MinTime(1.0);

BENCHMARK_MAIN();

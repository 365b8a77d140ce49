// Training speed of the toy transformer (issue 3, "Speed"):
//   matmul/N/threads:K       the machine's float32 matrix-multiply peak (torch::matmul,
//                            N x N x N), counter GFLOP/s = 2 N^3 / wall time
//   train/<preset>/threads:K exactly the trainer's step (src/train/trainer.cpp): a fresh
//                            BB batch from BBTask::generate (made on a second thread
//                            while the previous step runs, as the trainer's
//                            prefetcher does), to_tensors, Transformer::token_nll,
//                            mean, zero_grad, backward, loss.item(), the optimizer's
//                            step (make_optimizer: the preset's, AdamW).
//                            Counters: steps_per_s, tokens_per_s, GFLOP/s (analytic
//                            forward+backward FLOPs, see step_flops), and the shapes.
//                            cpu-lm: the language-model preset of `sinklab pretrain`
//                            (Llama-style, byte tokens from its Debian corpus).
//                            cpu-3l:KEY=VALUE: cpu-3l with one of the mitigation lab's
//                            changes (Muon, SGD, clipped softmax, element-wise output
//                            gate), to price each against the AdamW softmax step.
//   forward/<hooks>          cpu-3l forward pass (no grad, 1 thread) with no Hooks object, an
//                            empty Hooks object, every attention pattern recorded,
//                            record_all: recording nothing costs nothing.
// paper-1l runs with batch 64 instead of the preset's 512 (2-core machine).
// Run: build-bench/bench/bench_train --benchmark_format=json   (bench/compare_train.py
// runs it next to the PyTorch script bench/train_pytorch.py).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "io/omp_env.h"
#include "data/bb.h"
#include "data/bigram.h"
#include "data/torch/batch_tensor.h"
#include "model/hooks.h"
#include "model/transformer.h"
#include "train/config.h"
#include "train/trainer.h"

namespace {

using namespace sinklab;

// Threads as the trainer sets them (sinklab::set_compute_threads: LibTorch and
// OpenBLAS). SINKLAB_BENCH_ATEN_THREADS_ONLY=1 sets LibTorch's only, as
// torch.set_num_threads does from Python (to measure what the OpenBLAS part buys).
void set_threads(int n) {
  const char* e = std::getenv("SINKLAB_BENCH_ATEN_THREADS_ONLY");
  if (e && std::string(e) == "1") at::set_num_threads(n);
  else set_compute_threads(n);
}

int all_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n ? (int)n : 1;
}

// Forward + backward FLOPs of one training step (2 per multiply-add; backward = 2x
// forward): 3 * B * [T * (L * 24 d^2 + 2 d V) + L * 4 T^2 d]. The attention
// score and value matmuls are counted in full (T x T), as they are computed.
// Gated MLPs (SwiGLU) have three d x ff matrices; grouped-query attention smaller K, V.
double step_flops(const ModelSpec& s, int B, int T) {
  const double d = s.d_model, L = s.n_layers, V = s.vocab, ff = s.ff();
  const double q = (double)s.n_heads * s.hd(), kv = (double)s.kv_heads() * s.hd();
  const double mats = mlp_gated(s.mlp) ? 3 : 2;
  const double per_token = L * (2.0 * (2 * d * q + 2 * d * kv) + 2.0 * mats * d * ff) + 2.0 * d * V;
  const double attn = L * 2.0 * 2 * (double)T * T * d;  // QK^T and PV per sequence
  return 3.0 * B * (T * per_token + attn);
}

// "PRESET" or "PRESET:key=value" (one override: the mitigation lab's variants).
TrainConfig preset_config(const std::string& spec) {
  const auto colon = spec.find(':');
  const std::string preset = spec.substr(0, colon);
  std::vector<std::string> sets;
  if (preset.rfind("paper-", 0) == 0) sets.push_back("train.batch_size=64");
  if (colon != std::string::npos) sets.push_back(spec.substr(colon + 1));
  return load_train_config(preset, "", sets);
}

void BM_Matmul(benchmark::State& state) {
  const int64_t N = state.range(0);
  const int threads = (int)state.range(1);
  set_threads(threads);
  torch::NoGradGuard ng;
  auto a = torch::randn({N, N}), b = torch::randn({N, N});
  auto c = torch::matmul(a, b);  // warm-up
  for (auto _ : state) {
    c = torch::matmul(a, b);
    benchmark::DoNotOptimize(c.data_ptr<float>());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * N * N * N / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["threads"] = threads;
}

void BM_Train(benchmark::State& state, std::string preset) {
  const int threads = (int)state.range(0);
  set_threads(threads);
  TrainConfig c = preset_config(preset);
  TrainData task(c);  // BB batches, or windows of the lm presets' corpus
  Transformer model(c.model_spec(task.vocab()));
  model.init_weights((uint64_t)c.seed, parse_init_scheme(c.init));
  for (auto& p : model.parameters()) p.set_requires_grad(true);
  auto optimizer = make_optimizer(c, model);
  torch::optim::Optimizer& opt = *optimizer;
  const int B = c.batch_size;
  const int64_t T = c.seq_len;
  int64_t index = 0;
  auto gen = [&task, &c, B](int64_t i) {
    Batch b;
    task.generate((uint64_t)c.seed, (uint64_t)i, B, b);  // as the trainer's prefetcher
    return b;
  };
  auto next = std::async(std::launch::async, gen, index++);
  double last_loss = 0;
  auto step = [&] {
    Batch b = next.get();
    next = std::async(std::launch::async, gen, index++);
    TensorBatch tb = to_tensors(b);
    auto tokens = tb.tokens.to(torch::kCPU);
    auto nll = model.token_nll(tokens);
    auto loss = nll.mean();
    opt.zero_grad();
    loss.backward();
    last_loss = loss.item<double>();
    opt.step();
  };
  step();  // warm-up: allocates the optimizer state
  for (auto _ : state) step();
  next.wait();
  if (!std::isfinite(last_loss)) state.SkipWithError("non-finite loss");
  const double it = (double)state.iterations();
  state.counters["steps_per_s"] = benchmark::Counter(it, benchmark::Counter::kIsRate);
  state.counters["tokens_per_s"] = benchmark::Counter(it * B * T, benchmark::Counter::kIsRate);
  state.counters["GFLOP/s"] =
      benchmark::Counter(it * step_flops(model.spec(), B, (int)T) / 1e9, benchmark::Counter::kIsRate);
  state.counters["GFLOP_per_step"] = step_flops(model.spec(), B, (int)T) / 1e9;
  state.counters["threads"] = threads;
  state.counters["batch"] = B;
  state.counters["seq_len"] = (double)T;
  state.counters["d_model"] = model.spec().d_model;
  state.counters["layers"] = model.spec().n_layers;
  state.counters["vocab"] = model.spec().vocab;
  state.counters["params"] = (double)model.n_params();
}

enum HookMode { kNoHooks = 0, kEmptyHooks = 1, kPatterns = 2, kRecordAll = 3 };

void BM_ForwardHooks(benchmark::State& state) {
  const auto mode = (HookMode)state.range(0);
  set_threads(1);  // one thread: the per-hook-point cost is not hidden in barrier waits
  TrainConfig c = preset_config("cpu-3l");
  BBTask task(BigramSource::from_spec(c.source), c.task_config());
  Transformer model(c.model_spec(task.vocab_size()));
  model.init_weights(1);
  Batch b;
  task.generate(1, 0, c.batch_size, b, 1, false);
  auto tokens = to_tensors(b).tokens.narrow(1, 0, c.seq_len).contiguous();
  torch::NoGradGuard ng;
  Hooks hooks;
  if (mode == kPatterns) hooks.record(HookPoint::Pattern, -1);
  if (mode == kRecordAll) hooks.record_all();
  Hooks* hp = mode == kNoHooks ? nullptr : &hooks;
  for (auto _ : state) {
    hooks.clear_records();
    auto logits = model.forward(tokens, hp);
    benchmark::DoNotOptimize(logits.data_ptr<float>());
  }
  state.counters["recorded"] = (double)hooks.records().size();
  state.counters["tokens_per_s"] =
      benchmark::Counter((double)state.iterations() * c.batch_size * c.seq_len, benchmark::Counter::kIsRate);
}

const char* hook_mode_name(int m) {
  static const char* names[] = {"no_hooks", "empty_hooks", "record_patterns", "record_all"};
  return names[m];
}

int register_all() {
  const int nt = all_threads();
  std::vector<int> thread_counts{1};
  if (nt > 1) thread_counts.push_back(nt);
  for (int N : {1024, 2048})
    for (int t : thread_counts)
      benchmark::RegisterBenchmark(("matmul/" + std::to_string(N) + "/threads:" + std::to_string(t)).c_str(), BM_Matmul)
          ->Args({N, t})
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond)
          ->MinTime(1.0);
  for (const std::string preset :
       {"cpu-1l", "cpu-3l", "paper-1l", "cpu-lm", "cpu-3l:train.optimizer=muon", "cpu-3l:train.optimizer=sgd",
        "cpu-3l:model.attention=clipped-softmax", "cpu-3l:model.attn_gate=element"})
    for (int t : thread_counts) {
      auto* bm = benchmark::RegisterBenchmark(("train/" + preset + "/threads:" + std::to_string(t)).c_str(),
                                              [preset](benchmark::State& s) { BM_Train(s, preset); });
      bm->Args({t})->UseRealTime()->Unit(benchmark::kMillisecond);
      if (preset.rfind("paper-", 0) == 0) bm->Iterations(4);
      else bm->MinTime(3.0);
    }
  for (int m = 0; m < 4; ++m)
    benchmark::RegisterBenchmark((std::string("forward/cpu-3l/") + hook_mode_name(m)).c_str(), BM_ForwardHooks)
        ->Args({m})
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond)
        ->MinTime(2.0);
  return 0;
}

const int registered = register_all();

}  // namespace

int main(int argc, char** argv) {
  sinklab::ensure_omp_passive(argv);  // as the sinklab CLI does (src/io/omp_env.h)
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

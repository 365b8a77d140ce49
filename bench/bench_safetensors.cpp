// safetensors: header parse time and read bandwidth of a 64 MB file.
//   BM_ParseHeader/N     mmap + validate a header of N tensors (data not touched)
//   BM_ReadF32|F16|BF16  open a 64 MB file and convert every tensor with to_f32
//   BM_Write             write the 64 MB F32 file atomically
// The files are generated on first use in $TMPDIR and removed at exit.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "io/safetensors.h"

namespace fs = std::filesystem;
using namespace sinklab;

namespace {

constexpr std::size_t kFileBytes = 64u << 20;

struct TempDir {
  fs::path dir = fs::temp_directory_path() / ("sinklab_bench_st_" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(dir); }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};
TempDir& tmp() {
  static TempDir t;
  return t;
}

// A model-like file: `n` tensors of equal size adding up to `total` bytes.
std::string make_file(DType dt, int n, std::size_t total) {
  std::string path = (tmp().dir / (std::string(dtype_name(dt)) + "_" + std::to_string(n) + "_" + std::to_string(total) +
                                   ".safetensors"))
                         .string();
  if (fs::exists(path)) return path;
  const std::size_t es = dtype_size(dt);
  const std::size_t per = total / n / es;  // elements per tensor
  std::vector<std::uint8_t> data(per * es * n);
  std::mt19937 rng(1);
  if (dt == DType::F32) {
    std::uniform_real_distribution<float> u(-1, 1);
    for (std::size_t i = 0; i < data.size() / 4; ++i) {
      float v = u(rng);
      std::memcpy(&data[4 * i], &v, 4);
    }
  } else {
    for (std::size_t i = 0; i < data.size() / 2; ++i) {
      std::uint16_t h =
          dt == DType::F16 ? f32_to_f16(float(rng() % 2000) / 1000 - 1) : f32_to_bf16(float(rng() % 2000) / 1000 - 1);
      std::memcpy(&data[2 * i], &h, 2);
    }
  }
  std::vector<TensorToWrite> ts;
  for (int i = 0; i < n; ++i)
    ts.push_back({"model.layers." + std::to_string(i / 9) + ".weight_" + std::to_string(i % 9),
                  dt,
                  {static_cast<std::int64_t>(per)},
                  data.data() + i * per * es,
                  per * es});
  write_safetensors(path, ts, {{"format", "pt"}});
  return path;
}

void BM_ParseHeader(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const std::string path = make_file(DType::F32, n, std::size_t(n) * 64);
  std::uint64_t header = 0;
  for (auto _ : state) {
    SafetensorsFile f(path);
    header = f.header_size();
    benchmark::DoNotOptimize(f.tensors().data());
  }
  state.counters["header_bytes"] = static_cast<double>(header);
  state.counters["tensors"] = n;
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * header));
}
BENCHMARK(BM_ParseHeader)->Arg(300)->Arg(3000)->Unit(benchmark::kMicrosecond);

void read_all(benchmark::State& state, DType dt) {
  const std::string path = make_file(dt, 64, kFileBytes);
  std::vector<float> out;
  std::uint64_t bytes = 0;
  for (auto _ : state) {
    SafetensorsFile f(path);
    bytes = 0;
    for (const auto& t : f.tensors()) {
      out.resize(static_cast<std::size_t>(t.numel()));
      to_f32(t, out.data(), out.size());
      benchmark::DoNotOptimize(out.data());
      bytes += t.nbytes;
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}
void BM_ReadF32(benchmark::State& s) { read_all(s, DType::F32); }
void BM_ReadF16(benchmark::State& s) { read_all(s, DType::F16); }
void BM_ReadBF16(benchmark::State& s) { read_all(s, DType::BF16); }
BENCHMARK(BM_ReadF32)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ReadF16)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ReadBF16)->Unit(benchmark::kMillisecond);

void BM_Write(benchmark::State& state) {
  std::vector<float> data(kFileBytes / 4, 0.5f);
  const std::size_t per = data.size() / 64;
  std::vector<TensorToWrite> ts;
  for (int i = 0; i < 64; ++i)
    ts.push_back(
        {"w" + std::to_string(i), DType::F32, {static_cast<std::int64_t>(per)}, data.data() + i * per, per * 4});
  const std::string path = (tmp().dir / "write.safetensors").string();
  for (auto _ : state) write_safetensors(path, ts);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kFileBytes));
}
BENCHMARK(BM_Write)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();

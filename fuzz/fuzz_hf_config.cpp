// libFuzzer target for Hugging Face config.json handling (src/model/arch/hf_dir.h): parse the
// input as config.json; if it is accepted, check its RoPE settings and compute the
// rotary frequencies (src/model/arch/rope.h) at a few sequence lengths, then map it onto
// the weights of the tiny models in tests/data/hf (shape/dtype checks) and read every
// mapped weight, whole and, where it can stay stored (BF16/F16), as two blocks of rows.
// Only InputError may escape; accepted RoPE settings must give finite, positive
// frequencies; mapped weights must have their declared size, and rows filled from the
// stored form must equal the weight read whole.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/error.h"
#include "model/arch/hf_dir.h"
#include "io/json_io.h"
#include "io/safetensors.h"

namespace {
const std::vector<std::unique_ptr<sinklab::ShardedSafetensors>>& weights() {
  static std::vector<std::unique_ptr<sinklab::ShardedSafetensors>> w = [] {
    // tests/data/hf next to this file (__FILE__ is absolute or relative to the build
    // dir, where the fuzzer is run from); $SINKLAB_HF_TESTDATA overrides.
    std::string base = std::getenv("SINKLAB_HF_TESTDATA") ? std::getenv("SINKLAB_HF_TESTDATA") : "";
    if (base.empty()) {
      std::string f = __FILE__;
      base = f.substr(0, f.find_last_of('/') + 1) + "../tests/data/hf";
    }
    std::vector<std::unique_ptr<sinklab::ShardedSafetensors>> v;
    for (const char* d : {"gpt2", "llama", "gpt_neox", "olmo", "series/step200", "qwen3", "olmo2", "gemma2", "gemma3",
                          "phi3", "llama_rope_yarn", "llama_bf16"}) {
      try {
        v.push_back(std::make_unique<sinklab::ShardedSafetensors>(base + "/" + d));
      } catch (const sinklab::InputError&) {
      }
    }
    return v;
  }();
  return w;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)sinklab::hf::step_from_name(text);
  sinklab::hf::HfConfig c;
  try {
    c = sinklab::hf::parse_config(sinklab::parse_json(text, "fuzz"), "fuzz/config.json");
  } catch (const sinklab::InputError&) {
    return 0;
  }
  const sinklab::ModelSpec& s = c.spec;
  if (s.pos == sinklab::PosKind::Rotary) {
    try {
      sinklab::check_rope_scaling(s.rope_scaling, s.rope_dim);
      sinklab::check_rope_scaling(s.rope_local_scaling, s.rope_dim);
      for (bool local : {false, true})
        for (std::int64_t len : {1, 7, 4096, 1 << 20}) {
          const auto f = sinklab::rope_freqs(s, local, len);
          if (f.inv_freq.size() != (std::size_t)s.rope_dim / 2 || !std::isfinite(f.attention_factor)) std::abort();
          for (double x : f.inv_freq)
            if (std::isnan(x) || x < 0) std::abort();
        }
    } catch (const sinklab::InputError&) {
    }
  }
  for (const auto& st : weights()) {
    try {
      for (const auto& w : sinklab::hf::map_weights(c, *st)) {
        auto v = sinklab::hf::read_weight(w, *st);
        std::int64_t n = 1;
        for (auto x : w.dst_shape) n *= x;
        if ((std::int64_t)v.size() != n) std::abort();
        // Stored weights (BF16/F16 rows filled on use) equal the weight read whole.
        if (sinklab::hf::can_fill_rows(w, *st)) {
          const std::int64_t rows = w.dst_shape[0], cols = w.dst_shape[1], half = rows / 2;
          std::vector<float> r((std::size_t)n);
          const sinklab::TensorView& t = st->get(w.src);
          sinklab::hf::fill_weight_rows(w, t, 0, half, r.data());
          sinklab::hf::fill_weight_rows(w, t, half, rows - half, r.data() + half * cols);
          if (std::memcmp(r.data(), v.data(), r.size() * sizeof(float)) != 0) std::abort();
        }
      }
    } catch (const sinklab::InputError&) {
    }
  }
  return 0;
}

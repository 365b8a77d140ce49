// libFuzzer target for the GGUF reader and dequantisation.
// Parses the input in place (GgufFile::from_memory, no copy, so ASan sees any
// read past the end), reads the metadata through the typed getters, summarises
// the file and dequantises every tensor. InputError is the only allowed outcome
// for bad input. See docs/fuzzing.md.
#include <omp.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/dequant.h"
#include "io/error.h"
#include "io/gguf.h"
#include "io/gguf_info.h"

using namespace sinklab::gguf;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  omp_set_num_threads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    GgufFile f = GgufFile::from_memory(data, size, "fuzz.gguf");
    for (const auto& [key, v] : f.metadata()) {
      (void)v.to_string();
      try { (void)f.get_u32(key); } catch (const sinklab::InputError&) {}
      try { (void)f.get_i64(key); } catch (const sinklab::InputError&) {}
      try { (void)f.get_f32(key); } catch (const sinklab::InputError&) {}
      try { (void)f.get_string(key); } catch (const sinklab::InputError&) {}
      try { (void)f.get_string_array(key); } catch (const sinklab::InputError&) {}
      try { (void)f.get_i32_array(key); } catch (const sinklab::InputError&) {}
      try { (void)f.get_f32_array(key); } catch (const sinklab::InputError&) {}
    }
    try {
      GgufSummary s = summarize(f);
      (void)summary_to_text(s, true);
      (void)summary_to_json(s, true).dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
    } catch (const sinklab::InputError&) {
    }
    std::vector<float> buf;
    for (const auto& t : f.tensors()) {
      if (!dequant_supported(t.type)) continue;
      buf.resize(t.n_elements);
      dequantize_into(f, t, buf.data());
      dequantize_row(f, t, t.n_rows() - 1, buf.data());
    }
  } catch (const sinklab::InputError&) {
  }
  return 0;
}

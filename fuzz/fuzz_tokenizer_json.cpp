// libFuzzer target for the Hugging Face tokenizer.json reader
// (data/tokenizer_hf.h tokenizer_data_from_hf_json) and the Tokenizer built from it.
//
// Input layout: tokenizer.json text, optionally followed by a 0x00 byte and a
// tokenizer_config.json text, optionally followed by another 0x00 and a text to
// encode. Checked properties (a failure aborts): reading, building and encoding
// throw nothing but InputError; every id encoded is in range; decode accepts them.
// Build and run (seed with the committed tokenizer files):
//   cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
//       -DCMAKE_CXX_COMPILER=clang++ -DSINKLAB_TORCH=OFF -DSINKLAB_TESTS=OFF -DSINKLAB_BENCH=OFF \
//       -DSINKLAB_FUZZ=ON      (the `fuzz` preset)
//   cmake --build build-fuzz -j1 --target fuzz_tokenizer_json
//   mkdir -p build-fuzz/tokjson-corpus && cp tests/data/hf_tok/*/tokenizer.json build-fuzz/tokjson-corpus/
//   build-fuzz/fuzz/fuzz_tokenizer_json build-fuzz/tokjson-corpus -max_len=70000 -rss_limit_mb=2048 \
//       -timeout=20 -max_total_time=600 -artifact_prefix=build-fuzz/
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "data/tokenizer.h"
#include "data/tokenizer_hf.h"
#include "io/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string_view json = in, config, text = "Hello world 123, \xC3\xA9t\xC3\xA9!\n\tcode()  <eos>";
  if (size_t z = in.find('\0'); z != std::string_view::npos) {
    json = in.substr(0, z);
    config = in.substr(z + 1);
    if (size_t z2 = config.find('\0'); z2 != std::string_view::npos) {
      text = config.substr(z2 + 1);
      config = config.substr(0, z2);
    }
  }
  try {
    sinklab::TokenizerData d = sinklab::tokenizer_data_from_hf_json(json, "fuzz.json", config, "fuzz_config.json");
    const sinklab::Tokenizer tok(std::move(d), "fuzz.json");
    for (bool special : {false, true}) {
      sinklab::EncodeOptions o;
      o.parse_special = special;
      const std::vector<int32_t> ids = tok.encode(text, o);
      for (int32_t id : ids) {
        if (id < 0 || static_cast<size_t>(id) >= tok.vocab_size()) {
          std::fprintf(stderr, "id %d out of range (vocabulary %zu)\n", id, tok.vocab_size());
          std::abort();
        }
      }
      (void)tok.decode(ids);
    }
  } catch (const sinklab::InputError&) {
    // bad input: fine
  }
  return 0;
}

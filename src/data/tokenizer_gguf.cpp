// tokenizer.ggml.* metadata -> TokenizerData -> Tokenizer.
#include "data/tokenizer_gguf.h"

#include <fmt/format.h>

#include "io/error.h"
#include "io/gguf.h"

namespace sinklab {

TokenizerData tokenizer_data_from_gguf(const gguf::GgufFile& f) {
  const std::string& path = f.path();
  TokenizerData d;
  if (!f.has("tokenizer.ggml.model"))
    fail(fmt::format("'{}': metadata key 'tokenizer.ggml.model' is missing (the file has no tokenizer)", path));
  d.model = f.get_string("tokenizer.ggml.model");
  if (d.model != "gpt2" && d.model != "llama")
    fail(fmt::format("'{}': unsupported tokenizer model '{}' (supported: gpt2, llama)", path, d.model));
  d.tokens = f.get_string_array("tokenizer.ggml.tokens");
  const size_t n = d.tokens.size();
  if (f.has("tokenizer.ggml.token_type")) {
    d.token_types = f.get_i32_array("tokenizer.ggml.token_type");
    if (d.token_types.size() < n)
      fail(fmt::format("'{}': tokenizer.ggml.token_type has {} entries for {} tokens", path,
                       d.token_types.size(), n));
    d.token_types.resize(n);
  }
  if (f.has("tokenizer.ggml.scores")) {
    d.scores = f.get_f32_array("tokenizer.ggml.scores");
    if (d.scores.size() < n)
      fail(fmt::format("'{}': tokenizer.ggml.scores has {} entries for {} tokens", path, d.scores.size(), n));
    d.scores.resize(n);
  }

  bool add_bos_default;
  if (d.model == "gpt2") {
    d.pre = f.get_string_or("tokenizer.ggml.pre", "default");
    try {
      add_bos_default = pretokenizer_info(d.pre).default_add_bos;
    } catch (const InputError& e) {
      fail(fmt::format("'{}': {}", path, e.what()));
    }
    if (!f.has("tokenizer.ggml.merges"))
      fail(fmt::format("'{}': metadata key 'tokenizer.ggml.merges' is missing (needed by a gpt2 tokenizer)", path));
    d.merges = f.get_string_array("tokenizer.ggml.merges");
    d.add_space_prefix = false;
  } else {
    d.pre = f.get_string_or("tokenizer.ggml.pre", "default");
    add_bos_default = true;
    d.bos_id = 1;
    d.eos_id = 2;
    d.unk_id = 0;
    d.add_space_prefix = f.get_bool_or("tokenizer.ggml.add_space_prefix", true);
  }
  const auto read_id = [&](const char* key, int32_t& id) {
    if (!f.has(key)) {
      if (id >= (int64_t)n) id = -1;  // a default that does not fit this vocabulary
      return;
    }
    const int64_t v = f.get_i64(key);
    if (v < 0 || v >= (int64_t)n)
      fail(fmt::format("'{}': {} = {} is out of range (vocabulary of {})", path, key, v, n));
    id = static_cast<int32_t>(v);
  };
  read_id("tokenizer.ggml.bos_token_id", d.bos_id);
  read_id("tokenizer.ggml.eos_token_id", d.eos_id);
  read_id("tokenizer.ggml.unknown_token_id", d.unk_id);
  read_id("tokenizer.ggml.padding_token_id", d.pad_id);
  d.add_bos = f.get_bool_or("tokenizer.ggml.add_bos_token", add_bos_default);
  d.add_eos = f.get_bool_or("tokenizer.ggml.add_eos_token", false);
  if (d.add_bos && d.bos_id < 0)
    fail(fmt::format("'{}': tokenizer.ggml.add_bos_token is set but there is no BOS token", path));
  if (d.add_eos && d.eos_id < 0)
    fail(fmt::format("'{}': tokenizer.ggml.add_eos_token is set but there is no EOS token", path));
  return d;
}

Tokenizer tokenizer_from_gguf(const gguf::GgufFile& f) {
  return Tokenizer(tokenizer_data_from_gguf(f), "'" + f.path() + "'");
}

}  // namespace sinklab

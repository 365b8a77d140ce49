// Builds a Tokenizer from the tokenizer.ggml.* metadata of a GGUF file.
#pragma once
#include "data/tokenizer.h"

namespace sinklab {
namespace gguf {
class GgufFile;
}

// Reads tokenizer.ggml.model ("gpt2" or "llama"), .pre, .tokens, .token_type,
// .scores, .merges, the special token ids and the add_bos/add_eos/add_space_prefix
// flags, with llama.cpp's defaults where a key is absent (add_bos: true for
// "llama", the pre-tokenizer's default for "gpt2"; add_eos: false). InputError
// naming the file on a missing or malformed key.
Tokenizer tokenizer_from_gguf(const gguf::GgufFile& file);

// The TokenizerData alone (same rules), e.g. to inspect or change it.
TokenizerData tokenizer_data_from_gguf(const gguf::GgufFile& file);

}  // namespace sinklab

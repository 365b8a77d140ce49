// Tokenizers of Hugging Face model directories (torch-free).
#pragma once
#include <optional>
#include <string>

#include "data/tokenizer.h"

namespace sinklab {

// Tokenizer of a Hugging Face model directory (tokenizer.json, else tokenizer.model).
// std::nullopt if the directory has neither file. InputError on malformed files.
std::optional<Tokenizer> tokenizer_from_hf_dir(const std::string& dir);

}  // namespace sinklab

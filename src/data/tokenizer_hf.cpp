// Hugging Face tokenizer.json / tokenizer.model -> Tokenizer (work in progress).
#include "data/tokenizer_hf.h"

#include <filesystem>

#include "io/error.h"

namespace sinklab {

std::optional<Tokenizer> tokenizer_from_hf_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const bool has_json = fs::is_regular_file(fs::path(dir) / "tokenizer.json", ec);
  const bool has_model = fs::is_regular_file(fs::path(dir) / "tokenizer.model", ec);
  if (!has_json && !has_model) return std::nullopt;
  fail("'" + dir + "': Hugging Face tokenizers are not implemented yet");
}

}  // namespace sinklab

// A summary of a GGUF model file for `sinklab model info` (the CLI only prints it).
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "io/gguf.h"

namespace sinklab::gguf {

struct GgufSummary {
  std::string path;
  uint32_t version = 0;
  uint64_t file_size = 0;
  uint64_t alignment = 0;
  uint64_t n_metadata = 0;
  std::string architecture;  // "" if the file names none
  std::string name;          // general.name
  std::optional<std::string> file_type;  // general.file_type as text ("MOSTLY_Q4_1")
  // Dimensions ({arch}.* keys); absent keys stay empty.
  std::optional<uint64_t> n_layers, d_model, n_heads, n_kv_heads, head_dim, ffn_dim, context;
  std::optional<uint64_t> rope_dims;
  std::optional<double> rope_base, norm_eps;
  // Tokenizer.
  std::optional<std::string> tokenizer_model, tokenizer_pre;
  std::optional<uint64_t> vocab_size, n_merges;
  std::optional<int64_t> bos_id, eos_id;
  std::optional<bool> add_bos;
  // Tensors.
  uint64_t n_tensors = 0, n_params = 0, tensor_bytes = 0;
  std::map<std::string, uint64_t> tensors_per_type;  // "Q4_1" -> count
  std::map<std::string, uint64_t> bytes_per_type;
  struct Tensor {
    std::string name, type;
    std::vector<int64_t> shape;  // row-major
    uint64_t n_elements = 0, n_bytes = 0, offset = 0;  // offset: absolute in the file
  };
  std::vector<Tensor> tensors;
};

// The sinklab cache directory: $SINKLAB_CACHE, else $XDG_CACHE_HOME/sinklab, else
// $HOME/.cache/sinklab (scripts/setup.sh puts the test model in <cache>/models/).
std::string sinklab_cache_dir();
// <cache>/models/SmolLM2-135M-Instruct.gguf if that file exists, else "" (tests skip).
std::string test_model_path();

// Reads the summary; InputError if a present key has an unusable type.
GgufSummary summarize(const GgufFile& file);

nlohmann::json summary_to_json(const GgufSummary& s, bool with_tensors);
std::string summary_to_text(const GgufSummary& s, bool with_tensors);

}  // namespace sinklab::gguf

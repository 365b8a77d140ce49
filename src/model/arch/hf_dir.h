// Hugging Face model directories, torch-free: config.json -> the ModelSpec of the one
// block family (through the architecture table, src/model/arch/arch.h), the mapping of
// the checkpoint's tensor names onto sinklab's parameter names (src/model/transformer.h)
// with every shape checked against the config, weights read as float32 from (sharded) safetensors, a summary for
// `sinklab model info DIR`, and checkpoint series (revisions ordered by step).
// The torch side (src/model/hf_model.cpp) only copies the floats into a Transformer.
//
// Architectures: src/model/arch/<family>.cpp (llama, mistral, qwen2, olmo; gpt_neox; gpt2).
// Every problem is an InputError with one line naming the file and the key or tensor.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "model/arch/arch.h"
#include "model/spec.h"

namespace sinklab::hf {

// config.json, read once: the family that reads its model_type and the ModelSpec it
// describes (not finalized; src/model/hf_model.cpp finalizes it and builds the model).
struct HfConfig {
  std::string dir, config_path;
  std::string model_type;   // as in config.json
  const Architecture* arch = nullptr;
  ModelSpec spec;
  std::string torch_dtype;  // informational ("" if absent)
};

// True if `path` is a directory holding config.json.
bool is_hf_dir(const std::string& path);
// Reads and checks <dir>/config.json. InputError "'<dir>/config.json': <key>: <problem>".
HfConfig read_config(const std::string& dir);
HfConfig parse_config(const nlohmann::json& j, const std::string& config_path);

// One sinklab parameter and where it comes from. The source tensor (shape src_shape
// in the file) is transposed first if `transpose` (2-D only), then, if `rows` is not
// empty, the row blocks [start, start+count) are concatenated (fused QKV splits); then
// `offset` is added.
struct WeightMap {
  std::string src, dst;
  std::vector<int64_t> src_shape, dst_shape;
  bool transpose = false;
  std::vector<std::pair<int64_t, int64_t>> rows;
  float offset = 0;  // added to every value (Gemma stores norm gains as w - 1)
};

// Every parameter of the sinklab model the config describes (one entry each, from the
// family's table). Checks that each source tensor exists (with either of the usual
// prefixes, e.g. "transformer." for GPT-2), has the shape the config implies and dtype
// F32/F16/BF16; InputError naming the shard file and the tensor.
std::vector<WeightMap> map_weights(const HfConfig& c, const ShardedSafetensors& st);
// The floats of one mapped parameter (row-major, dst_shape).
std::vector<float> read_weight(const WeightMap& w, const ShardedSafetensors& st);
// Whether a weight can stay in the file and be converted rows at a time
// (fill_weight_rows): stored as F16/BF16, 2-D, not transposed, no offset.
bool can_fill_rows(const WeightMap& w, const ShardedSafetensors& st);
// Rows [row0, row0 + n) of the parameter (after w.rows' selection) as float32.
void fill_weight_rows(const WeightMap& w, const TensorView& t, int64_t row0, int64_t n, float* dst);

// `sinklab model info DIR`.
struct HfSummary {
  HfConfig config;
  std::string weights;       // index .json or .safetensors path
  std::size_t n_shards = 0, n_tensors = 0;
  int64_t n_params = 0;      // of the sinklab model (tied embeddings counted once)
  std::map<std::string, int64_t> tensors_per_dtype;
  std::string tokenizer;     // "tokenizer.json", "tokenizer.model" or "" (none)
};
// Reads config and weights headers and validates every mapped tensor.
HfSummary summarize(const std::string& dir);
std::string summary_to_text(const HfSummary& s);
nlohmann::json summary_to_json(const HfSummary& s);

// ---------------------------------------------------------------- checkpoint series
// The step number of a revision name: the digits after the last "step" (any case)
// in the name, e.g. "step1000", "stage1-step1000-tokens4B", "revision_step42".
std::optional<int64_t> step_from_name(const std::string& name);

struct Checkpoint {
  int64_t step = 0;
  std::string path;
  HfConfig config;
};
// Each path is a model directory (config.json) or a directory whose subdirectories
// are model directories (revisions; those without a step in their name, such as
// "main", are skipped there). The result is ordered by step. InputError when
// a revision has no step in its name, two share a step, their architectures or
// dimensions differ, or a path is neither kind of directory.
std::vector<Checkpoint> checkpoint_series(const std::vector<std::string>& paths);

}  // namespace sinklab::hf

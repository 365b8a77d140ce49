// Pretrained LLMs on the one block family: a ModelSpec and weights read from a GGUF
// model file or a Hugging Face model directory, through the architecture table
// (src/model/arch/arch.h: one file per family).
#pragma once
#include <memory>
#include <cstdint>
#include <string>
#include <vector>

#include "data/tokenizer.h"

namespace sinklab {

class Transformer;
namespace gguf {
class GgufFile;
}

struct PretrainedModel {
  std::string path, arch, name;
  std::unique_ptr<Transformer> model;
  std::unique_ptr<Tokenizer> tokenizer;  // null: a HF directory without tokenizer files
  // The tokenizer; InputError "'<path>' has no tokenizer ..." when there is none.
  const Tokenizer& tok() const;
  PretrainedModel();
  ~PretrainedModel();
  PretrainedModel(PretrainedModel&&) noexcept;
};

// The families that have a GGUF table (src/model/arch/: llama, mistral, qwen2, qwen3,
// olmo2, gemma, gemma2, gemma3, phi3). InputError for others, or for
// missing metadata and tensors of the wrong shape. From a reference: every weight
// dequantised to float32 at load. From a shared file: the weight matrices stay in the
// file's mapping as quantised blocks and are dequantised a layer at a time (StoredWeight).
std::unique_ptr<Transformer> transformer_from_gguf(const gguf::GgufFile& f);
std::unique_ptr<Transformer> transformer_from_gguf(std::shared_ptr<const gguf::GgufFile> f);

struct LoadOptions {
  // "stored": weight matrices stay in the file in their stored type (GGUF quantised
  // blocks, safetensors F16/BF16) and are converted a layer at a time while they are
  // used; "float32": all converted once at load (more memory; no conversion per pass).
  std::string weights = "stored";
  // Where the model runs and in which dtype: device "cpu" or "cuda" (a CUDA LibTorch and
  // a GPU), dtype "float32", "bfloat16" or "float16". Anything but cpu/float32 makes every
  // weight an ordinary tensor on that device, in that dtype (stored weights are
  // converted once, at load); norms and the attention softmax are computed in float32.
  std::string device = "cpu";
  std::string dtype = "float32";
};
// Opens a GGUF model file, or a Hugging Face model directory (src/model/hf_model.h;
// its tokenizer from tokenizer.json / tokenizer.model when present), given by path or
// by name (src/io/model_path.h: sinklab's model cache, the Hugging Face hub cache).
PretrainedModel load_pretrained(const std::string& model, const LoadOptions& opt = {});

// The perplexity recipe of llama.cpp's reference (tests/tools/llamacpp_reference.py,
// docs/parity.md): `ids` (one document, tokenized alone) is cut into consecutive
// non-overlapping chunks of ctx tokens (the last may be shorter; chunks of fewer than
// 2 tokens are dropped); each chunk is evaluated from scratch (positions 0..) and every
// position but its first is scored: NLL(token[i] | chunk tokens before i), natural log.
struct ChunkedNll {
  double nll_sum = 0;
  int64_t n_scored = 0;
  int64_t n_chunks = 0;
};
ChunkedNll chunked_nll(const Transformer& model, const std::vector<int32_t>& ids, int ctx);

}  // namespace sinklab

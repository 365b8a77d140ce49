// Hugging Face model directories on the one block family (src/model/transformer.h).
// config.json and the weight mapping are read torch-free (src/model/arch/hf_dir.h,
// one file per family under src/model/arch/); this file builds the Transformer. load_pretrained(DIR)
// (src/model/pretrained.h) calls it for directories.
#pragma once
#include <memory>
#include <string>

#include "model/arch/hf_dir.h"
#include "model/spec.h"

namespace sinklab {

class Transformer;

// The finalized ModelSpec of a config.json (HF rotary convention: rotate halves).
ModelSpec spec_from_hf(const hf::HfConfig& c);
// Reads <dir>/config.json and the (sharded) safetensors weights. F32 tensors are
// copied as float32; F16/BF16 weight matrices stay in the file's mapping and are
// converted a layer at a time (stored = true, StoredWeight in src/model/transformer.h),
// or all at load (stored = false). InputError naming the file and key/tensor on any problem.
std::unique_ptr<Transformer> transformer_from_hf_dir(const std::string& dir, bool stored = true);
// The same from a config.json already read (its directory holds the weights).
std::unique_ptr<Transformer> transformer_from_hf(const hf::HfConfig& c, bool stored = true);

}  // namespace sinklab

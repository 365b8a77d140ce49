// Model arguments: a path (a GGUF file or a Hugging Face model directory) or a name,
// looked up where models already are on this machine:
//   1. sinklab's model cache: <cache>/models/NAME.gguf or <cache>/models/NAME
//      (<cache>: $SINKLAB_CACHE, $XDG_CACHE_HOME/sinklab or ~/.cache/sinklab; the setup
//      puts SmolLM2-135M-Instruct.gguf there);
//   2. the Hugging Face hub cache ($HF_HUB_CACHE, $HF_HOME/hub, $XDG_CACHE_HOME/huggingface/hub,
//      ~/.cache/huggingface/hub): ORG/NAME -> models--ORG--NAME/snapshots/<commit>, the
//      commit of refs/main unless a revision is given (ORG/NAME@REV, REV a branch or tag
//      under refs/ or a commit); a bare NAME matches models--*--NAME when one org has it.
// A snapshot with config.json is a model directory; otherwise its one .gguf file.
#pragma once
#include <string>
#include <vector>

namespace sinklab {

struct ResolvedModel {
  std::string path;  // what to open
  std::string from;  // "path", "sinklab cache" or "Hugging Face cache (<repo>@<commit>)"
};

// The path to open for `arg` (returned unchanged when it exists or looks like a path).
// InputError "model 'X' not found: ... (looked in ...)" naming every place it looked.
ResolvedModel resolve_model(const std::string& arg);

// The Hugging Face hub cache directories searched, in order (existing or not).
std::vector<std::string> hf_hub_cache_dirs();

}  // namespace sinklab

// Text generation with a pretrained model (`sinklab llm generate`): greedy or sampled
// (temperature, top-k, top-p), one full forward pass per new token (no KV cache: the
// models sinklab studies are small and the prompts short), stopping at any stop id.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

namespace sinklab {

class Transformer;

struct GenerateOptions {
  int max_new = 32;          // new tokens at most
  double temperature = 0;    // 0: greedy (argmax)
  int top_k = 0;             // > 0: sample among the k most likely
  double top_p = 1.0;        // < 1: sample from the smallest set with this much mass
  uint64_t seed = 1;
  std::vector<int32_t> stop_ids;  // generation ends after one of these
};

// The new token ids (prompt not included). InputError on bad options, an empty prompt,
// or a prompt that leaves no room in the model's context. `on_token` (may be empty)
// sees each new id as it comes.
std::vector<int32_t> generate(const Transformer& model, const std::vector<int32_t>& prompt, const GenerateOptions& opt,
                              const std::function<void(int32_t)>& on_token = {});

}  // namespace sinklab

// A sinklab model as a Hugging Face directory that transformers opens with
// AutoModelForCausalLM (and sinklab with `llm scan`, `trace`, `scan-series`): the
// checkpoints of `sinklab pretrain` (RUN/hf/step<N>/). Llama layout only: the model
// must be what LlamaForCausalLM computes (hf_llama_incompatibility says why not).
#pragma once
#include <map>
#include <string>

#include "model/spec.h"

namespace sinklab {

class Transformer;

// "" when LlamaForCausalLM computes exactly this spec (RMSNorm pre-norm, rotary
// positions rotating halves, SwiGLU, softmax attention without biases or qk-norm,
// every block with both sublayers); else what differs, e.g. "model.attention = relu".
std::string hf_llama_incompatibility(const ModelSpec& s);

// config.json of LlamaForCausalLM for the spec (float32; BOS/EOS ids, -1 = none).
std::string hf_llama_config_json(const ModelSpec& s, int bos_id, int eos_id);

// The Hugging Face name of a sinklab parameter in a llama checkpoint
// ("blocks.3.attn.W_Q" -> "model.layers.3.self_attn.q_proj.weight").
std::string hf_llama_name(const std::string& sinklab_name);

// Writes DIR/config.json, generation_config.json, the given files (name -> content,
// e.g. tokenizer.json) and model.safetensors, each atomically, the weights last.
// InputError when the spec is not llama's.
void export_hf_llama(const Transformer& m, const std::string& dir, const std::map<std::string, std::string>& files,
                     int bos_id, int eos_id);

}  // namespace sinklab

// Rotary position frequencies, torch-free: the plain RoPE of a base theta and the
// scalings pretrained families use to stretch their context (Hugging Face config key
// rope_scaling / rope_parameters, GGUF rope.scaling.* keys and rope_freqs.weight):
//   linear    positions divided by `factor` (inv_freq / factor)
//   dynamic   NTK-aware: past the original context the base grows with the sequence,
//             base * (factor * len / orig - (factor - 1))^(dim / (dim - 2))
//   llama3    Llama 3.1: long wavelengths / factor, short ones kept, a smooth ramp between
//   yarn      YaRN: per-frequency blend of interpolated and extrapolated frequencies
//             (ramp between the beta_fast and beta_slow rotation counts), cos and sin
//             scaled by the attention factor (0.1 ln(factor) + 1 by default)
//   longrope  Phi-3: per-frequency factors, short below the original context, long past it,
//             cos and sin scaled by sqrt(1 + ln(factor) / ln(orig))
// `freq_factors` (GGUF rope_freqs.weight, what llama.cpp's converter writes for llama3)
// divide the frequencies pair by pair.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace sinklab {

class ConfigKeys;
struct ModelSpec;

struct RopeScaling {
  std::string type = "none";  // none | linear | dynamic | llama3 | yarn | longrope
  double factor = 1;
  int64_t original_ctx = 0;  // original_max_position_embeddings (0: the model's context)
  double low_freq_factor = 1, high_freq_factor = 4;  // llama3
  double beta_fast = 32, beta_slow = 1;               // yarn
  double mscale = 0, mscale_all_dim = 0;              // yarn (DeepSeek's form; 0 = unset)
  bool truncate = true;                               // yarn: round the ramp's ends
  double attention_factor = 0;                        // yarn, longrope (0 = the default formula)
  std::vector<double> short_factor, long_factor;      // longrope, rope_dim / 2 each
  std::vector<double> freq_factors;                   // GGUF rope_freqs.weight, rope_dim / 2
};

// The frequencies one attention layer rotates by, for a sequence whose last position is
// seq_len - 1 (dynamic and longrope depend on it), and the factor cos and sin are scaled by.
struct RopeFreqs {
  std::vector<double> inv_freq;  // rope_dim / 2
  double attention_factor = 1;
};
// `local`: the frequencies of the model's sliding-window layers (Gemma 3: base
// rope_local_theta, no scaling) when spec.rope_local_theta > 0.
RopeFreqs rope_freqs(const ModelSpec& s, bool local, int64_t seq_len);

// Reads the RoPE settings of config.json into s.rope_theta, s.rope_scaling, s.rope_dim
// (partial_rotary_factor) and, where the settings are nested by layer type,
// s.rope_local_theta / s.rope_local_scaling ("sliding_attention"). Both forms are read:
//   transformers 4: rope_theta, rope_scaling {"rope_type" or "type", factor, ...} and
//                   original_max_position_embeddings at the top (Phi-3)
//   transformers 5: rope_parameters {"rope_type", "rope_theta", factor, ...}, or
//                   {"full_attention": {...}, "sliding_attention": {...}}
// s.head_dim must be set. `max_pos` is max_position_embeddings (dynamic scales against
// it; yarn and longrope derive their factor from it when the config gives none).
// Unknown types, values of the wrong type or out of range: InputError naming the key.
void read_rope_config(const ConfigKeys& k, ModelSpec& s, int64_t max_pos);

// Checks the values (finalize()): InputError naming the problem.
void check_rope_scaling(const RopeScaling& r, int rope_dim);
std::string rope_scaling_text(const RopeScaling& r);  // "llama3 (factor 8, original context 8192)"

}  // namespace sinklab

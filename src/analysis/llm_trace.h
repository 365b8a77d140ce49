// One prompt through a pretrained model, looked at from inside (`sinklab llm trace`):
// per layer and head the attention pattern, the sink mass, the value norms per token
// and the sink-logit gap (the shared definitions of src/analysis/sink_metrics.h); per
// layer and token the residual norm and the largest |activation| with its dimension
// (massive activations); the next-token distribution, with and without head edits
// (zero-head / attend-sink, src/analysis/interventions.h); and any hook tensors asked
// for by name ("blocks.*.attn.hook_pattern"), as recorded.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "analysis/core/heads.h"
#include "analysis/interventions.h"

namespace sinklab {

class Transformer;
class Tokenizer;

namespace llm {

struct TraceOptions {
  bool add_bos = true;         // prepend the tokenizer's BOS token
  bool parse_special = false;  // <|im_start|> and the like in the prompt are special tokens
  int sink_pos = 0;            // P
  double dormant_threshold = 0.5;
  int top_k = 10;              // next-token candidates listed
  std::vector<std::string> save;  // hook names to keep ("*" for every layer)
  std::vector<std::pair<Intervention, HeadRef>> edits;  // applied to the edited forward
};

struct TraceHead {
  int layer = 0, head = 0;
  double sink_mass = 0;        // mean over queries q > P of A[q, P]
  double v_sink = 0, v_other = 0;
  double gap_mean = 0;         // sink-logit gap, mean over queries q > P
  std::vector<float> pattern;  // T x T, row-major (query, key)
  std::vector<float> v_norm;   // T: |v_t| of this head
};
struct TraceLayer {
  int layer = 0;
  std::vector<float> resid_norm;  // T: |resid_post_t|
  std::vector<float> max_abs;     // T: max_i |resid_post_t,i|
  std::vector<int> max_dim;       // T: its dimension i
};
struct NextToken {
  int32_t id = 0;
  std::string piece;
  double p = 0, p_edited = std::nan("");  // p_edited: with the edits (NaN without)
};
struct TraceResult {
  TraceOptions opt;
  std::vector<int32_t> ids;
  std::vector<std::string> pieces;  // token_to_piece of each id
  int n_layers = 0, n_heads = 0;
  std::vector<TraceHead> heads;    // layer-major
  std::vector<TraceLayer> layers;
  std::vector<NextToken> next;     // top_k of the unedited forward (and of the edited one)
  double edited_kl = std::nan("");  // KL(base || edited) of the next-token distribution
  std::map<std::string, at::Tensor> saved;  // hook name -> tensor [1, ...] (float32, CPU)
  const TraceHead& head(int l, int h) const { return heads[(size_t)l * n_heads + h]; }
};

// InputError for an empty prompt, one longer than the model's context, a sink position
// outside it, a save name that is no hook, or an edited head outside the model.
TraceResult trace(const Transformer& model, const Tokenizer& tok, const std::string& prompt, const TraceOptions& opt);

}  // namespace llm
}  // namespace sinklab

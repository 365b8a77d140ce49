// The extreme-token quantities of PAPER.md, defined once for toy runs (the sink is
// BOS, position 0) and pretrained models (the sink at position P). The toy analysis
// (src/analysis/toy_metrics.cpp) and the LLM scan (src/analysis/llm_scan.cpp) reduce
// these tensors over their own query sets (toy: trigger / non-trigger queries; LLM:
// queries after the sink), so both report the same definitions.
//
// Adding a metric: its definition here (one function, batched over leading dims), its
// reduction and column in each path's result struct (HeadMetrics / HeadDoc), and one
// line in docs/metrics.md.
#pragma once
#include <cstdint>

#include <ATen/core/Tensor.h>

namespace sinklab {
class Hooks;
struct ModelSpec;
}  // namespace sinklab

namespace sinklab::sink {

// Records what these definitions read: hook_resid_post of every layer, and hook_pattern,
// hook_attn_scores and hook_v of every layer with attention.
void record_inputs(Hooks& hooks, const ModelSpec& spec);

// pattern [..., T, T] (rows: queries) -> [..., T]: each query's attention on key P.
at::Tensor mass(const at::Tensor& pattern, int64_t P);

// scores [..., T, T] (pre-softmax; not finite above the diagonal) -> [..., T]: the
// logit of key P minus the mean logit of the other visible keys (a query that sees
// only key P gets s[q, P]).
at::Tensor logit_gap(const at::Tensor& scores, int64_t P);

// x [..., T, ..., D]: L2 norms along the last dim, at position P and averaged over
// the other T - 1 positions (dim `pos_dim` of x, removed in the results).
struct SinkOther {
  at::Tensor sink, other;
};
SinkOther norms_at_sink(const at::Tensor& x, int64_t pos_dim, int64_t P);

}  // namespace sinklab::sink

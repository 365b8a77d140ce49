// Outputs of `sinklab llm trace` for one prompt: CSV of every number, the chosen hook
// tensors as safetensors (keys are hook names: Python reads them with
// safetensors.torch.load_file), trace.json, and report.html with the figures (sink
// mass per layer and head, residual norms per token, the heads of each layer as a grid
// of attention patterns with token labels, the next-token table).
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "analysis/llm_trace.h"

namespace sinklab::report {

struct TraceReportInput {
  std::string command;     // shown in the report
  std::string model_name;  // and the model
  const llm::TraceResult* trace = nullptr;
};

// The summary printed by --json and written as trace.json: tokens, per-head numbers,
// per-layer residual peaks, next-token candidates, saved tensor names and shapes.
nlohmann::json trace_to_json(const TraceReportInput& in);

// Writes out_dir/{trace_tokens,trace_heads,trace_values,trace_patterns,next_token}.csv,
// trace.json, hooks.safetensors (only when tensors were saved), figures/*.png and
// report.html. Figure problems are notes in the report (and warnings on stderr).
// Returns the paths written.
std::vector<std::string> write_trace_report(const std::string& out_dir, const TraceReportInput& in);

}  // namespace sinklab::report

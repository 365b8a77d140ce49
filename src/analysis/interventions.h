// Interventions on one attention head: one set, with one set of names, for the toy
// analysis (`analyze intervene`, `reproduce`) and the LLM scan (`llm scan --ablate`,
// its attribution). Each adds overrides to a Hooks (src/model/hooks.h).
//
//   zero-head        the head's output z (before W_O) is zero at the selected queries
//   attend-sink      the selected queries q >= P attend only to the sink position P
//   zero-sink-value  the sink value's share of z is removed: z_q -= A[q, P] v_P
//   oracle-pattern   (BB task) previous token at trigger queries, the sink elsewhere
//
// The sink is the first token (P = 0, BOS) in toy runs and the scanned sink position in
// LLM scans. Adding an intervention: a value of `Intervention`, its name in
// interventions.cpp and its case in add_intervention(); every command lists it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "analysis/core/heads.h"
#include "model/hooks.h"

namespace sinklab {

enum class Intervention { ZeroHead, AttendSink, ZeroSinkValue, OraclePattern };
std::string intervention_name(Intervention k);  // "zero-head", "attend-sink", ...
// InputError naming the valid names on unknown ones.
Intervention parse_intervention(const std::string& s);
const std::vector<Intervention>& all_interventions();
std::string intervention_names();  // "zero-head | attend-sink | ..." for --help

// Where an intervention acts.
struct InterventionSite {
  HeadRef head;
  int sink_pos = 0;          // P: the sink token's position
  at::Tensor queries;        // [B, T] bool: the selected queries; undefined: every query
  int64_t batch_index = -1;  // >= 0: only this batch element
  at::Tensor is_trigger;     // [B, T] bool; oracle-pattern only
};
void add_intervention(Hooks& hooks, Intervention kind, const InterventionSite& site);

}  // namespace sinklab

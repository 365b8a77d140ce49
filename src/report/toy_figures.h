// Figures of toy runs: dynamics over checkpoints and a snapshot of one checkpoint.
#pragma once
#include <string>
#include <vector>

#include "report/core/figures.h"

namespace sinklab {

struct RunAnalysis;
struct LoadedRun;
struct EvalBatch;

// Dynamics over steps (log x): losses, BOS attention mass, BOS logit gap, value
// norms, residual norms per layer. Returns one result per figure under out_dir; a
// figure that cannot be drawn is a failed result (its error), never an exception.
std::vector<report::FigureResult> draw_dynamics(const RunAnalysis& a, const std::string& out_dir, const std::string& title);
// One evaluation sequence at one checkpoint: attention pattern per layer/head with
// the characters shown and triggers marked; value norms and residual norms per position.
std::vector<report::FigureResult> draw_snapshot(const LoadedRun& run, const EvalBatch& eval, const std::string& out_dir,
                                       const std::string& title, int n_positions = 48);

}  // namespace sinklab

// Outputs of `sinklab llm scan-series`: series_summary.csv (per checkpoint and domain),
// series_heads.csv (per checkpoint, domain, layer, head), figures of dormant heads,
// sink mass and the residual peak over training, and report.html.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "analysis/llm_series.h"

namespace sinklab::report {

// The checkpoint (step) from which each phenomenon shows on a domain at every later
// checkpoint of the series (a transient, such as the first token's residual at
// initialisation, does not count); -1: not at the last checkpoint.
struct Emergence {
  std::string domain;
  int64_t sink_heads = -1;  // a head's mean sink mass exceeds the series' sink_epsilon
  int64_t dormant = -1;     // a head is dormant (sink mass >= the dormant threshold)
  int64_t half_sink = -1;   // half of the heads are sink heads
  int64_t resid_peak = -1;  // the sink's residual norm is twice the others' in some layer
};
std::vector<Emergence> emergence_steps(const llm::SeriesResult& r);

// What a training run adds to its own series (`sinklab pretrain`): the held-out loss
// per checkpoint step and domain ("" = the mean over domains).
struct SeriesTraining {
  std::string title;
  std::vector<int64_t> steps;
  std::map<std::string, std::vector<double>> val_loss;  // by domain, aligned with steps
};

// Writes everything under out_dir; returns the paths written. Figure failures (or no
// gnuplot) become notes in the report and warnings on stderr, never errors.
std::vector<std::string> write_series_report(const std::string& out_dir, const llm::SeriesResult& r,
                                             const SeriesTraining* training = nullptr);

}  // namespace sinklab::report

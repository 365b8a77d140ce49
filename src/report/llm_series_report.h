// Outputs of `sinklab llm scan-series`: series_summary.csv (per checkpoint and domain),
// series_heads.csv (per checkpoint, domain, layer, head), figures of dormant heads,
// sink mass and the residual peak over training, and report.html.
#pragma once
#include <string>
#include <vector>

#include "analysis/llm_series.h"

namespace sinklab::report {

// Writes everything under out_dir; returns the paths written. Figure failures (or no
// gnuplot) become notes in the report and warnings on stderr, never errors.
std::vector<std::string> write_series_report(const std::string& out_dir, const llm::SeriesResult& r);

}  // namespace sinklab::report

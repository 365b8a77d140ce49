// `sinklab reproduce`: the toy experiment set of the paper, trained, analysed,
// intervened on, judged as claims (claims.json) and reported (report.html).
#pragma once
#include <string>
#include <vector>

#include "report/core/claims.h"

namespace sinklab {

struct ReproduceOptions {
  std::string scale = "quick";     // quick | paper
  std::string out = "out/reproduce";
  std::string source = "synthetic";
  std::vector<std::string> sets;   // extra overrides applied to every run (e.g. train.steps=500)
  bool progress = true;
  bool resume = true;              // reuse finished runs found in out/runs
};

struct ReproduceResult {
  std::vector<report::Claim> claims;
  std::string report_path, claims_path;
};

// Thresholds are those of the project's issue for the quick scale; never tuned to pass.
ReproduceResult reproduce(const ReproduceOptions& o);

}  // namespace sinklab

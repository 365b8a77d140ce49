// `sinklab reproduce`: the toy experiment set of the paper, trained over several
// seeds, analysed, intervened on, judged as claims (claims.json) and reported
// (report.html).
#pragma once
#include <string>
#include <vector>

#include "report/core/claims.h"

namespace sinklab {

struct ReproduceOptions {
  std::string scale = "quick";     // quick | paper
  std::string out = "out/reproduce";
  std::string source = "shakespeare";  // the paper's Tiny Shakespeare character bigrams
  int seeds = 8;                   // seeds 0 .. seeds-1 for every configuration (>= 1)
  std::vector<std::string> sets;   // extra overrides applied to every run (e.g. train.steps=500)
  bool progress = true;
  bool resume = true;              // reuse finished runs found in out/runs
  bool force = false;              // write into a non-empty directory that holds no reproduce output
};

struct ReproduceResult {
  std::vector<report::Claim> claims;
  std::string report_path, claims_path;
  std::vector<std::string> warnings;  // figures that could not be drawn (the report says so too)
};

// Thresholds are those of the paper's claims at the quick scale; never tuned to pass.
// Every claim is measured per seed and judged on its 95% interval over seeds
// (report/core/claims.h). claims.json is written before any figure is drawn, and a
// figure that fails becomes a note in the report and a warning, never an error.
ReproduceResult reproduce(const ReproduceOptions& o);

}  // namespace sinklab

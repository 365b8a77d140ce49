// The whole `sinklab llm scan` (issue 6) as one call, shared by the CLI (src/cli/torch/
// cmd_llm_scan.cpp parses the flags) and the Python API (python/, sinklab.scan): the scan of
// every domain, outlier metrics, ranking, ablations, attribution, CSVs, report.html and
// summary.json in `out`.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/pretrained.h"

namespace sinklab::report {

struct LlmScanArgs {
  std::string model, out = "llm-scan";
  std::vector<std::string> domains;  // NAME=CORPUS.jsonl
  int docs = 64, ctx = 256, sink_pos = 0, threads = 0, resamples = 1000, batch = 8, sample_tokens = 24, ablate_docs = 16;
  bool no_bos = false, both_bos = false, no_progress = false, no_attribution = false, graddrop = false, force = false, json = false;
  double threshold = 0.5, secondary = 0.3;
  std::string ablate = "top:8";
  std::vector<std::string> ablate_kinds;
  uint64_t seed = 1234;
  std::string command;  // as the report quotes it
  LoadOptions load;
};

// Validates the arguments (InputError naming the flag), loads `a.model` unless `preloaded`
// is given (then its weights are used and a.model only names it), scans and writes the
// outputs; progress notes and the text summary go to `info` (nullptr: none). Returns
// summary.json's content.
nlohmann::json run_llm_scan(const LlmScanArgs& a, FILE* info, const PretrainedModel* preloaded = nullptr);

}  // namespace sinklab::report

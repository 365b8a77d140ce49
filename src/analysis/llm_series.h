// The sink scan over the training checkpoints of one model (a checkpoint series,
// src/model/arch/hf_dir.h), ordered by step: how attention sinks and dormant heads
// appear during pre-training (the paper's OLMo checkpoint study). `sinklab llm
// scan-series` parses flags, calls series_scan() and writes its report
// (src/report/llm_series_report.h).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "analysis/llm_scan.h"
#include "model/pretrained.h"

namespace sinklab::llm {

struct SeriesOptions {
  std::vector<std::string> paths;    // revision directories, or directories of them
  std::vector<std::string> domains;  // NAME=CORPUS.jsonl
  std::string tokenizer;             // for every checkpoint; "" = each checkpoint's own
  ScanOptions scan;                  // dormant_threshold classifies the heads
  LoadOptions load;                  // how each checkpoint's weights are held
};

struct SeriesHead {
  int layer = 0, head = 0;
  double sink_mass = 0, v_ratio = 0;  // means over the domain's documents
};
struct SeriesDomain {  // one checkpoint on one domain
  std::string name;
  int dormant = 0, heads = 0, docs = 0;
  double mean_sink_mass = 0;
  double max_resid_ratio = 0;  // max over layers of |resid sink| / |resid others|
  int max_resid_layer = 0;
  std::vector<SeriesHead> per_head;
};
struct SeriesCheckpoint {
  int64_t step = 0;
  std::string path, model_type;
  std::vector<SeriesDomain> domains;
};
struct SeriesResult {
  SeriesOptions opt;
  std::vector<std::string> domain_names;
  std::vector<SeriesCheckpoint> checkpoints;  // ordered by step
};

// Validates the options (InputError naming the flag), orders the checkpoints, loads
// each in turn and scans every domain; `on_checkpoint` (may be empty) sees each
// checkpoint's results as they come.
SeriesResult series_scan(const SeriesOptions& opt,
                         const std::function<void(const SeriesCheckpoint&)>& on_checkpoint = {});

}  // namespace sinklab::llm

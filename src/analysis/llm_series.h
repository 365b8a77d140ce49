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
#include "analysis/outliers.h"
#include "model/pretrained.h"

namespace sinklab::llm {

struct SeriesOptions {
  std::vector<std::string> paths;    // revision directories, or directories of them
  std::vector<std::string> domains;  // NAME=CORPUS.jsonl
  std::string tokenizer;             // for every checkpoint; "" = each checkpoint's own
  ScanOptions scan;                  // dormant_threshold classifies the heads
  double sink_epsilon = 0.3;         // Gu et al.'s sink heads: mean attention on the sink > epsilon
  LoadOptions load;                  // how each checkpoint's weights are held
};

struct SeriesHead {
  int layer = 0, head = 0;
  double sink_mass = 0, v_ratio = 0;  // means over the domain's documents
};
struct SeriesLayer {
  int layer = 0;
  double resid_sink = 0, resid_other = 0;  // mean residual norms leaving the layer
  double sink_top_val = 0;                 // the sink's largest |activation| there (signed)
  int sink_top_dim = 0;                    // ... and its dimension (massive activations)
};
struct SeriesDomain {  // one checkpoint on one domain
  std::string name;
  int dormant = 0, heads = 0, docs = 0;
  int sink_heads = 0;          // Gu et al.: heads whose mean sink mass > sink_epsilon
  double mean_sink_mass = 0;
  double mean_v_ratio = 0;     // mean over heads of |v sink| / |v others| (the value drain)
  double max_resid_ratio = 0;  // max over layers of |resid sink| / |resid others|
  int max_resid_layer = 0;
  OutlierMetrics outliers;     // on the domain's scanned documents (src/analysis/outliers.h)
  std::vector<SeriesHead> per_head;
  std::vector<SeriesLayer> per_layer;
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

// One model held in memory (a checkpoint) scanned on `docs`: per domain the summary of
// series_scan, outlier metrics included. What series_scan does for each revision, and
// what a language-model sweep cell reports (src/report/sweep.h).
std::vector<SeriesDomain> scan_checkpoint(Transformer& model, const std::vector<DomainDocs>& docs,
                                          const ScanOptions& opt, double sink_epsilon);

// Validates the options (InputError naming the flag), orders the checkpoints, loads
// each in turn and scans every domain; `on_checkpoint` (may be empty) sees each
// checkpoint's results as they come.
SeriesResult series_scan(const SeriesOptions& opt,
                         const std::function<void(const SeriesCheckpoint&)>& on_checkpoint = {});

}  // namespace sinklab::llm

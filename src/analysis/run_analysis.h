// `sinklab analyze RUN_DIR`: toy metrics for every checkpoint of a run, as CSV.
//   RUN/analysis/loss.csv    step, loss, loss_trigger, loss_nontrigger, excess, excess_trigger, excess_nontrigger,
//                            loss_w8a8, w8a8_increase (src/analysis/outliers.h)
//   RUN/analysis/heads.csv   step, layer, head, bos_mass_nontrigger, bos_mass_trigger, prev_mass_trigger,
//                            v_bos_norm, v_other_norm, v_ratio, gap_mean, gap_std, dormant_nontrigger, dormant_trigger
//   RUN/analysis/layers.csv  step, layer, resid_bos, resid_other, resid_ratio, max_abs, median_abs,
//                            max_over_median, kurtosis_resid, kurtosis_attn
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "analysis/toy_metrics.h"

namespace sinklab {

struct AnalyzeOptions {
  int eval_seqs = 64;
  uint64_t eval_seed = 20241017;
  double threshold = 0.5;
  std::vector<int64_t> steps;  // empty = every checkpoint
  bool progress = true;
};

struct RunAnalysis {
  std::string run_dir;
  std::vector<ToyMetrics> series;  // ordered by step
};

RunAnalysis analyze_run(const std::string& run_dir, const AnalyzeOptions& opts);
void write_analysis_csv(const RunAnalysis& a);
// Loads a run's model at a checkpoint step (-1 = last) with its task.
struct LoadedRun;
std::unique_ptr<LoadedRun> load_run(const std::string& run_dir, int64_t step = -1);
struct LoadedRun {
  std::unique_ptr<BBTask> task;
  std::unique_ptr<Transformer> model;
  int64_t step = 0;
  ~LoadedRun();
};

}  // namespace sinklab

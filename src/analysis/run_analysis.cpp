#include "analysis/run_analysis.h"

#include <algorithm>

#include <fmt/format.h>

#include "io/error.h"
#include "io/progress.h"
#include "model/checkpoint.h"
#include "model/transformer.h"
#include "io/csv.h"
#include "train/trainer.h"

namespace sinklab {

LoadedRun::~LoadedRun() = default;

std::unique_ptr<LoadedRun> load_run(const std::string& run_dir, int64_t step) {
  TrainConfig c = load_run_config(run_dir);
  require(!c.is_lm(), fmt::format("'{}' is a language-model run (data.task = lm): scan its checkpoints with "
                                  "sinklab llm scan-series {}/hf", run_dir, run_dir));
  auto ck = list_checkpoints(run_dir);
  require(!ck.empty(), "'" + run_dir + "' has no checkpoints");
  if (step < 0) step = ck.back();
  require(std::find(ck.begin(), ck.end(), step) != ck.end(),
          fmt::format("'{}' has no checkpoint at step {} (last: {})", run_dir, step, ck.back()));
  auto r = std::make_unique<LoadedRun>();
  r->task = std::make_unique<BBTask>(BigramSource::from_spec(c.source), c.task_config());
  r->model = std::make_unique<Transformer>(c.model_spec(r->task->vocab_size()));
  load_weights(*r->model, checkpoint_path(run_dir, step));
  r->step = step;
  return r;
}

RunAnalysis analyze_run(const std::string& run_dir, const AnalyzeOptions& o) {
  require(o.threshold > 0 && o.threshold <= 1, "threshold must be in (0, 1]");
  TrainConfig c = load_run_config(run_dir);
  require(!c.is_lm(), fmt::format("'{}' is a language-model run (data.task = lm): scan its checkpoints with "
                                  "sinklab llm scan-series {}/hf", run_dir, run_dir));
  auto ck = list_checkpoints(run_dir);
  require(!ck.empty(), "'" + run_dir + "' has no checkpoints");
  std::vector<int64_t> steps = o.steps.empty() ? ck : o.steps;
  for (auto s : steps)
    require(std::find(ck.begin(), ck.end(), s) != ck.end(),
            fmt::format("'{}' has no checkpoint at step {}", run_dir, s));
  BBTask task(BigramSource::from_spec(c.source), c.task_config());
  Transformer model(c.model_spec(task.vocab_size()));
  EvalBatch eval = make_eval_batch(task, o.eval_seqs, o.eval_seed);
  RunAnalysis a;
  a.run_dir = run_dir;
  Progress bar((int64_t)steps.size(), "analyze " + c.name, o.progress);
  for (size_t i = 0; i < steps.size(); ++i) {
    load_weights(model, checkpoint_path(run_dir, steps[i]));
    ToyMetrics m = measure_toy(model, eval, o.threshold);
    m.outliers = measure_outliers(model, eval.tokens);
    m.step = steps[i];
    a.series.push_back(std::move(m));
    bar.update((int64_t)i + 1);
  }
  bar.finish();
  return a;
}

void write_analysis_csv(const RunAnalysis& a) {
  CsvWriter loss({"step", "loss", "loss_trigger", "loss_nontrigger", "excess", "excess_trigger", "excess_nontrigger",
                  "loss_w8a8", "w8a8_increase"});
  CsvWriter heads({"step", "layer", "head", "bos_mass_nontrigger", "bos_mass_trigger", "prev_mass_trigger",
                   "v_bos_norm", "v_other_norm", "v_ratio", "gap_mean", "gap_std", "dormant_nontrigger",
                   "dormant_trigger", "bos_mass_after_trigger", "bos_mass_plain"});
  CsvWriter layers({"step", "layer", "resid_bos", "resid_other", "resid_ratio", "max_abs", "median_abs",
                    "max_over_median", "kurtosis_resid", "kurtosis_attn"});
  for (const auto& m : a.series) {
    const auto& l = m.loss;
    const OutlierMetrics& q = m.outliers;
    loss.add_row({(long long)m.step, l.loss, l.loss_trigger, l.loss_nontrigger, l.excess, l.excess_trigger,
                  l.excess_nontrigger, q.loss_w8a8, q.w8a8_increase});
    for (const auto& h : m.heads)
      heads.add_row({(long long)m.step, h.layer, h.head, h.bos_mass_nontrigger, h.bos_mass_trigger,
                     h.prev_mass_trigger, h.v_bos_norm, h.v_other_norm, h.v_ratio, h.gap_mean, h.gap_std,
                     (int)h.dormant_nontrigger, (int)h.dormant_trigger, h.bos_mass_after_trigger, h.bos_mass_plain});
    for (const auto& y : m.layers) {
      const OutlierLayer& o = q.layers.at(y.layer);
      layers.add_row({(long long)m.step, y.layer, y.resid_bos, y.resid_other, y.resid_ratio, o.max_abs, o.median_abs,
                      o.max_over_median, o.kurtosis_resid, o.kurtosis_attn});
    }
  }
  loss.write(a.run_dir + "/analysis/loss.csv");
  heads.write(a.run_dir + "/analysis/heads.csv");
  layers.write(a.run_dir + "/analysis/layers.csv");
}

}  // namespace sinklab

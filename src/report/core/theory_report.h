// The theory in the product's report (sinklab reproduce): the reduced model's
// figures, and the growth laws measured on real training runs set beside the
// laws the theory predicts for the run's optimiser (docs/theory.md, "Theory vs
// training"). Torch-free; reads runs/<name>/analysis/heads.csv.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "analysis/core/growth_fit.h"
#include "report/core/html.h"

namespace sinklab::report {

// One measured quantity of layer 0, head 0, fitted over the late phase.
struct TheoryQuantityFit {
  std::string quantity;             // "gap_mean" or "v_bos_norm"
  std::vector<double> steps, values;  // the fit window
  GrowthFit fit;                    // log, power and linear laws (R^2 on y)
  // Exponential law |y| = e^{a + b step} (log-linear fit; R^2 on y). ok = false if y changes sign.
  LawFit exp_law;
  std::string law_a, law_b;         // the two rival laws compared (Adam's vs gradient flow's)
  std::string better;               // the one of the two with the higher R^2
  std::string predicted_law;        // the law the theory predicts for this optimiser
  double predicted_rate = 0;        // its slope / exponent / log-slope
  double measured_rate = 0;         // the same rate, fitted
  std::string prediction;           // in words, with numbers
  std::string verdict;              // in words
  bool form_agrees = false;         // the predicted law is the better of the two
};

struct TheoryRunComparison {
  std::string label, run_dir;
  bool ok = false;
  std::string problem;              // why not ok (missing or too-short CSV, ...)
  std::string optimizer = "adamw";  // from run_dir/config.toml [train] when present
  double lr = 0, beta1 = 0.9, beta2 = 0.999;
  std::string settings_source;      // "config.toml" or "arguments"
  int layer = 0, head = 0;          // the head fitted
  std::vector<double> steps, gap, v_bos, bos_mass;  // the whole curve of that head
  bool sink_formed = false;
  double sink_step = 0;             // first step with bos_mass_nontrigger >= 0.5
  double window_from = 0, window_to = 0;
  std::string window_note;          // how the window was chosen
  std::vector<TheoryQuantityFit> fits;  // gap_mean, v_bos_norm
};

// Reads run_dir/analysis/heads.csv (layer 0, head 0) and fits the growth laws of
// gap_mean and v_bos_norm after the sink forms (first step with
// bos_mass_nontrigger >= 0.5; if it never does, over the second half of the
// logged steps, and says so). The optimiser, lr and betas come from
// run_dir/config.toml when it has them, else adam_lr / beta2 (AdamW) are used.
// Never throws for missing or bad files: ok = false and `problem` says why.
// layer, head: the head fitted (the run's sink head; layer 0, head 0 by default).
TheoryRunComparison compare_run_to_theory(const std::string& label, const std::string& run_dir, double adam_lr,
                                          double beta2, int layer = 0, int head = 0);

// Appends the "Theory" section to `html`: (a) runs the reduced model (gradient
// flow and Adam with adam_lr / beta2, free and counterfactual; a few seconds)
// into theory_out_dir, (b) embeds its figures (trajectories with fits,
// counterfactuals, Adam's linear phase, phase portrait), (c) for each run
// (label, run_dir) a table of the fitted growth laws of gap_mean and v_bos_norm
// vs the theory's prediction with a verdict, and a figure of the measured curves
// with the fitted curves (dashed). Missing or too-short CSVs, a missing gnuplot
// or a failing theory run become a paragraph saying so; it does not throw for them.
// heads: the (layer, head) fitted for each run (empty = layer 0, head 0 for all).
void add_theory_section(HtmlReport& html, const std::string& theory_out_dir,
                        const std::vector<std::pair<std::string, std::string>>& runs, double adam_lr, double beta2,
                        const std::vector<std::pair<int, int>>& heads = {});

}  // namespace sinklab::report

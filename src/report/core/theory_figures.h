// Figures of the reduced model (sinklab theory): trajectories with their fitted
// and derived curves, the counterfactuals, Adam's linear phase, and the
// (alpha, beta) phase portrait with the vector field. Reads the CSVs that
// sinklab::theory::run_theory writes; draws with the gnuplot figure API.
#pragma once
#include <string>
#include <vector>

namespace sinklab::report {

// Draws DIR/figures/theory_*.png from a `sinklab theory -o DIR` directory, for
// whichever trajectories exist. Returns the PNG paths written. InputError if the
// directory has no theory output; PlotError if gnuplot fails.
std::vector<std::string> draw_theory_figures(const std::string& dir);

}  // namespace sinklab::report

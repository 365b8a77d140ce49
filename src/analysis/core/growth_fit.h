// Growth-law fits for dynamics curves (theory trajectories and training metrics).
//
//   log law     y = a + b log(x)          slope b: growth per e-fold of steps
//   power law   |y| = e^a x^b             exponent b (fitted in log-log space)
//   linear law  y = a + b x               slope b: growth per step
//
// Each fit reports its coefficients and R^2 measured on y itself (so the three
// are comparable); the power law also reports R^2 in log-log space. `better` is
// the law with the highest R^2 on y. Torch-free.
#pragma once
#include <string>
#include <vector>

namespace sinklab {

struct LawFit {
  std::string law;        // "log", "power" or "linear"
  bool ok = false;        // false if the law does not apply (e.g. power law on values of mixed sign)
  double intercept = 0;   // a
  double slope = 0;       // b (log-slope, exponent, or per-step slope)
  double r2 = 0;          // on y
  double r2_fit_space = 0;  // on the transformed variables the fit was made in
  double sign = 1;        // power law: the common sign of y
  std::string note;       // why not ok
  double predict(double x) const;
};

struct GrowthFit {
  LawFit log_law, power_law, linear_law;
  std::string better;  // law with the highest R^2 on y among the ok ones
  size_t n_points = 0;
  const LawFit& best() const;
};

// Ordinary least squares y = a + b x; returns {a, b, r2}. Needs >= 2 distinct x.
struct LineFit {
  double a = 0, b = 0, r2 = 0;
};
LineFit fit_line(const std::vector<double>& x, const std::vector<double>& y);

// Fits the three laws. InputError (one line) if the sizes differ, fewer than 3
// points, any value is non-finite, or any x <= 0 (log and power laws need x > 0).
GrowthFit fit_growth_law(const std::vector<double>& steps, const std::vector<double>& values);

// A numeric CSV table: a header row, then rows of numbers separated by commas.
struct CsvTable {
  std::vector<std::string> columns;
  std::vector<std::vector<double>> rows;  // NaN where a cell is empty or "nan"
  int column(const std::string& name) const;  // -1 if absent
};
// Reads a CSV file; InputError naming the file and line for ragged rows or cells
// that are not numbers. Empty cells and nan/inf are kept as NaN/inf (callers decide).
CsvTable read_numeric_csv(const std::string& path);

}  // namespace sinklab

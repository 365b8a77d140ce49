#include "analysis/core/growth_fit.h"

#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>

#include <fmt/format.h>

#include "io/csv.h"
#include "io/error.h"
#include "io/files.h"

namespace sinklab {

double LawFit::predict(double x) const {
  if (law == "log") return intercept + slope * std::log(x);
  if (law == "power") return sign * std::exp(intercept + slope * std::log(x));
  return intercept + slope * x;
}

const LawFit& GrowthFit::best() const {
  if (better == "power") return power_law;
  if (better == "linear") return linear_law;
  return log_law;
}

LineFit fit_line(const std::vector<double>& x, const std::vector<double>& y) {
  require(x.size() == y.size() && x.size() >= 2, "fit_line: need two or more (x, y) pairs of equal length");
  const double n = double(x.size());
  double mx = 0, my = 0;
  for (size_t i = 0; i < x.size(); ++i) mx += x[i], my += y[i];
  mx /= n, my /= n;
  double sxx = 0, sxy = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxx += (x[i] - mx) * (x[i] - mx);
    sxy += (x[i] - mx) * (y[i] - my);
    syy += (y[i] - my) * (y[i] - my);
  }
  require(sxx > 0, "fit_line: all x values are equal");
  LineFit f;
  f.b = sxy / sxx;
  f.a = my - f.b * mx;
  double ssr = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double r = y[i] - (f.a + f.b * x[i]);
    ssr += r * r;
  }
  f.r2 = syy > 0 ? 1 - ssr / syy : 1.0;
  return f;
}

namespace {
double r2_on(const std::vector<double>& x, const std::vector<double>& y, const LawFit& f) {
  double my = 0;
  for (double v : y) my += v;
  my /= double(y.size());
  double ssr = 0, sst = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    const double r = y[i] - f.predict(x[i]);
    ssr += r * r;
    sst += (y[i] - my) * (y[i] - my);
  }
  return sst > 0 ? 1 - ssr / sst : (ssr == 0 ? 1.0 : 0.0);
}
}  // namespace

GrowthFit fit_growth_law(const std::vector<double>& x, const std::vector<double>& y) {
  require(x.size() == y.size(),
          fmt::format("fit_growth_law: {} x values but {} y values", x.size(), y.size()));
  require(x.size() >= 3, fmt::format("fit_growth_law: need at least 3 points, got {}", x.size()));
  for (size_t i = 0; i < x.size(); ++i) {
    require(std::isfinite(x[i]) && std::isfinite(y[i]),
            fmt::format("fit_growth_law: non-finite value at point {} (x = {}, y = {})", i, x[i], y[i]));
    require(x[i] > 0, fmt::format("fit_growth_law: x must be > 0 for log and power laws (x = {} at point {})",
                                  x[i], i));
  }
  GrowthFit g;
  g.n_points = x.size();
  std::vector<double> lx(x.size());
  for (size_t i = 0; i < x.size(); ++i) lx[i] = std::log(x[i]);
  bool distinct = false;
  for (size_t i = 1; i < x.size(); ++i) distinct |= x[i] != x[0];
  require(distinct, "fit_growth_law: all x values are equal");

  g.log_law.law = "log";
  {
    auto f = fit_line(lx, y);
    g.log_law.ok = true;
    g.log_law.intercept = f.a;
    g.log_law.slope = f.b;
    g.log_law.r2 = g.log_law.r2_fit_space = f.r2;
  }
  g.linear_law.law = "linear";
  {
    auto f = fit_line(x, y);
    g.linear_law.ok = true;
    g.linear_law.intercept = f.a;
    g.linear_law.slope = f.b;
    g.linear_law.r2 = g.linear_law.r2_fit_space = f.r2;
  }
  g.power_law.law = "power";
  {
    bool pos = true, neg = true;
    for (double v : y) pos &= v > 0, neg &= v < 0;
    if (!pos && !neg) {
      g.power_law.note = "values are zero or of mixed sign";
    } else {
      std::vector<double> ly(y.size());
      for (size_t i = 0; i < y.size(); ++i) ly[i] = std::log(std::fabs(y[i]));
      auto f = fit_line(lx, ly);
      g.power_law.ok = true;
      g.power_law.sign = pos ? 1.0 : -1.0;
      g.power_law.intercept = f.a;
      g.power_law.slope = f.b;
      g.power_law.r2_fit_space = f.r2;
      g.power_law.r2 = r2_on(x, y, g.power_law);
    }
  }
  const LawFit* best = &g.log_law;
  for (const LawFit* f : {&g.power_law, &g.linear_law})
    if (f->ok && f->r2 > best->r2) best = f;
  g.better = best->law;
  return g;
}

int CsvTable::column(const std::string& name) const {
  for (size_t i = 0; i < columns.size(); ++i)
    if (columns[i] == name) return int(i);
  return -1;
}

CsvTable read_numeric_csv(const std::string& path) {
  // The one CSV reader (io/csv.h), after dropping comment lines ("# ...").
  std::istringstream in(read_file(path));
  std::string line, text;
  while (std::getline(in, line))
    if (line.empty() || line[0] != '#') text += line + "\n";
  require(text.find_first_not_of(" \t\r\n") != std::string::npos, "'" + path + "': empty CSV (no header row)");
  const CsvData d = parse_csv(text, path);
  CsvTable t;
  t.columns = d.header;
  std::vector<std::vector<double>> cols;
  for (auto& c : d.header) cols.push_back(d.numbers(c));
  for (size_t r = 0; r < d.num_rows(); ++r) {
    std::vector<double> row;
    for (auto& c : cols) row.push_back(c[r]);
    t.rows.push_back(std::move(row));
  }
  return t;
}

}  // namespace sinklab

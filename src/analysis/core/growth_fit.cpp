#include "analysis/core/growth_fit.h"

#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>

#include <fmt/format.h>

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

namespace {
std::string trim(const std::string& s) {
  size_t a = 0, b = s.size();
  while (a < b && (s[a] == ' ' || s[a] == '\t' || s[a] == '\r' || s[a] == '"')) ++a;
  while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t' || s[b - 1] == '\r' || s[b - 1] == '"')) --b;
  return s.substr(a, b - a);
}
std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : line) {
    if (c == ',') {
      out.push_back(trim(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(trim(cur));
  return out;
}
}  // namespace

CsvTable read_numeric_csv(const std::string& path) {
  const std::string text = read_file(path);
  std::istringstream in(text);
  std::string line;
  CsvTable t;
  size_t lineno = 0;
  bool header = false;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (trim(line).empty() || line[0] == '#') continue;
    auto cells = split(line);
    if (!header) {
      t.columns = cells;
      header = true;
      for (auto& c : t.columns)
        if (c.empty()) fail(fmt::format("'{}' line {}: empty column name in the header", path, lineno));
      continue;
    }
    if (cells.size() != t.columns.size())
      fail(fmt::format("'{}' line {}: {} cells but the header has {} columns", path, lineno, cells.size(),
                       t.columns.size()));
    std::vector<double> row(cells.size());
    for (size_t i = 0; i < cells.size(); ++i) {
      const std::string& c = cells[i];
      if (c.empty()) {
        row[i] = std::numeric_limits<double>::quiet_NaN();
        continue;
      }
      char* end = nullptr;
      row[i] = std::strtod(c.c_str(), &end);
      if (end == c.c_str() || *end != '\0')
        fail(fmt::format("'{}' line {}: column '{}' is not a number: '{}'", path, lineno, t.columns[i],
                         c.size() > 40 ? c.substr(0, 40) + "..." : c));
    }
    t.rows.push_back(std::move(row));
  }
  require(header, "'" + path + "': empty CSV (no header row)");
  return t;
}

}  // namespace sinklab

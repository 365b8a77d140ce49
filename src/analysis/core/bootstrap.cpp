#include "analysis/core/bootstrap.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "io/error.h"

namespace sinklab {

namespace {
double mean_of(const std::vector<double>& x) {
  double s = 0;
  for (double v : x) s += v;
  return x.empty() ? std::nan("") : s / x.size();
}
double resample_mean(const std::vector<double>& x, std::mt19937_64& rng) {
  std::uniform_int_distribution<size_t> u(0, x.size() - 1);
  double s = 0;
  for (size_t i = 0; i < x.size(); ++i) s += x[u(rng)];
  return s / x.size();
}
Interval percentile(double mean, std::vector<double>& boots) {
  Interval iv;
  iv.mean = mean;
  if (boots.empty()) return iv.lo = iv.hi = mean, iv;
  std::sort(boots.begin(), boots.end());
  auto at = [&](double q) {
    double pos = q * (boots.size() - 1);
    size_t i = (size_t)pos;
    double f = pos - i;
    return i + 1 < boots.size() ? boots[i] * (1 - f) + boots[i + 1] * f : boots[i];
  };
  iv.lo = at(0.025), iv.hi = at(0.975);
  return iv;
}
}  // namespace

Interval bootstrap_mean(const std::vector<double>& x, int resamples, uint64_t seed) {
  require(!x.empty(), "bootstrap of no values");
  std::mt19937_64 rng(seed);
  std::vector<double> b;
  for (int i = 0; i < resamples; ++i) b.push_back(resample_mean(x, rng));
  return percentile(mean_of(x), b);
}

Interval bootstrap_diff(const std::vector<double>& a, const std::vector<double>& c, int resamples, uint64_t seed) {
  require(!a.empty() && !c.empty(), "bootstrap of no values");
  std::mt19937_64 rng(seed);
  std::vector<double> b;
  for (int i = 0; i < resamples; ++i) {
    double ma = resample_mean(a, rng);
    b.push_back(ma - resample_mean(c, rng));
  }
  return percentile(mean_of(a) - mean_of(c), b);
}

}  // namespace sinklab

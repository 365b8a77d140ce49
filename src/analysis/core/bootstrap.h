// Bootstrap intervals of means (torch-free): the LLM scan's per-document statistics.
#pragma once
#include <cstdint>
#include <vector>

namespace sinklab {

struct Interval {
  double mean = 0, lo = 0, hi = 0;
};
// Percentile 95% CI of the mean, resampling the values with replacement.
Interval bootstrap_mean(const std::vector<double>& x, int resamples = 1000, uint64_t seed = 1234);
// CI of mean(a) - mean(b), a and b resampled independently.
Interval bootstrap_diff(const std::vector<double>& a, const std::vector<double>& b, int resamples = 1000,
                        uint64_t seed = 1234);

}  // namespace sinklab

#include "data/alias.h"

#include <cmath>

#include "io/error.h"

namespace sinklab {

AliasTable::AliasTable(const std::vector<double>& weights) : n_(weights.size()), cells_(weights.size()) {
  double total = 0;
  for (double w : weights) total += w;
  require(n_ > 0 && total > 0 && std::isfinite(total), "alias table: weights must have a positive, finite sum");
  std::vector<double> p(n_);
  std::vector<int32_t> small, large;
  for (size_t i = 0; i < n_; ++i) {
    p[i] = weights[i] * (double)n_ / total;
    (p[i] < 1.0 ? small : large).push_back((int32_t)i);
  }
  while (!small.empty() && !large.empty()) {
    int32_t s = small.back(), l = large.back();
    small.pop_back();
    cells_[s] = {(uint32_t)std::min(4294967295.0, std::floor(p[s] * 4294967296.0)), s, l};
    p[l] = (p[l] + p[s]) - 1.0;
    if (p[l] < 1.0) {
      large.pop_back();
      small.push_back(l);
    }
  }
  for (int32_t i : large) cells_[i] = {0xffffffffu, i, i};
  for (int32_t i : small) cells_[i] = {0xffffffffu, i, i};  // rounding leftovers
}

}  // namespace sinklab

// Walker's alias method: O(1) sampling from a discrete distribution with one
// 64-bit random draw (high 32 bits pick the column, low 32 bits the coin).
#pragma once
#include <cstdint>
#include <vector>

namespace sinklab {

class AliasTable {
 public:
  AliasTable() = default;
  // weights >= 0 with a positive sum.
  explicit AliasTable(const std::vector<double>& weights);

  int32_t sample(uint64_t r) const {
    const uint32_t col = static_cast<uint32_t>(((r >> 32) * n_) >> 32);
    const Cell& c = cells_[col];
    return static_cast<uint32_t>(r) < c.threshold ? c.self : c.alias;
  }
  int size() const { return (int)n_; }

 private:
  struct Cell {
    uint32_t threshold;  // probability of keeping `self`, scaled to 2^32
    int32_t self;
    int32_t alias;
  };
  uint64_t n_ = 0;
  std::vector<Cell> cells_;
};

}  // namespace sinklab

// Small, fast, seedable random numbers for data generation.
// Streams are derived from (seed, batch index, row) so results do not depend on
// how many threads generate a batch.
#pragma once
#include <cstdint>

namespace sinklab {

inline uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// xoshiro256** seeded through splitmix64.
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    uint64_t s = seed;
    for (auto& x : s_) x = splitmix64(s);
  }
  Rng(uint64_t seed, uint64_t stream, uint64_t sub) : Rng(mix(seed, stream, sub)) {}

  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform double in [0, 1).
  double uniform() { return (next() >> 11) * 0x1.0p-53; }

  static uint64_t mix(uint64_t a, uint64_t b, uint64_t c) {
    uint64_t s = a;
    uint64_t h = splitmix64(s);
    s = h ^ (b * 0xd1342543de82ef95ULL);
    h = splitmix64(s);
    s = h ^ (c * 0xaf251af3b0f025b5ULL);
    return splitmix64(s);
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace sinklab

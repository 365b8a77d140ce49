// Heads, the same for toy runs and pretrained models: one notation for every command
// (printed as L<layer>H<head>, e.g. L3H5; accepted as L3H5, any case, or 3.5) and one
// rule for dormant and active.
#pragma once
#include <string>

namespace sinklab {

struct HeadRef {
  int layer = 0, head = 0;
  bool operator==(const HeadRef& o) const { return layer == o.layer && head == o.head; }
  bool operator<(const HeadRef& o) const { return layer != o.layer ? layer < o.layer : head < o.head; }
};

std::string head_label(const HeadRef& h);  // "L3H5"
std::string head_label(int layer, int head);
// "L3H5", "l3h5" or "3.5"; InputError "<what>: '<text>' is not a head (use L3H5 or 3.5)".
HeadRef parse_head(const std::string& text, const std::string& what = "head");

// The one dormant/active rule: a head is dormant at a set of queries when its mean
// attention mass on the sink token there is at least `threshold` (PAPER.md; the toy
// analysis, the LLM scan and the series all call this).
bool is_dormant(double sink_mass, double threshold);
const char* head_state(double sink_mass, double threshold);  // "dormant" | "active" | "undefined" (non-finite)

}  // namespace sinklab

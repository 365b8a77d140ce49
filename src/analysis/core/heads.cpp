#include "analysis/core/heads.h"

#include <cmath>

#include <cctype>

#include <fmt/format.h>

#include "io/error.h"

namespace sinklab {

std::string head_label(int layer, int head) { return fmt::format("L{}H{}", layer, head); }
std::string head_label(const HeadRef& h) { return head_label(h.layer, h.head); }

HeadRef parse_head(const std::string& text, const std::string& what) {
  // Two runs of digits: after 'L' and 'H' (L3H5), or around one '.' (3.5).
  auto digits = [&](size_t& i, int& v) {
    const size_t b = i;
    while (i < text.size() && std::isdigit((unsigned char)text[i])) ++i;
    if (i == b || i - b > 6) return false;
    v = std::stoi(text.substr(b, i - b));
    return true;
  };
  HeadRef r;
  size_t i = 0;
  bool ok;
  if (!text.empty() && (text[0] == 'L' || text[0] == 'l')) {
    ++i;
    ok = digits(i, r.layer) && i < text.size() && (text[i] == 'H' || text[i] == 'h') && digits(++i, r.head);
  } else {
    ok = digits(i, r.layer) && i < text.size() && text[i] == '.' && digits(++i, r.head);
  }
  require(ok && i == text.size(), fmt::format("{}: '{}' is not a head (use L3H5 or 3.5)", what, text));
  return r;
}

bool is_dormant(double sink_mass, double threshold) { return sink_mass >= threshold; }
const char* head_state(double sink_mass, double threshold) {
  if (!std::isfinite(sink_mass)) return "undefined";  // a non-finite measure is never classified
  return is_dormant(sink_mass, threshold) ? "dormant" : "active";
}

}  // namespace sinklab

// Ranking heads by how their sink mass differs between domains, and head selections.
#include <algorithm>
#include <cmath>
#include <sstream>

#include <fmt/format.h>

#include "analysis/core/heads.h"
#include "analysis/llm_scan.h"
#include "io/error.h"

namespace sinklab::llm {

std::vector<HeadRank> rank_heads(const ScanResult& r, int resamples, uint64_t seed) {
  require(!r.domains.empty(), "no domains scanned");
  const double thr = r.opt.dormant_threshold;
  std::vector<HeadRank> out;
  for (int l = 0; l < r.n_layers; ++l)
    for (int h = 0; h < r.n_heads; ++h) {
      HeadRank best;
      best.head = {l, h};
      double best_abs = -1;
      const size_t nd = r.domains.size();
      for (size_t a = 0; a < nd; ++a)
        for (size_t b = (nd == 1 ? a : a + 1); b < nd; ++b) {
          double ma = head_mean(r.domains[a], r.n_heads, l, h, &HeadDoc::sink_mass);
          double mb = head_mean(r.domains[b], r.n_heads, l, h, &HeadDoc::sink_mass);
          double diff = nd == 1 ? ma : ma - mb;
          if (std::abs(diff) <= best_abs) continue;
          best_abs = std::abs(diff);
          best.dom_a = (int)a, best.dom_b = (int)b, best.mass_a = ma, best.mass_b = mb;
        }
      auto va = head_values(r.domains[best.dom_a], r.n_heads, l, h, &HeadDoc::sink_mass);
      uint64_t s = seed + (uint64_t)(l * 1000 + h);
      if (nd == 1)
        best.diff = bootstrap_mean(va, resamples, s);
      else
        best.diff = bootstrap_diff(va, head_values(r.domains[best.dom_b], r.n_heads, l, h, &HeadDoc::sink_mass),
                                   resamples, s);
      best.dormant_a = is_dormant(best.mass_a, thr), best.dormant_b = is_dormant(best.mass_b, thr);
      out.push_back(best);
    }
  std::stable_sort(out.begin(), out.end(),
                   [](const HeadRank& x, const HeadRank& y) { return std::abs(x.diff.mean) > std::abs(y.diff.mean); });
  return out;
}

std::vector<HeadRef> parse_head_selection(const std::string& spec, int n_layers, int n_heads,
                                          const std::vector<HeadRank>& ranked) {
  std::vector<HeadRef> out;
  if (spec == "all") {
    for (int l = 0; l < n_layers; ++l)
      for (int h = 0; h < n_heads; ++h) out.push_back({l, h});
    return out;
  }
  if (spec.rfind("top:", 0) == 0) {
    int k = 0;
    try {
      size_t pos = 0;
      k = std::stoi(spec.substr(4), &pos);
      require(pos == spec.size() - 4, "");
    } catch (...) {
      fail("--ablate '" + spec + "': top:K needs a whole number K");
    }
    require(k >= 0, "--ablate '" + spec + "': K must be >= 0");
    // With two or more domains: the K best-ranked domain-dependent heads (the one
    // definition: dormant in one domain, active in the other); with one: the K heads
    // with the most sink mass.
    for (const auto& h : ranked) {
      if ((int)out.size() >= k) break;
      if (h.dom_a == h.dom_b || h.domain_dependent()) out.push_back(h.head);
    }
    return out;
  }
  std::stringstream ss(spec);
  std::string item;
  while (std::getline(ss, item, ',')) {
    HeadRef r = parse_head(item, "--ablate (a head as L3H5 or 3.5, 'top:K' or 'all')");
    require(r.layer < n_layers && r.head < n_heads,
            fmt::format("--ablate: unknown head {} (the model has layers 0..{} and heads 0..{})", item,
                        n_layers - 1, n_heads - 1));
    if (std::find(out.begin(), out.end(), r) == out.end()) out.push_back(r);
  }
  require(!out.empty(), "--ablate: no heads given");
  return out;
}

}  // namespace sinklab::llm

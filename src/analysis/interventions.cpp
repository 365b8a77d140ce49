#include "analysis/interventions.h"

#include <memory>

#include <torch/torch.h>

#include "io/error.h"

namespace sinklab {

namespace {
struct Named {
  Intervention kind;
  const char* name;
};
constexpr Named kNames[] = {{Intervention::ZeroHead, "zero-head"},
                            {Intervention::AttendSink, "attend-sink"},
                            {Intervention::ZeroSinkValue, "zero-sink-value"},
                            {Intervention::OraclePattern, "oracle-pattern"}};

// The selected queries [B, T] (bool, on `like`'s device).
at::Tensor selection(const InterventionSite& s, int64_t B, int64_t T, const at::Tensor& like) {
  at::Tensor m = s.queries.defined() ? s.queries.to(like.device(), torch::kBool)
                                     : torch::ones({B, T}, like.options().dtype(torch::kBool));
  if (s.batch_index >= 0) {
    auto only = torch::zeros({B, 1}, m.options());
    only[s.batch_index] = true;
    m = m.logical_and(only);
  }
  return m;
}
}  // namespace

std::string intervention_name(Intervention k) {
  for (const auto& n : kNames)
    if (n.kind == k) return n.name;
  return "?";
}

const std::vector<Intervention>& all_interventions() {
  static const std::vector<Intervention> all = [] {
    std::vector<Intervention> v;
    for (const auto& n : kNames) v.push_back(n.kind);
    return v;
  }();
  return all;
}

std::string intervention_names() {
  std::string r;
  for (const auto& n : kNames) r += std::string(r.empty() ? "" : " | ") + n.name;
  return r;
}

Intervention parse_intervention(const std::string& s) {
  for (const auto& n : kNames)
    if (s == n.name) return n.kind;
  fail("unknown intervention '" + s + "' (valid: " + intervention_names() + ")");
}

void add_intervention(Hooks& hooks, Intervention kind, const InterventionSite& site) {
  const int layer = site.head.layer, head = site.head.head;
  const int64_t P = site.sink_pos;
  switch (kind) {
    case Intervention::ZeroHead:
      hooks.add_override(HookPoint::Z, layer, [=](const at::Tensor& z) {  // [B, T, H, hd]
        auto o = z.clone();
        if (!site.queries.defined() && site.batch_index < 0) {
          o.select(2, head).zero_();
        } else {
          auto keep = selection(site, z.size(0), z.size(1), z).logical_not().to(z.scalar_type()).unsqueeze(-1);
          o.select(2, head).mul_(keep);
        }
        return o;
      });
      break;
    case Intervention::AttendSink:
    case Intervention::OraclePattern:
      hooks.add_override(HookPoint::Pattern, layer, [=](const at::Tensor& p) {  // [B, H, T, T]
        auto o = p.clone();
        const int64_t B = p.size(0), T = p.size(-1);
        if (P >= T) return o;
        auto sink = torch::zeros({T, T}, p.options());
        sink.select(1, P).fill_(1.0);  // every row on the sink
        auto want = sink.unsqueeze(0).expand({B, T, T});
        if (kind == Intervention::OraclePattern) {
          // Previous token at trigger queries, the sink elsewhere.
          auto prev = torch::zeros({T, T}, p.options());
          prev[0][0] = 1.0;
          for (int64_t q = 1; q < T; ++q) prev[q][q - 1] = 1.0;
          auto trig = site.is_trigger.to(p.device()).unsqueeze(-1);
          want = torch::where(trig, prev.unsqueeze(0).expand({B, T, T}), want);
        }
        auto sel = selection(site, B, T, p).logical_and(torch::arange(T, p.options().dtype(torch::kLong)).ge(P));
        auto ph = o.select(1, head);  // [B, T, T]
        ph.copy_(torch::where(sel.unsqueeze(-1), want, ph));
        return o;
      });
      break;
    case Intervention::ZeroSinkValue: {
      // z_q -= A[q, P] * v_P at the selected queries (the head's pattern and value are
      // read in the same forward pass).
      auto pat = std::make_shared<at::Tensor>();
      auto val = std::make_shared<at::Tensor>();
      hooks.add_override(HookPoint::V, layer, [=](const at::Tensor& v) {
        *val = v;
        return v;
      });
      hooks.add_override(HookPoint::Pattern, layer, [=](const at::Tensor& p) {
        *pat = p;
        return p;
      });
      hooks.add_override(HookPoint::Z, layer, [=](const at::Tensor& z) {
        auto o = z.clone();
        if (P >= z.size(1)) return o;
        auto wP = pat->select(1, head).select(2, P);                 // [B, T]
        auto vP = val->select(2, head).select(1, P).unsqueeze(1);    // [B, 1, hd]
        auto m = selection(site, z.size(0), z.size(1), z).to(z.scalar_type());
        o.select(2, head).sub_((wP * m).unsqueeze(-1) * vP);
        return o;
      });
      break;
    }
  }
}

}  // namespace sinklab

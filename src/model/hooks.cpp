#include "model/hooks.h"

#include <cstdio>
#include <torch/torch.h>

#include "io/error.h"

namespace sinklab {

static const char* point_suffix(HookPoint p) {
  switch (p) {
    case HookPoint::Embed: return "hook_embed";
    case HookPoint::PosEmbed: return "hook_pos_embed";
    case HookPoint::ResidPre: return "hook_resid_pre";
    case HookPoint::Q: return "attn.hook_q";
    case HookPoint::K: return "attn.hook_k";
    case HookPoint::V: return "attn.hook_v";
    case HookPoint::AttnScores: return "attn.hook_attn_scores";
    case HookPoint::Pattern: return "attn.hook_pattern";
    case HookPoint::Z: return "attn.hook_z";
    case HookPoint::AttnOut: return "hook_attn_out";
    case HookPoint::ResidMid: return "hook_resid_mid";
    case HookPoint::MlpOut: return "hook_mlp_out";
    case HookPoint::ResidPost: return "hook_resid_post";
    case HookPoint::FinalNorm: return "ln_final.hook_normalized";
    case HookPoint::RotQ: return "attn.hook_rot_q";
    case HookPoint::RotK: return "attn.hook_rot_k";
    default: return "?";
  }
}

static bool is_global(HookPoint p) {
  return p == HookPoint::Embed || p == HookPoint::PosEmbed || p == HookPoint::FinalNorm;
}

std::string hook_name(HookPoint p, int layer) {
  if (is_global(p)) return point_suffix(p);
  return "blocks." + (layer < 0 ? std::string("*") : std::to_string(layer)) + "." + point_suffix(p);
}

bool parse_hook_name(const std::string& name, HookPoint& p, int& layer) {
  for (int i = 0; i < (int)HookPoint::Count; ++i) {
    HookPoint q = (HookPoint)i;
    std::string suf = point_suffix(q);
    if (is_global(q)) {
      if (name == suf) {
        p = q, layer = -1;
        return true;
      }
      continue;
    }
    const std::string pre = "blocks.";
    if (name.rfind(pre, 0) != 0 || name.size() <= pre.size() + suf.size() + 1) continue;
    if (name.compare(name.size() - suf.size(), suf.size(), suf) != 0) continue;
    std::string mid = name.substr(pre.size(), name.size() - pre.size() - suf.size());
    if (mid.empty() || mid.back() != '.') continue;
    mid.pop_back();
    if (mid == "*") {
      p = q, layer = -1;
      return true;
    }
    if (mid.empty() || mid.find_first_not_of("0123456789") != std::string::npos || mid.size() > 6) continue;
    p = q, layer = std::stoi(mid);
    return true;
  }
  return false;
}

void Hooks::record(const std::string& name) {
  HookPoint p;
  int l;
  if (!parse_hook_name(name, p, l))
    fail("unknown hook point '" + name + "' (e.g. blocks.0.attn.hook_pattern, blocks.*.hook_resid_post)");
  record(p, l);
}

void Hooks::record(HookPoint p, int layer) { want_.insert(key(p, is_global(p) ? -1 : layer)); }
void Hooks::record_all() { record_all_ = true; }

void Hooks::add_override(HookPoint p, int layer, HookFn fn) { overrides_.emplace(key(p, layer), std::move(fn)); }

at::Tensor Hooks::apply(HookPoint p, int layer, at::Tensor t) {
  auto range = overrides_.equal_range(key(p, layer));
  for (auto it = range.first; it != range.second; ++it) t = it->second(t);
  if (record_all_ || want_.count(key(p, layer)) || want_.count(key(p, -1))) records_[hook_name(p, layer)] = t;
  return t;
}

const at::Tensor& Hooks::get(const std::string& name) const {
  auto it = records_.find(name);
  if (it == records_.end()) fail("hook point '" + name + "' was not recorded");
  return it->second;
}

}  // namespace sinklab

// Hook points: record and override named internals of one forward pass.
//
// Names (one scheme for every model, close to TransformerLens):
//   hook_embed, hook_pos_embed                      [B, T, d]
//   blocks.{l}.hook_resid_pre                       [B, T, d]
//   blocks.{l}.attn.hook_q | hook_k | hook_v        [B, T, H, hd]   (before rotary, after qk-norm;
//                                                                    k, v expanded to query heads)
//   blocks.{l}.attn.hook_rot_q | hook_rot_k         [B, T, H, hd]   (after rotary; rotary models only)
//   blocks.{l}.attn.hook_attn_scores                [B, H, Tq, Tk]  (logits, scaled; -inf above the diagonal)
//   blocks.{l}.attn.hook_pattern                    [B, H, Tq, Tk]  (attention weights)
//   blocks.{l}.attn.hook_z                          [B, T, H, hd]   (per-head output before W_O)
//   blocks.{l}.hook_attn_out                        [B, T, d]
//   blocks.{l}.hook_resid_mid                       [B, T, d]
//   blocks.{l}.hook_mlp_out                         [B, T, d]
//   blocks.{l}.hook_resid_post                      [B, T, d]
//   ln_final.hook_normalized                        [B, T, d]
// A forward pass without a Hooks object (or with an empty one) records nothing and
// pays nothing but a null check per hook point.
#pragma once
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace sinklab {

enum class HookPoint {
  Embed, PosEmbed, ResidPre, Q, K, V, AttnScores, Pattern, Z, AttnOut, ResidMid, MlpOut, ResidPost, FinalNorm,
  RotQ, RotK, Count
};
std::string hook_name(HookPoint p, int layer);  // full name, e.g. "blocks.2.attn.hook_pattern"
// Parses a full hook name; false if it is not one.
bool parse_hook_name(const std::string& name, HookPoint& p, int& layer);

// An override: gets the tensor at a hook point, returns its replacement (same shape).
using HookFn = std::function<at::Tensor(const at::Tensor&)>;

class Hooks {
 public:
  // Record one hook point by full name, or every layer of a point with "*" for the
  // layer ("blocks.*.attn.hook_pattern"). InputError for unknown names.
  void record(const std::string& name);
  void record(HookPoint p, int layer = -1);  // layer -1 = all layers
  void record_all();
  void add_override(HookPoint p, int layer, HookFn fn);
  void clear_overrides() { overrides_.clear(); }
  void clear_records() { records_.clear(); }

  // Called by the model at each hook point.
  bool active(HookPoint p, int layer) const {
    return record_all_ || want_.count(key(p, layer)) || want_.count(key(p, -1)) || overrides_.count(key(p, layer));
  }
  at::Tensor apply(HookPoint p, int layer, at::Tensor t);

  const std::map<std::string, at::Tensor>& records() const { return records_; }
  const at::Tensor& get(const std::string& name) const;  // InputError if not recorded
  const at::Tensor& get(HookPoint p, int layer) const { return get(hook_name(p, layer)); }
  bool has(HookPoint p, int layer) const { return records_.count(hook_name(p, layer)) > 0; }

 private:
  static long key(HookPoint p, int layer) { return (long)layer * 64 + (long)p; }
  bool record_all_ = false;
  std::set<long> want_;
  std::multimap<long, HookFn> overrides_;
  std::map<std::string, at::Tensor> records_;
};

}  // namespace sinklab

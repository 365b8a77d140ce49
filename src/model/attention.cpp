#include "model/attention.h"

#include <torch/torch.h>

#include "io/error.h"

namespace sinklab {

// One line per variant (each defined in its file under src/model/attn/).
extern const AttnVariant kAttnSoftmax, kAttnReLU, kAttnSoftmax1, kAttnSigmoid, kAttnSinkLogit, kAttnClippedSoftmax;
namespace {
const AttnVariant* const kVariants[] = {&kAttnSoftmax, &kAttnReLU, &kAttnSoftmax1, &kAttnSigmoid, &kAttnSinkLogit,
                                          &kAttnClippedSoftmax};
}  // namespace

std::vector<std::string> attn_variant_names() {
  std::vector<std::string> v;
  for (auto* a : kVariants) v.push_back(a->name);
  return v;
}

const AttnVariant& attn_variant(const std::string& name) {
  for (auto* a : kVariants)
    if (name == a->name) return *a;
  std::string all;
  for (auto& n : attn_variant_names()) all += (all.empty() ? "" : ", ") + n;
  fail("unknown attention kind '" + name + "' (valid: " + all + ")");
}

std::string attn_variants_help() {
  std::string r;
  for (auto* a : kVariants) r += std::string(r.empty() ? "" : " | ") + a->name;
  return r + " (formulas: sinklab train --list-attention)";
}

at::Tensor visible_keys(const at::Tensor& scores, int64_t q_offset) {
  const int64_t Tq = scores.size(-2);
  return torch::arange(q_offset + 1, q_offset + Tq + 1, scores.options()).unsqueeze(-1);
}

}  // namespace sinklab

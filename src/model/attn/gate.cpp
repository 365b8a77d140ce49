// The output gate switch (Qiu et al. 2025, "Gated Attention for Large Language Models"):
// each head's attention output times sigmoid(x W_G^T), x the attention's (normed) input,
// before W_O. The gate lets a head scale its update to zero by itself, the job a sink
// otherwise does. "head": one scalar gate per head and position (W_G [H, d_model]);
// "element": one per output element (W_G [H*head_dim, d_model]).
#include <torch/torch.h>

#include "io/error.h"
#include "model/attention.h"
#include "model/spec.h"

namespace sinklab {

void check_attn_gate(const std::string& mode) {
  require(mode == "none" || mode == "head" || mode == "element",
          "unknown attention gate '" + mode + "' (valid: none, head, element)");
}

std::vector<AttnParamSpec> attn_gate_params(const ModelSpec& s) {
  if (s.attn_gate == "none") return {};
  const int64_t rows = s.attn_gate == "head" ? s.n_heads : (int64_t)s.n_heads * s.hd();
  AttnParamSpec p{"W_G", {rows, s.d_model}, 0.0};
  p.drawn = true;
  return {p};
}

at::Tensor apply_attn_gate(const ModelSpec& s, const at::Tensor& z, const at::Tensor& x, const AttnParams& params) {
  if (s.attn_gate == "none") return z;
  auto g = torch::sigmoid(torch::linear(x, params("W_G").to(x.scalar_type())));  // [B, T, rows]
  const int64_t B = z.size(0), T = z.size(1), H = z.size(2);
  return z * (s.attn_gate == "head" ? g.view({B, T, H, 1}) : g.view(z.sizes()));
}

}  // namespace sinklab

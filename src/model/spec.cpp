#include "model/spec.h"

#include <fmt/format.h>

#include "io/error.h"
#include "model/attention.h"

namespace sinklab {

void ModelSpec::finalize() {
  require(vocab >= 2, fmt::format("model: vocabulary size must be >= 2, got {}", vocab));
  require(d_model >= 1 && d_model <= 65536, fmt::format("model: width d_model = {} is out of range", d_model));
  require(n_layers >= 1 && n_layers <= 512, fmt::format("model: layers = {} is out of range", n_layers));
  require(n_heads >= 1, fmt::format("model: heads must be >= 1, got {}", n_heads));
  if (head_dim == 0)
    require(d_model % n_heads == 0,
            fmt::format("model: width d_model = {} is not divisible by heads = {}", d_model, n_heads));
  require(kv_heads() >= 1 && n_heads % kv_heads() == 0,
          fmt::format("model: heads = {} is not a multiple of kv heads = {}", n_heads, kv_heads()));
  require(n_ctx >= 1, fmt::format("model: context must be >= 1, got {}", n_ctx));
  require(ff() >= 1, "model: MLP width must be >= 1");
  require(norm_eps > 0, "model: norm epsilon must be positive");
  if (pos == PosKind::Rotary) {
    if (rope_dim == 0) rope_dim = hd();
    require(rope_dim % 2 == 0 && rope_dim <= hd(),
            fmt::format("model: rotary dims {} must be even and <= head dim {}", rope_dim, hd()));
  }
  attn_variant(attn);
  check_qk_norm(qk_norm);
  if (layers.empty()) layers.assign(n_layers, LayerSpec{});
  require((int)layers.size() == n_layers,
          fmt::format("model: {} per-layer entries for {} layers", layers.size(), n_layers));
}

}  // namespace sinklab

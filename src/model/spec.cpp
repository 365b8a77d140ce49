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
  if (pos == PosKind::Rotary) {
    check_rope_scaling(rope_scaling, rope_dim);
    check_rope_scaling(rope_local_scaling, rope_dim);
  }
  require(attn_scale >= 0 && attn_softcap >= 0 && logit_softcap >= 0 && embed_scale >= 0,
          "model: attention scale, soft-caps and embedding scale must be >= 0");
  require(input_norm || out_norm || post_norm, "model: a block needs a norm (input_norm, out_norm or post_norm)");
  require(!(out_norm && (post_norm || parallel_attn_mlp)),
          "model: out_norm does not combine with post_norm or parallel attention/MLP");
  attn_variant(attn);
  check_qk_norm(qk_norm);
  check_attn_gate(attn_gate);
  require(clip_alpha >= 0 && clip_zeta >= 1,
          fmt::format("model: clipped softmax needs clip_alpha >= 0 and clip_zeta >= 1, got {} and {}", clip_alpha,
                      clip_zeta));
  if (layers.empty()) layers.assign(n_layers, LayerSpec{});
  require((int)layers.size() == n_layers,
          fmt::format("model: {} per-layer entries for {} layers", layers.size(), n_layers));
  for (const LayerSpec& l : layers) require(l.window >= 0, "model: a sliding window must be >= 0");
}

}  // namespace sinklab

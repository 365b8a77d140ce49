// Outlier metrics beside the extreme-token ones (the quantisation view of the same
// phenomena; Bondarenko et al. 2023), for toy runs, pretrain checkpoints and pretrained
// models alike, on a batch of token sequences:
//   per layer: max |x| / median |x| of the residual stream after the layer
//   (hook_resid_post, all positions and dimensions), and the kurtosis E[(x-mu)^4] / var^2
//   of the residual stream and of the attention output (hook_attn_out) across the d_model
//   dimensions of each token, averaged over tokens (a Gaussian gives 3; outlier
//   dimensions give hundreds);
//   for the model: the mean next-token loss in float and under simulated W8A8
//   (Transformer::set_fake_quant(8): per-tensor symmetric int8 weights and activations of
//   every linear layer) and the increase.
#pragma once
#include <vector>

#include <ATen/core/Tensor.h>

namespace sinklab {

class Transformer;

struct OutlierLayer {
  int layer = 0;
  double max_abs = 0, median_abs = 0, max_over_median = 0;
  double kurtosis_resid = 0, kurtosis_attn = 0;  // kurtosis_attn: NaN for a layer without attention
};

struct OutlierMetrics {
  std::vector<OutlierLayer> layers;
  double max_over_median = 0;  // the largest over layers
  double kurtosis_resid = 0, kurtosis_attn = 0;  // means over layers (Bondarenko's "avg. kurtosis")
  double loss = 0, loss_w8a8 = 0, w8a8_increase = 0;
};

// tokens [B, T+1] int64: the model reads [:, :T] and is scored on [:, 1:]. w8a8 = false
// skips the quantised forward (loss_w8a8 and w8a8_increase NaN). The model's fake
// quantisation is switched off again before returning.
OutlierMetrics measure_outliers(Transformer& model, const at::Tensor& tokens, bool w8a8 = true);

// Per-token kurtosis across the last dimension, averaged over tokens; tokens whose vector
// is constant (no kurtosis) are left out, NaN when every one is.
double mean_token_kurtosis(const at::Tensor& x);

}  // namespace sinklab

#include "analysis/outliers.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <torch/torch.h>

#include "model/hooks.h"
#include "model/transformer.h"

namespace sinklab {

double mean_token_kurtosis(const at::Tensor& x) {
  auto v = x.to(torch::kFloat64).reshape({-1, x.size(-1)});
  auto c = v - v.mean(-1, true);
  auto var = c.pow(2).mean(-1);
  // A constant vector (an attention output that is exactly zero) has no kurtosis: left out.
  auto ok = var > 0;
  if (!ok.any().item<bool>()) return std::nan("");
  auto k = c.pow(4).mean(-1).index({ok}) / var.index({ok}).pow(2);
  return k.mean().item<double>();
}

OutlierMetrics measure_outliers(Transformer& model, const at::Tensor& tokens, bool w8a8) {
  torch::NoGradGuard ng;
  const int L = model.spec().n_layers;
  OutlierMetrics out;
  Hooks h;
  h.record(HookPoint::ResidPost);
  h.record(HookPoint::AttnOut);
  out.loss = model.token_nll(tokens, &h).mean().item<double>();
  double kr = 0, ka = 0;
  int n_attn = 0, n_resid = 0;
  for (int l = 0; l < L; ++l) {
    OutlierLayer o;
    o.layer = l;
    auto r = h.get(HookPoint::ResidPost, l).to(torch::kFloat32).abs().flatten();
    o.max_abs = r.max().item<double>();
    o.median_abs = r.median().item<double>();
    o.max_over_median = o.median_abs > 0 ? o.max_abs / o.median_abs : std::numeric_limits<double>::infinity();
    o.kurtosis_resid = mean_token_kurtosis(h.get(HookPoint::ResidPost, l));
    o.kurtosis_attn = std::nan("");
    if (model.spec().layers[l].attn) {
      o.kurtosis_attn = mean_token_kurtosis(h.get(HookPoint::AttnOut, l));
      if (std::isfinite(o.kurtosis_attn)) ka += o.kurtosis_attn, ++n_attn;  // (NaN: a layer whose output is 0)
    }
    if (std::isfinite(o.kurtosis_resid)) kr += o.kurtosis_resid, ++n_resid;
    out.max_over_median = std::max(out.max_over_median, o.max_over_median);
    out.layers.push_back(o);
  }
  out.kurtosis_resid = n_resid ? kr / n_resid : std::nan("");
  out.kurtosis_attn = n_attn ? ka / n_attn : std::nan("");
  out.loss_w8a8 = out.w8a8_increase = std::nan("");
  if (w8a8) {
    model.set_fake_quant(8);
    try {
      out.loss_w8a8 = model.token_nll(tokens).mean().item<double>();
    } catch (...) {
      model.set_fake_quant(0);
      throw;
    }
    model.set_fake_quant(0);
    out.w8a8_increase = out.loss_w8a8 - out.loss;
  }
  return out;
}

}  // namespace sinklab

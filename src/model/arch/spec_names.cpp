// The names of ModelSpec's switches (src/model/spec.h), torch-free: config files, model
// summaries and checkpoints spell them this one way.
#include <string>

#include "io/error.h"
#include "model/spec.h"

namespace sinklab {

std::string init_scheme_name(InitScheme k) {
  return k == InitScheme::TorchDefault ? "torch-default" : "gpt2";
}
InitScheme parse_init_scheme(const std::string& s) {
  for (auto k : {InitScheme::TorchDefault, InitScheme::GPT2})
    if (init_scheme_name(k) == s) return k;
  fail("unknown init scheme '" + s + "' (valid: torch-default, gpt2)");
}
std::string norm_kind_name(NormKind k) {
  switch (k) {
    case NormKind::LayerNorm: return "layernorm";
    case NormKind::RMSNorm: return "rmsnorm";
    case NormKind::LayerNormNoAffine: return "layernorm-noaffine";
  }
  return "?";
}
NormKind parse_norm_kind(const std::string& s) {
  for (auto k : {NormKind::LayerNorm, NormKind::RMSNorm, NormKind::LayerNormNoAffine})
    if (norm_kind_name(k) == s) return k;
  fail("unknown norm '" + s + "' (valid: layernorm, rmsnorm, layernorm-noaffine)");
}
std::string mlp_kind_name(MlpKind k) {
  switch (k) {
    case MlpKind::ReLU: return "relu";
    case MlpKind::GELU: return "gelu";
    case MlpKind::GELUTanh: return "gelu-tanh";
    case MlpKind::SwiGLU: return "swiglu";
    case MlpKind::Linear: return "linear";
    case MlpKind::GeGLU: return "geglu";
    case MlpKind::GeGLUTanh: return "geglu-tanh";
  }
  return "?";
}
MlpKind parse_mlp_kind(const std::string& s) {
  for (auto k : {MlpKind::ReLU, MlpKind::GELU, MlpKind::GELUTanh, MlpKind::SwiGLU, MlpKind::Linear, MlpKind::GeGLU,
                 MlpKind::GeGLUTanh})
    if (mlp_kind_name(k) == s) return k;
  fail("unknown MLP kind '" + s + "' (valid: relu, gelu, gelu-tanh, swiglu, linear, geglu, geglu-tanh)");
}

}  // namespace sinklab

// The SmolLM2-135M-Instruct test model (GGUF, fetched by scripts/setup.sh into the
// sinklab cache), loaded once per test binary; tests skip, saying why, without it.
// Loaded with float32 weights (--weights float32): the parity and scan tests run many
// short forwards, where dequantising every pass would double their time; the stored
// default gives the same values (test_stored_weights.cpp) and the CLI tests run it.
#pragma once
#include <memory>

#include "io/gguf_info.h"
#include "model/pretrained.h"

namespace sinklab::testing {

inline PretrainedModel* smol() {
  static std::unique_ptr<PretrainedModel> pm = []() -> std::unique_ptr<PretrainedModel> {
    auto p = gguf::test_model_path();
    if (p.empty()) return nullptr;
    LoadOptions o;
    o.weights = "float32";
    return std::make_unique<PretrainedModel>(load_pretrained(p, o));
  }();
  return pm.get();
}

}  // namespace sinklab::testing

#define NEED_MODEL()                                                                              \
  auto* pm = sinklab::testing::smol();                                                            \
  if (!pm) GTEST_SKIP() << "SmolLM2-135M-Instruct.gguf is not in the sinklab cache (models/); " \
                           "run scripts/setup.sh or set SINKLAB_CACHE";

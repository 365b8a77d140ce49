#include "model/pretrained.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>
#include <torch/torch.h>

#include "data/tokenizer_gguf.h"
#include "data/tokenizer_hf.h"
#include "io/dequant.h"
#include "io/error.h"
#include "io/gguf.h"
#include "io/model_path.h"
#include "model/arch/arch.h"
#include "model/hf_model.h"
#include "model/transformer.h"

namespace sinklab {

PretrainedModel::PretrainedModel() = default;
PretrainedModel::~PretrainedModel() = default;
PretrainedModel::PretrainedModel(PretrainedModel&&) noexcept = default;
const Tokenizer& PretrainedModel::tok() const {
  require(tokenizer != nullptr, "'" + path + "' has no tokenizer (neither tokenizer.json nor tokenizer.model)");
  return *tokenizer;
}

namespace {

void load_tensor(Transformer& m, const gguf::GgufFile& f, const std::string& gname, const std::string& pname) {
  const gguf::TensorInfo& t = f.tensor(gname);
  require(gguf::dequant_supported(t.type),
          fmt::format("'{}': tensor '{}' has type {}, which sinklab cannot dequantise", f.path(), gname,
                      gguf::type_name(t.type)));
  const at::Tensor& p = m.param(pname);
  std::vector<int64_t> want(p.sizes().begin(), p.sizes().end());
  require(t.shape() == want, fmt::format("'{}': tensor '{}' has shape {}, the metadata implies [{}]", f.path(), gname,
                                         t.shape_string(), fmt::join(want, ", ")));
  auto buf = torch::empty(p.sizes(), torch::kFloat32);
  gguf::dequantize_into(f, t, buf.data_ptr<float>());
  m.set_param(pname, buf);
}

}  // namespace

std::unique_ptr<Transformer> transformer_from_gguf(const gguf::GgufFile& f) {
  const Architecture& a = arch_for_gguf(f);
  ModelSpec s = a.gguf_config(f);
  s.finalize();
  auto m = std::make_unique<Transformer>(s);
  for (const auto& [gname, pname] : a.gguf_tensors(s)) load_tensor(*m, f, gname, pname);
  return m;
}

PretrainedModel load_pretrained(const std::string& model) {
  const std::string path = resolve_model(model).path;
  std::error_code ec;
  require(std::filesystem::exists(path, ec), "model '" + path + "' does not exist");
  PretrainedModel pm;
  if (std::filesystem::is_directory(path, ec)) {  // Hugging Face model directory
    const hf::HfConfig c = hf::read_config(path);
    pm.path = path;
    pm.arch = c.model_type;
    std::filesystem::path p(path);
    pm.name = (p.filename().empty() ? p.parent_path() : p).filename().string();
    pm.model = transformer_from_hf(c);
    if (auto tok = tokenizer_from_hf_dir(path)) pm.tokenizer = std::make_unique<Tokenizer>(std::move(*tok));
    return pm;
  }
  gguf::GgufFile f(path);
  pm.path = path;
  pm.arch = f.architecture();
  pm.name = f.get_string_or("general.name", std::filesystem::path(path).stem().string());
  pm.model = transformer_from_gguf(f);
  pm.tokenizer = std::make_unique<Tokenizer>(tokenizer_from_gguf(f));
  return pm;
}

ChunkedNll chunked_nll(const Transformer& model, const std::vector<int32_t>& ids, int ctx) {
  require(ctx >= 2, "--ctx must be at least 2");
  torch::NoGradGuard ng;
  ChunkedNll r;
  for (size_t s = 0; s < ids.size(); s += (size_t)ctx) {
    const size_t n = std::min(ids.size() - s, (size_t)ctx);
    if (n < 2) continue;
    auto x = torch::tensor(std::vector<int64_t>(ids.begin() + (ptrdiff_t)s, ids.begin() + (ptrdiff_t)(s + n)),
                           torch::kInt64)
                 .unsqueeze(0);
    auto t = model.token_nll(x);  // NLL of tokens 1..n-1 of the chunk
    r.nll_sum += t.to(torch::kFloat64).sum().item<double>();
    r.n_scored += t.numel();
    ++r.n_chunks;
  }
  return r;
}

}  // namespace sinklab

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

void load_tensor(Transformer& m, const gguf::GgufFile& f, const GgufTensorMap& map,
                 const std::shared_ptr<const gguf::GgufFile>& keep) {
  const std::string& gname = map.src;
  const gguf::TensorInfo& t = f.tensor(gname);
  require(gguf::dequant_supported(t.type),
          fmt::format("'{}': tensor '{}' has type {}, which sinklab cannot dequantise", f.path(), gname,
                      gguf::type_name(t.type)));
  const at::Tensor& p = m.param(map.dst);
  std::vector<int64_t> want(p.sizes().begin(), p.sizes().end());
  if (map.n_rows > 0) want[0] = map.src_rows;  // a fused tensor: the parameter is a row block of it
  require(t.shape() == want, fmt::format("'{}': tensor '{}' has shape {}, the metadata implies [{}]", f.path(), gname,
                                         t.shape_string(), fmt::join(want, ", ")));
  const int64_t row0 = map.n_rows > 0 ? map.row0 : 0;
  if (keep && p.dim() == 2 && Transformer::can_store(map.dst)) {
    // The quantised blocks stay in the mapping; rows are dequantised when used.
    const uint64_t row_bytes = gguf::type_bytes(t.type, t.row_length());
    const uint8_t* base = f.tensor_data(t) + (uint64_t)row0 * row_bytes;
    const gguf::GgmlType type = t.type;
    const uint64_t row_len = t.row_length();
    StoredWeight sw;
    sw.fill = [base, row_bytes, row_len, type](int64_t r0, int64_t n, float* dst) {
      gguf::dequantize_into(type, base + (uint64_t)r0 * row_bytes, dst, (size_t)n * row_len);
    };
    sw.keep = keep;
    sw.stored_bytes = (int64_t)(row_bytes * (uint64_t)p.size(0));
    m.store(map.dst, std::move(sw));
    return;
  }
  auto buf = torch::empty(want, torch::kFloat32);
  gguf::dequantize_into(f, t, buf.data_ptr<float>());
  m.set_param(map.dst, map.n_rows > 0 ? buf.narrow(0, row0, map.n_rows) : buf);
}

std::unique_ptr<Transformer> from_gguf(const gguf::GgufFile& f, const std::shared_ptr<const gguf::GgufFile>& keep) {
  const Architecture& a = arch_for_gguf(f);
  ModelSpec s = a.gguf_config(f);
  s.finalize();
  auto m = std::make_unique<Transformer>(s, false);
  for (const auto& map : a.gguf_tensors(s)) load_tensor(*m, f, map, keep);
  const std::string miss = m->missing_param();
  require(miss.empty(), fmt::format("'{}': no tensor maps to parameter '{}'", f.path(), miss));
  return m;
}

}  // namespace

std::unique_ptr<Transformer> transformer_from_gguf(const gguf::GgufFile& f) { return from_gguf(f, nullptr); }

std::unique_ptr<Transformer> transformer_from_gguf(std::shared_ptr<const gguf::GgufFile> f) {
  return from_gguf(*f, f);
}

namespace {

PretrainedModel load_weights(const std::string& path, const LoadOptions& opt) {
  std::error_code ec;
  PretrainedModel pm;
  if (std::filesystem::is_directory(path, ec)) {  // Hugging Face model directory
    const hf::HfConfig c = hf::read_config(path);
    pm.path = path;
    pm.arch = c.model_type;
    std::filesystem::path p(path);
    pm.name = (p.filename().empty() ? p.parent_path() : p).filename().string();
    pm.model = transformer_from_hf(c, opt.weights == "stored");
    if (auto tok = tokenizer_from_hf_dir(path)) pm.tokenizer = std::make_unique<Tokenizer>(std::move(*tok));
    return pm;
  }
  auto f = std::make_shared<const gguf::GgufFile>(path);
  pm.path = path;
  pm.arch = f->architecture();
  pm.name = f->get_string_or("general.name", std::filesystem::path(path).stem().string());
  pm.model = opt.weights == "float32" ? transformer_from_gguf(*f) : transformer_from_gguf(f);
  pm.tokenizer = std::make_unique<Tokenizer>(tokenizer_from_gguf(*f));
  return pm;
}

// What the file's parser cannot see: non-finite weights (a stored matrix is converted
// once, a tensor at a time) and a tokenizer with ids the embedding does not have.
void check_loaded(const PretrainedModel& pm) {
  torch::NoGradGuard ng;
  for (const auto& [name, p] : pm.model->named_parameters()) {
    const at::Tensor v = pm.model->is_stored(name) ? pm.model->value(name) : p;
    if (!torch::isfinite(v).all().item<bool>())
      fail(fmt::format("'{}': tensor '{}' has non-finite values (inf or NaN)", pm.path, name));
  }
  if (pm.tokenizer) {
    const size_t n = pm.tokenizer->vocab_size();
    const int64_t V = pm.model->spec().vocab;
    require((int64_t)n <= V, fmt::format("'{}': the tokenizer has {} tokens, more than the model's vocabulary of {} "
                                         "(ids >= {} cannot be embedded)",
                                         pm.path, n, V, V));
  }
}

}  // namespace

PretrainedModel load_pretrained(const std::string& model, const LoadOptions& opt) {
  require(opt.weights == "stored" || opt.weights == "float32",
          "--weights must be 'stored' or 'float32', not '" + opt.weights + "'");
  require(opt.device == "cpu" || opt.device == "cuda", "--device must be 'cpu' or 'cuda', not '" + opt.device + "'");
  require(opt.dtype == "float32" || opt.dtype == "bfloat16" || opt.dtype == "float16",
          "--dtype must be 'float32', 'bfloat16' or 'float16', not '" + opt.dtype + "'");
  require(opt.device != "cuda" || torch::cuda::is_available(),
          "--device cuda: this LibTorch has no CUDA or no GPU is visible (build with scripts/build.sh --cuda)");
  const std::string path = resolve_model(model).path;
  std::error_code ec;
  require(std::filesystem::exists(path, ec), "model '" + path + "' does not exist");
  PretrainedModel pm = load_weights(path, opt);
  check_loaded(pm);
  if (opt.device != "cpu" || opt.dtype != "float32") pm.model->to_dtype(opt.device, opt.dtype);
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

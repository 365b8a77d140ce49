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
  const std::string arch = f.architecture();
  require(arch == "llama" || arch == "mistral" || arch == "qwen2",
          fmt::format("'{}': unsupported architecture '{}' (supported from GGUF: llama, mistral, qwen2)", f.path(),
                      gguf::printable(arch)));
  auto key = [&](const char* k) { return arch + "." + k; };
  ModelSpec s;
  s.arch = arch;
  s.n_layers = (int)f.get_u32(key("block_count"));
  s.d_model = (int)f.get_u32(key("embedding_length"));
  s.d_ff = (int)f.get_u32(key("feed_forward_length"));
  s.n_heads = (int)f.get_u32(key("attention.head_count"));
  s.n_kv_heads = (int)f.get_u32_or(key("attention.head_count_kv"), (uint32_t)s.n_heads);
  s.norm_eps = f.get_f32(key("attention.layer_norm_rms_epsilon"));
  s.n_ctx = (int)std::min<uint32_t>(f.get_u32_or(key("context_length"), 2048), 1u << 20);
  s.rope_theta = f.get_f32_or(key("rope.freq_base"), 10000.0f);
  require(s.n_heads > 0 && s.d_model % s.n_heads == 0,
          fmt::format("'{}': embedding_length {} is not divisible by head_count {}", f.path(), s.d_model, s.n_heads));
  s.head_dim = (int)f.get_u32_or(key("attention.key_length"), (uint32_t)(s.d_model / s.n_heads));
  s.rope_dim = (int)f.get_u32_or(key("rope.dimension_count"), (uint32_t)s.head_dim);
  const gguf::TensorInfo& emb = f.tensor("token_embd.weight");
  require(emb.shape().size() == 2 && emb.shape()[1] == s.d_model,
          fmt::format("'{}': token_embd.weight has shape {}, expected [vocab, {}]", f.path(), emb.shape_string(),
                      s.d_model));
  s.vocab = (int)emb.shape()[0];
  s.norm = NormKind::RMSNorm;
  s.pos = PosKind::Rotary;
  s.rope_interleaved = true;  // GGUF llama tensors are stored for adjacent-pair rotation
  s.mlp = MlpKind::SwiGLU;
  s.attn = "softmax";
  s.attn_bias = arch == "qwen2";
  s.tied_embeddings = f.find_tensor("output.weight") == nullptr;
  s.finalize();
  auto m = std::make_unique<Transformer>(s);
  load_tensor(*m, f, "token_embd.weight", "embed.W_E");
  for (int l = 0; l < s.n_layers; ++l) {
    auto g = [&](const char* n) { return fmt::format("blk.{}.{}", l, n); };
    auto p = [&](const char* n) { return fmt::format("blocks.{}.{}", l, n); };
    load_tensor(*m, f, g("attn_norm.weight"), p("ln1.w"));
    load_tensor(*m, f, g("attn_q.weight"), p("attn.W_Q"));
    load_tensor(*m, f, g("attn_k.weight"), p("attn.W_K"));
    load_tensor(*m, f, g("attn_v.weight"), p("attn.W_V"));
    load_tensor(*m, f, g("attn_output.weight"), p("attn.W_O"));
    if (s.attn_bias) {
      load_tensor(*m, f, g("attn_q.bias"), p("attn.b_Q"));
      load_tensor(*m, f, g("attn_k.bias"), p("attn.b_K"));
      load_tensor(*m, f, g("attn_v.bias"), p("attn.b_V"));
    }
    load_tensor(*m, f, g("ffn_norm.weight"), p("ln2.w"));
    load_tensor(*m, f, g("ffn_up.weight"), p("mlp.W_in"));
    load_tensor(*m, f, g("ffn_gate.weight"), p("mlp.W_gate"));
    load_tensor(*m, f, g("ffn_down.weight"), p("mlp.W_out"));
  }
  load_tensor(*m, f, "output_norm.weight", "ln_final.w");
  if (!s.tied_embeddings) load_tensor(*m, f, "output.weight", "unembed.W_U");
  return m;
}

PretrainedModel load_pretrained(const std::string& path) {
  std::error_code ec;
  require(std::filesystem::exists(path, ec), "model '" + path + "' does not exist");
  PretrainedModel pm;
  if (std::filesystem::is_directory(path, ec)) {  // Hugging Face model directory
    const hf::HfConfig c = hf::read_config(path);
    pm.path = path;
    pm.arch = c.model_type;
    std::filesystem::path p(path);
    pm.name = (p.filename().empty() ? p.parent_path() : p).filename().string();
    pm.model = transformer_from_hf_dir(path);
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

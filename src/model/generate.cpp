#include "model/generate.h"

#include <algorithm>

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include "io/error.h"
#include "model/transformer.h"

namespace sinklab {

std::vector<int32_t> generate(const Transformer& model, const std::vector<int32_t>& prompt, const GenerateOptions& opt,
                              const std::function<void(int32_t)>& on_token) {
  require(!prompt.empty(), "the prompt encodes to no tokens");
  require(opt.max_new >= 1, "-n must be at least 1");
  require(opt.temperature >= 0, "--temperature must be >= 0");
  require(opt.top_k >= 0, "--top-k must be >= 0");
  require(opt.top_p > 0 && opt.top_p <= 1, "--top-p must be in (0, 1]");
  const int ctx = model.spec().n_ctx;
  require((int)prompt.size() < ctx,
          fmt::format("the prompt is {} tokens; the model's context of {} leaves no room", prompt.size(), ctx));
  torch::NoGradGuard ng;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(opt.seed);
  std::vector<int64_t> ids(prompt.begin(), prompt.end());
  std::vector<int32_t> out;
  const torch::Device dev(model.device());
  for (int i = 0; i < opt.max_new && (int)ids.size() < ctx; ++i) {
    auto x = torch::tensor(ids, torch::kInt64).unsqueeze(0).to(dev);
    auto logits = model.forward(x).select(1, (int64_t)ids.size() - 1)[0].to(torch::kFloat64).cpu();
    int64_t next = 0;
    if (opt.temperature == 0) {
      next = logits.argmax().item<int64_t>();
    } else {
      auto l = logits / opt.temperature;
      if (opt.top_k > 0 && opt.top_k < l.size(0)) {
        auto kth = std::get<0>(l.topk(opt.top_k)).min();
        l = torch::where(l < kth, torch::full_like(l, -INFINITY), l);
      }
      auto p = torch::softmax(l, -1);
      if (opt.top_p < 1) {
        auto [sp, si] = p.sort(-1, /*descending=*/true);
        auto before = sp.cumsum(0) - sp;  // mass of the more likely tokens
        sp = torch::where(before >= opt.top_p, torch::zeros_like(sp), sp);
        p = torch::zeros_like(p).scatter(0, si, sp);
      }
      next = torch::multinomial(p, 1, false, gen).item<int64_t>();
    }
    ids.push_back(next);
    out.push_back((int32_t)next);
    if (on_token) on_token((int32_t)next);
    if (std::find(opt.stop_ids.begin(), opt.stop_ids.end(), (int32_t)next) != opt.stop_ids.end()) break;
  }
  return out;
}

}  // namespace sinklab

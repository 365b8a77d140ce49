// sinklab llm run | ppl: pretrained models (GGUF files, Hugging Face directories) through the one block family.
#include <cmath>
#include <memory>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <torch/torch.h>

#include "cli/command.h"
#include "data/corpus.h"
#include "io/error.h"
#include "io/progress.h"
#include "model/pretrained.h"
#include "model/transformer.h"

namespace sinklab::cli {
namespace {

EncodeOptions enc(bool no_bos) {
  EncodeOptions e;
  if (no_bos) e.add_bos = false;
  return e;
}

void run_prompt(const std::string& path, const std::string& prompt, int top, bool no_bos, bool special) {
  auto pm = load_pretrained(path);
  EncodeOptions e = enc(no_bos);
  e.parse_special = special;
  auto ids = pm.tok().encode(prompt, e);
  require(!ids.empty(), "the prompt encodes to no tokens");
  torch::NoGradGuard ng;
  auto x = torch::tensor(std::vector<int64_t>(ids.begin(), ids.end()), torch::kInt64).unsqueeze(0);
  auto logits = pm.model->forward(x).select(1, (int64_t)ids.size() - 1).squeeze(0);
  auto probs = torch::softmax(logits.to(torch::kFloat64), -1);
  auto [p, idx] = probs.topk(std::min<int64_t>(top, probs.size(0)));
  fmt::print("{} ({}): {} prompt tokens\n", pm.name, pm.arch, ids.size());
  fmt::print("{:>4} {:>8} {:>10} {:>10}  token\n", "rank", "id", "prob", "logit");
  for (int64_t i = 0; i < p.size(0); ++i) {
    int64_t id = idx[i].item<int64_t>();
    fmt::print("{:>4} {:>8} {:>10.5f} {:>10.4f}  {:?}\n", i + 1, id, p[i].item<double>(), logits[id].item<double>(),
               pm.tok().token_to_piece((int32_t)id));
  }
}

void run_ppl(const std::string& path, const std::string& corpus, int ctx, int docs, bool no_bos, bool progress) {
  require(ctx >= 2, fmt::format("--ctx must be at least 2 (got {})", ctx));
  require(docs >= 0, "--docs must be >= 0");
  auto texts = read_jsonl_corpus(corpus, (size_t)docs);
  auto pm = load_pretrained(path);
  double nll = 0;
  int64_t n = 0, chunks = 0, tokens = 0;
  size_t used = 0;
  Progress bar((int64_t)texts.size(), "ppl", progress);
  for (size_t d = 0; d < texts.size(); ++d) {
    // Each document alone; BOS only where the file's metadata asks (or never, --no-bos).
    auto ids = pm.tok().encode(texts[d], enc(no_bos));
    auto r = chunked_nll(*pm.model, ids, ctx);
    tokens += (int64_t)ids.size();
    nll += r.nll_sum;
    n += r.n_scored;
    chunks += r.n_chunks;
    if (r.n_scored > 0) ++used;
    if (n > 0) bar.update((int64_t)d + 1, fmt::format("ppl {:.3f}", std::exp(nll / (double)n)));
  }
  bar.finish();
  require(n > 0, fmt::format("'{}': no document has at least 2 tokens; nothing to score", corpus));
  fmt::print("{}: {} documents ({} scored), {} tokens, ctx {}, {} chunks, {} scored tokens\n", corpus, texts.size(),
             used, tokens, ctx, chunks, n);
  fmt::print("mean NLL {:.5f} nats/token, perplexity {:.4f}\n", nll / (double)n, std::exp(nll / (double)n));
}

Registrar reg(50, [](CLI::App& app) {
  auto* g = group(app, "llm");
  {
    auto model = std::make_shared<std::string>(), prompt = std::make_shared<std::string>();
    auto top = std::make_shared<int>(10);
    auto no_bos = std::make_shared<bool>(false), special = std::make_shared<bool>(false);
    auto* c = g->add_subcommand("run", "Top next tokens with probabilities for a prompt");
    c->add_option("model", *model, "model file (GGUF) or Hugging Face model directory")->required();
    c->add_option("--prompt", *prompt, "prompt text")->required();
    c->add_option("--top", *top, "number of tokens to show")->capture_default_str();
    c->add_flag("--no-bos", *no_bos, "do not add BOS even if the model's metadata asks for it");
    c->add_flag("--special", *special, "parse special tokens (e.g. <|im_start|>) in the prompt");
    c->callback([=]() {
      require(*top >= 1, "--top must be >= 1");
      run_prompt(*model, *prompt, *top, *no_bos, *special);
    });
  }
  {
    auto model = std::make_shared<std::string>(), corpus = std::make_shared<std::string>();
    auto ctx = std::make_shared<int>(256), docs = std::make_shared<int>(0);
    auto no_bos = std::make_shared<bool>(false), noprog = std::make_shared<bool>(false);
    auto* c = g->add_subcommand(
        "ppl",
        "Perplexity over a JSONL corpus, llama.cpp's recipe (docs/parity.md): each document is tokenized alone "
        "(BOS only if the file's metadata asks; --no-bos never), its tokens are cut into consecutive "
        "non-overlapping chunks of --ctx tokens (the last may be shorter; chunks of fewer than 2 tokens are "
        "dropped), each chunk is evaluated from position 0, and every position but the first of a chunk is "
        "scored; ppl = exp(sum NLL / number scored), natural log");
    c->add_option("model", *model, "model file (GGUF) or Hugging Face model directory")->required();
    c->add_option("corpus", *corpus, "JSONL corpus, one {\"text\": ...} per line")->required();
    c->add_option("--ctx", *ctx, "tokens per chunk (>= 2)")->capture_default_str();
    c->add_option("--docs", *docs, "documents to use (0 = all)")->capture_default_str();
    c->add_flag("--no-bos", *no_bos, "do not add BOS");
    c->add_flag("--no-progress", *noprog, "no progress bar");
    c->callback([=]() { run_ppl(*model, *corpus, *ctx, *docs, *no_bos, !*noprog); });
  }
});

}  // namespace
}  // namespace sinklab::cli

// sinklab llm run | generate | ppl: pretrained models (GGUF files, Hugging Face directories) through the one block family.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "cli/command.h"
#include "data/corpus.h"
#include "data/tokenizer.h"
#include "io/error.h"
#include "io/progress.h"
#include "model/generate.h"
#include "model/pretrained.h"
#include "model/transformer.h"
#include "report/core/figures.h"

namespace sinklab::cli {
namespace {

const char* const kModelHelp =
    "GGUF file, Hugging Face model directory, or a model name (NAME or ORG/NAME[@REV]: sinklab's model cache, "
    "then the Hugging Face hub cache)";

EncodeOptions enc(bool no_bos) {
  EncodeOptions e;
  if (no_bos) e.add_bos = false;
  return e;
}

void run_prompt(const std::string& path, const LoadOptions& load, const std::string& prompt, int top, bool no_bos,
                bool special, bool json) {
  require(!prompt.empty(), "llm run: give the prompt (PROMPT or --prompt TEXT); it is empty");
  require_utf8(prompt, "the prompt");
  auto pm = load_pretrained(path, load);
  EncodeOptions e = enc(no_bos);
  e.parse_special = special;
  auto ids = pm.tok().encode(prompt, e);
  require(!ids.empty(), "the prompt encodes to no tokens");
  require((int)ids.size() <= pm.model->spec().n_ctx,
          fmt::format("the prompt is {} tokens, longer than the model's context of {}", ids.size(),
                      pm.model->spec().n_ctx));
  torch::NoGradGuard ng;
  auto x = torch::tensor(std::vector<int64_t>(ids.begin(), ids.end()), torch::kInt64).unsqueeze(0);
  auto logits = pm.model->forward(x).select(1, (int64_t)ids.size() - 1).squeeze(0);
  auto probs = torch::softmax(logits.to(torch::kFloat64), -1);
  auto [p, idx] = probs.topk(std::min<int64_t>(top, probs.size(0)));
  if (json) {
    nlohmann::json j = {{"model", pm.name}, {"arch", pm.arch}, {"n_tokens", ids.size()}, {"ids", ids}};
    j["next"] = nlohmann::json::array();
    for (int64_t i = 0; i < p.size(0); ++i) {
      int64_t id = idx[i].item<int64_t>();
      j["next"].push_back({{"rank", i + 1}, {"id", id}, {"token", pm.tok().token_to_piece((int32_t)id)},
                           {"p", p[i].item<double>()}, {"logit", logits[id].item<double>()}});
    }
    std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return;
  }
  fmt::print("{} ({}): {} prompt tokens\n", pm.name, pm.arch, ids.size());
  fmt::print("{:>4} {:>8} {:>10} {:>10}  token\n", "rank", "id", "prob", "logit");
  for (int64_t i = 0; i < p.size(0); ++i) {
    int64_t id = idx[i].item<int64_t>();
    fmt::print("{:>4} {:>8} {:>10.5f} {:>10.4f}  {}\n", i + 1, id, p[i].item<double>(), logits[id].item<double>(),
               report::display_token(pm.tok().token_to_piece((int32_t)id), 24));
  }
}

void run_ppl(const std::string& path, const LoadOptions& load, const std::string& corpus, int ctx, int docs,
             bool no_bos, bool progress, bool json) {
  require(ctx >= 2, fmt::format("--ctx must be at least 2 (got {})", ctx));
  require(docs >= 0, "--docs must be >= 0");
  auto texts = read_jsonl_corpus(corpus, (size_t)docs);
  auto pm = load_pretrained(path, load);
  pm.tok();  // a model without a tokenizer says so first
  require(ctx <= pm.model->spec().n_ctx,
          fmt::format("--ctx = {} exceeds the model's context of {} tokens", ctx, pm.model->spec().n_ctx));
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
  if (json) {
    nlohmann::json j = {{"model", pm.name},       {"corpus", corpus},   {"documents", texts.size()},
                        {"documents_scored", used}, {"tokens", tokens},   {"ctx", ctx},
                        {"chunks", chunks},       {"scored_tokens", n}, {"mean_nll", nll / (double)n},
                        {"perplexity", std::exp(nll / (double)n)}};
    std::cout << j.dump(2) << "\n";
    return;
  }
  fmt::print("{}: {} documents ({} scored), {} tokens, ctx {}, {} chunks, {} scored tokens\n", corpus, texts.size(),
             used, tokens, ctx, chunks, n);
  fmt::print("mean NLL {:.5f} nats/token, perplexity {:.4f}\n", nll / (double)n, std::exp(nll / (double)n));
}

struct GenerateArgs {
  std::string model, prompt_pos, prompt;
  int n = 32, top_k = 0;
  double temperature = 0, top_p = 1.0;
  uint64_t seed = 1;
  bool chat = false, no_bos = false, json = false;
  LoadOptions load;
};

// ChatML (<|im_start|>role ... <|im_end|>), the template of SmolLM2, Qwen and others:
// used with --chat when the tokenizer has its tokens.
void run_generate(const GenerateArgs& a) {
  std::string prompt = a.prompt.empty() ? a.prompt_pos : a.prompt;
  require(!prompt.empty(), "llm generate: give the prompt (PROMPT or --prompt TEXT); it is empty");
  require_utf8(prompt, "the prompt");
  auto pm = load_pretrained(a.model, a.load);
  const Tokenizer& tok = pm.tok();
  GenerateOptions o;
  o.max_new = a.n, o.temperature = a.temperature, o.top_k = a.top_k, o.top_p = a.top_p, o.seed = a.seed;
  if (tok.eos_id() >= 0) o.stop_ids.push_back(tok.eos_id());
  EncodeOptions e = enc(a.no_bos);
  if (a.chat) {
    const int32_t start = tok.token_id("<|im_start|>"), end = tok.token_id("<|im_end|>");
    require(start >= 0 && end >= 0,
            "--chat: this model's tokenizer has no ChatML tokens (<|im_start|>, <|im_end|>), the one chat template "
            "sinklab applies");
    prompt = "<|im_start|>user\n" + prompt + "<|im_end|>\n<|im_start|>assistant\n";
    e.parse_special = true;
    o.stop_ids.push_back(end);
  }
  auto ids = tok.encode(prompt, e);
  std::string text;
  auto out = generate(*pm.model, ids, o, [&](int32_t id) {
    if (a.json) return;
    if (std::find(o.stop_ids.begin(), o.stop_ids.end(), id) != o.stop_ids.end()) return;
    std::string piece = tok.token_to_piece(id, false);
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
  });
  for (auto id : out)
    if (std::find(o.stop_ids.begin(), o.stop_ids.end(), id) == o.stop_ids.end()) text += tok.token_to_piece(id, false);
  const bool stopped = !out.empty() && std::find(o.stop_ids.begin(), o.stop_ids.end(), out.back()) != o.stop_ids.end();
  if (a.json) {
    nlohmann::json j = {{"model", pm.name},     {"prompt_tokens", ids.size()}, {"ids", out},
                        {"text", text},         {"stopped", stopped},          {"temperature", a.temperature},
                        {"seed", a.seed},       {"chat", a.chat}};
    std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return;
  }
  fmt::print("\n[{} tokens, {}]\n", out.size(), stopped ? "stopped at an end token" : "length limit");
}

Registrar reg(50, [](CLI::App& app) {
  auto* g = group(app, "llm");
  {
    auto model = std::make_shared<std::string>(), prompt = std::make_shared<std::string>();
    auto prompt_pos = std::make_shared<std::string>();
    auto top = std::make_shared<int>(10);
    auto no_bos = std::make_shared<bool>(false), special = std::make_shared<bool>(false);
    auto json = std::make_shared<bool>(false);
    auto load = std::make_shared<LoadOptions>();
    auto* c = g->add_subcommand("run", "Top next tokens with probabilities for a prompt");
    add_load_options(c, *load);
    c->add_option("model", *model, kModelHelp)->required();
    auto* pp = c->add_option("prompt", *prompt_pos, "prompt text (or --prompt)");
    c->add_option("--prompt", *prompt, "prompt text")->excludes(pp);
    c->add_flag("--json", *json, "print the result as JSON");
    c->add_option("--top", *top, "number of tokens to show")->capture_default_str();
    c->add_flag("--no-bos", *no_bos, "do not add BOS even if the model's metadata asks for it");
    c->add_flag("--special", *special, "parse special tokens (e.g. <|im_start|>) in the prompt");
    c->callback([=]() {
      require(*top >= 1, "--top must be >= 1");
      run_prompt(*model, *load, prompt->empty() ? *prompt_pos : *prompt, *top, *no_bos, *special, *json);
    });
  }
  {
    auto a = std::make_shared<GenerateArgs>();
    auto* c = g->add_subcommand("generate", "Generate text from a prompt (greedy, or sampled with --temperature)");
    c->add_option("model", a->model, kModelHelp)->required();
    auto* pp = c->add_option("prompt", a->prompt_pos, "prompt text (or --prompt)");
    c->add_option("--prompt", a->prompt, "prompt text")->excludes(pp);
    c->add_option("-n,--max-new", a->n, "new tokens at most")->capture_default_str();
    c->add_option("--temperature", a->temperature, "0 = greedy; > 0 samples")->capture_default_str();
    c->add_option("--top-k", a->top_k, "sample among the k most likely (0 = all)")->capture_default_str();
    c->add_option("--top-p", a->top_p, "sample from the smallest set holding this much probability")
        ->capture_default_str();
    c->add_option("--seed", a->seed, "sampling seed")->capture_default_str();
    c->add_flag("--chat", a->chat, "wrap the prompt in the ChatML template (<|im_start|>user ... assistant)");
    c->add_flag("--no-bos", a->no_bos, "do not add BOS");
    c->add_flag("--json", a->json, "print the result as JSON instead of streaming the text");
    add_load_options(c, a->load);
    c->callback([a]() { run_generate(*a); });
  }
  {
    auto model = std::make_shared<std::string>(), corpus = std::make_shared<std::string>();
    auto ctx = std::make_shared<int>(256), docs = std::make_shared<int>(0);
    auto no_bos = std::make_shared<bool>(false), noprog = std::make_shared<bool>(false);
    auto json = std::make_shared<bool>(false);
    auto load = std::make_shared<LoadOptions>();
    auto* c = g->add_subcommand(
        "ppl",
        "Perplexity over a JSONL corpus, llama.cpp's recipe (docs/parity.md): each document is tokenized alone "
        "(BOS only if the file's metadata asks; --no-bos never), its tokens are cut into consecutive "
        "non-overlapping chunks of --ctx tokens (the last may be shorter; chunks of fewer than 2 tokens are "
        "dropped), each chunk is evaluated from position 0, and every position but the first of a chunk is "
        "scored; ppl = exp(sum NLL / number scored), natural log");
    c->add_option("model", *model, kModelHelp)->required();
    c->add_option("corpus", *corpus, "JSONL corpus, one {\"text\": ...} per line")->required();
    c->add_option("--ctx", *ctx, "tokens per chunk (>= 2)")->capture_default_str();
    c->add_option("--docs", *docs, "documents to use (0 = all)")->capture_default_str();
    c->add_flag("--no-bos", *no_bos, "do not add BOS");
    c->add_flag("--no-progress", *noprog, "no progress bar");
    c->add_flag("--json", *json, "print the result as JSON");
    add_load_options(c, *load);
    c->callback([=]() { run_ppl(*model, *load, *corpus, *ctx, *docs, *no_bos, !*noprog && !*json, *json); });
  }
});

}  // namespace
}  // namespace sinklab::cli

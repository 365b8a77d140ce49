// sinklab llm tokenize MODEL --text T: the tokenizer stored in a GGUF file, or a
// Hugging Face model directory / tokenizer.json / tokenizer.model.
#include <filesystem>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "data/tokenizer.h"
#include "data/tokenizer_gguf.h"
#include "data/tokenizer_hf.h"
#include "io/error.h"
#include "io/files.h"
#include "io/gguf.h"

namespace sinklab::cli {
namespace {

struct TokenizeOptions {
  std::string model;
  std::string text;
  std::string text_file;
  bool no_bos = false;
  bool bos = false;
  bool eos = false;
  bool special = false;
  bool json = false;
};

void run_tokenize(const TokenizeOptions& o) {
  std::string text;
  std::string source;
  if (!o.text_file.empty()) {
    text = read_file(o.text_file);
    source = "'" + o.text_file + "'";
  } else {
    text = o.text;
    source = "--text";
  }
  require_utf8(text, source);

  const Tokenizer tok = tokenizer_from_path(o.model);
  EncodeOptions eo;
  if (o.no_bos) eo.add_bos = false;
  else if (o.bos) eo.add_bos = true;
  if (o.eos) eo.add_eos = true;
  eo.parse_special = o.special;
  const std::vector<int32_t> ids = tok.encode(text, eo);

  if (o.json) {
    nlohmann::json pieces = nlohmann::json::array();
    for (int32_t id : ids) pieces.push_back(tok.display_piece(id));
    nlohmann::json j = {{"model", o.model},     {"tokenizer", tok.model()},
                        {"pre", tok.pre()},     {"n_tokens", ids.size()},
                        {"ids", ids},           {"pieces", pieces}};
    std::cout << j.dump() << "\n";
    return;
  }
  std::cout << fmt::format("{} tokens ({} tokenizer, pre-tokenizer '{}', vocabulary {})\n", ids.size(),
                           tok.model(), tok.pre(), tok.vocab_size());
  for (size_t i = 0; i < ids.size(); ++i)
    std::cout << fmt::format("{:6d} {:8d}  '{}'\n", i, ids[i], tok.display_piece(ids[i]));
  std::cout << "ids:";
  for (int32_t id : ids) std::cout << ' ' << id;
  std::cout << "\n";
}

Registrar reg(60, [](CLI::App& app) {
  auto* g = group(app, "llm");
  auto o = std::make_shared<TokenizeOptions>();
  auto* c = g->add_subcommand("tokenize", "Tokenize text with the tokenizer of a GGUF file or a Hugging Face model directory");
  c->add_option("model", o->model,
                "GGUF model file, Hugging Face model directory, tokenizer.json or tokenizer.model")
      ->required();
  auto* t = c->add_option("--text", o->text, "text to tokenize (UTF-8)");
  auto* tf = c->add_option("--text-file", o->text_file, "read the text from a file (UTF-8)");
  t->excludes(tf);
  auto* nb = c->add_flag("--no-bos", o->no_bos, "do not add a BOS token, whatever the file says");
  auto* b = c->add_flag("--bos", o->bos, "add a BOS token, whatever the file says");
  nb->excludes(b);
  c->add_flag("--eos", o->eos, "add an EOS token");
  c->add_flag("--special", o->special,
              "parse special (control) tokens such as <|im_start|> written in the text");
  c->add_flag("--json", o->json, "print one JSON object instead of a table");
  c->callback([o, t, tf]() {
    if (t->count() == 0 && tf->count() == 0) fail("llm tokenize: give the text with --text or --text-file");
    run_tokenize(*o);
  });
});

}  // namespace
}  // namespace sinklab::cli

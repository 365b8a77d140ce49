// `sinklab model info FILE|DIR|NAME`: architecture, dimensions, tokenizer and tensor types of
// a GGUF model file (src/io/gguf_info.cpp) or a Hugging Face model directory
// (src/model/arch/hf_dir.cpp).
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "io/gguf.h"
#include "io/gguf_info.h"
#include "io/model_path.h"
#include "model/arch/hf_dir.h"

namespace {

struct InfoOptions {
  std::string path;
  bool json = false;
  bool tensors = false;
};

sinklab::cli::Registrar reg(41, [](CLI::App& app) {
  auto* model = sinklab::cli::group(app, "model");
  auto* cmd = model->add_subcommand(
      "info", "Summarise a GGUF model or Hugging Face model directory: architecture, dimensions, vocabulary, tensor types");
  auto o = std::make_shared<InfoOptions>();
  cmd->add_option("FILE", o->path,
                  "a .gguf model file, a Hugging Face model directory, or a model name (ORG/NAME[@REV] or NAME: "
                  "sinklab's model cache, then the Hugging Face hub cache)")
      ->required();
  cmd->add_flag("--json", o->json, "print machine-readable JSON");
  cmd->add_flag("--tensors", o->tensors, "also list every tensor (name, type, shape)");
  cmd->callback([o] {
    const std::string path = sinklab::resolve_model(o->path).path;
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      auto s = sinklab::hf::summarize(path);
      std::string out = o->json ? sinklab::hf::summary_to_json(s).dump(2, ' ', false,
                                                                        nlohmann::json::error_handler_t::replace) +
                                      "\n"
                                : sinklab::hf::summary_to_text(s);
      std::fwrite(out.data(), 1, out.size(), stdout);
      return;
    }
    sinklab::gguf::GgufFile f(path);
    auto s = sinklab::gguf::summarize(f);
    std::string out = o->json ? sinklab::gguf::summary_to_json(s, o->tensors)
                                      .dump(2, ' ', false, nlohmann::json::error_handler_t::replace) +
                                  "\n"
                              : sinklab::gguf::summary_to_text(s, o->tensors);
    std::fwrite(out.data(), 1, out.size(), stdout);
  });
});

}  // namespace

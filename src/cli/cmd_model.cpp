// `sinklab model info FILE`: architecture, dimensions, tokenizer and tensor types of
// a GGUF model file (the summary is computed in src/io/gguf_info.cpp).
#include <cstdio>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "io/gguf.h"
#include "io/gguf_info.h"

namespace {

struct InfoOptions {
  std::string path;
  bool json = false;
  bool tensors = false;
};

sinklab::cli::Registrar reg(41, [](CLI::App& app) {
  auto* model = sinklab::cli::group(app, "model", "Inspect model files (safetensors, GGUF)");
  auto* cmd = model->add_subcommand("info", "Summarise a GGUF model: architecture, dimensions, vocabulary, tensor types");
  auto o = std::make_shared<InfoOptions>();
  cmd->add_option("FILE", o->path, "a .gguf model file")->required();
  cmd->add_flag("--json", o->json, "print machine-readable JSON");
  cmd->add_flag("--tensors", o->tensors, "also list every tensor (name, type, shape)");
  cmd->callback([o] {
    sinklab::gguf::GgufFile f(o->path);
    auto s = sinklab::gguf::summarize(f);
    std::string out = o->json ? sinklab::gguf::summary_to_json(s, o->tensors)
                                      .dump(2, ' ', false, nlohmann::json::error_handler_t::replace) +
                                  "\n"
                              : sinklab::gguf::summary_to_text(s, o->tensors);
    std::fwrite(out.data(), 1, out.size(), stdout);
  });
});

}  // namespace

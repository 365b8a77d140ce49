// The CLI is thin: each src/cli/cmd_*.cpp registers its subcommands here with a
// static Registrar, parses flags with CLI11 and calls the layers above.
#pragma once
#include <functional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace sinklab::cli {

using RegisterFn = std::function<void(CLI::App&)>;

// order: smaller registers first (keeps `sinklab --help` in a sensible order).
struct Registrar {
  Registrar(int order, RegisterFn fn);
};

std::vector<std::pair<int, RegisterFn>>& registry();

// Finds or creates a top-level group command (e.g. "llm", "model", "data").
// The command group `name` (data, model, llm, report), created on first use with its
// one description (src/cli/main.cpp).
CLI::App* group(CLI::App& app, const std::string& name);

}  // namespace sinklab::cli

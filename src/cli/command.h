// The CLI is thin: each src/cli/cmd_*.cpp registers its subcommands here with a
// static Registrar, parses flags with CLI11 and calls the layers above.
#pragma once
#include <functional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace sinklab {
struct LoadOptions;
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

// The one output-directory convention: `-o,--out DIR` (default `out` when not empty,
// else required) and `--force`; the command calls refuse_nonempty_dir(out, force)
// (src/io/out_dir.h) before it writes: a non-empty directory is refused unless --force
// (or the command is resuming its own output).
void add_out_options(CLI::App* c, std::string& out, bool& force);

// How a pretrained model is held (src/model/pretrained.h): `--weights stored|float32`,
// `--device cpu|cuda`, `--dtype float32|bfloat16|float16`.
void add_load_options(CLI::App* c, LoadOptions& o);

}  // namespace sinklab::cli

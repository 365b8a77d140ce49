#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <new>
#include <string>
#include <stdexcept>

#include <CLI/CLI.hpp>

#include "cli/command.h"
#include "io/error.h"
#include "io/omp_env.h"
#include "model/pretrained.h"

namespace sinklab::cli {

std::vector<std::pair<int, RegisterFn>>& registry() {
  static std::vector<std::pair<int, RegisterFn>> r;
  return r;
}

Registrar::Registrar(int order, RegisterFn fn) { registry().emplace_back(order, std::move(fn)); }

CLI::App* group(CLI::App& app, const std::string& name) {
  static const std::map<std::string, std::string> descriptions = {
      {"data", "Bigram-Backcopy data engine: sources, tasks, oracle"},
      {"model", "Inspect model files (safetensors, GGUF, Hugging Face directories)"},
      {"llm", "Pretrained LLMs: run, generate, ppl, trace (one prompt from inside), scan (sinks and dormant heads per domain), scan-series, tokenize"},
      {"report", "figures and self-contained HTML reports"},
  };
  for (auto* sub : app.get_subcommands([](CLI::App*) { return true; }))
    if (sub->get_name() == name) return sub;
  auto it = descriptions.find(name);
  if (it == descriptions.end()) throw std::logic_error("internal: command group '" + name + "' has no description");
  auto* g = app.add_subcommand(name, it->second);
  g->require_subcommand(1);
  return g;
}

void add_out_options(CLI::App* c, std::string& out, bool& force) {
  auto* o = c->add_option("-o,--out", out, "output directory (refused when not empty, unless --force)");
  if (out.empty())
    o->required();
  else
    o->capture_default_str();
  c->add_flag("--force", force, "write into a non-empty output directory: an earlier sinklab output there is replaced whole; other files are left alone");
}

void add_load_options(CLI::App* c, LoadOptions& o) {
  c->add_option("--weights", o.weights,
                "stored: weight matrices stay in the model file as they are stored (GGUF quantised blocks, "
                "F16/BF16) and are converted a layer at a time; float32: all converted at load (more memory, "
                "no conversion per pass)")
      ->check(CLI::IsMember({"stored", "float32"}))
      ->capture_default_str();
  c->add_option("--device", o.device, "cpu, or cuda (a CUDA build of sinklab and a GPU): weights and activations there")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
  c->add_option("--dtype", o.dtype,
                "float32, or bfloat16/float16: weights and activations in that type (norms and attention softmax in "
                "float32, as transformers does)")
      ->check(CLI::IsMember({"float32", "bfloat16", "float16"}))
      ->capture_default_str();
}

}  // namespace sinklab::cli

int main(int argc, char** argv) {
  sinklab::ensure_omp_passive(argv);
  CLI::App app{"sinklab: attention sinks, value drains, residual peaks and active-dormant heads"};
  app.require_subcommand(1);
#ifdef SINKLAB_LIBTORCH_VERSION
  app.set_version_flag("--version", "sinklab 0.1.0 (LibTorch " SINKLAB_LIBTORCH_VERSION ", " SINKLAB_LIBTORCH_KIND ")");
#else
  app.set_version_flag("--version", "sinklab 0.1.0 (no LibTorch)");
#endif
  auto& reg = sinklab::cli::registry();
  std::stable_sort(reg.begin(), reg.end(), [](auto& a, auto& b) { return a.first < b.first; });
  for (auto& [order, fn] : reg) fn(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line on stderr, exit code 2, as for every other bad input.
    std::cerr << "sinklab: error: " << e.what() << " (see --help)\n";
    return 2;
  } catch (const sinklab::Interrupted& e) {
    std::cerr << "sinklab: " << e.what() << "\n";
    return 130;
  } catch (const sinklab::InputError& e) {
    std::cerr << "sinklab: error: " << e.what() << "\n";
    return 2;
  } catch (const std::bad_alloc&) {
    std::cerr << "sinklab: error: out of memory (a size too large for this machine)\n";
    return 2;
  } catch (const std::exception& e) {
    // LibTorch's errors carry a backtrace after their first line: one line only.
    std::string m = e.what();
    m = m.substr(0, m.find('\n'));
    if (m.find("can't allocate memory") != std::string::npos || m.find("out of memory") != std::string::npos) {
      std::cerr << "sinklab: error: out of memory: " << m << "\n";
      return 2;
    }
    std::cerr << "sinklab: internal error: " << m << "\n";
    return 1;
  }
  return 0;
}

// sinklab report demo: flags -> report::write_demo (src/report/core/demo.h).
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/command.h"
#include "report/core/demo.h"

namespace sinklab::cli {
namespace {

Registrar reg(90, [](CLI::App& app) {
  auto* g = group(app, "report");
  auto* demo = g->add_subcommand("demo", "draw one of each figure kind from synthetic data and write demo.html");
  static std::string out;
  static bool svg = false;
  demo->add_option("--out", out, "output directory")->required();
  demo->add_flag("--svg", svg, "also write SVG versions of the figures");
  demo->callback([] {
    const int n = report::write_demo(out, svg);
    std::cout << "wrote " << n << " figures, dynamics.csv, claims.json and demo.html to " << out << "\n";
  });
});

}  // namespace
}  // namespace sinklab::cli

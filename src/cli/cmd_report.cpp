// sinklab report demo: flags -> report::write_demo (src/report/core/demo.h).
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/command.h"
#include "io/out_dir.h"
#include "report/core/demo.h"

namespace sinklab::cli {
namespace {

Registrar reg(90, [](CLI::App& app) {
  auto* g = group(app, "report");
  auto* demo = g->add_subcommand("demo", "draw one of each figure kind from synthetic data and write demo.html");
  static std::string out = "report-demo";
  static bool svg = false, force = false;
  add_out_options(demo, out, force);
  demo->add_flag("--svg", svg, "also write SVG versions of the figures");
  demo->callback([] {
    auto lock = claim_out_dir(out, force);
    const int n = report::write_demo(out, svg);
    std::cout << "wrote " << n << " figures, dynamics.csv, claims.json and demo.html to " << out << "\n";
  });
});

}  // namespace
}  // namespace sinklab::cli

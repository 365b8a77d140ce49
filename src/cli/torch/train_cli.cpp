#include "cli/torch/train_cli.h"

#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

#include "io/error.h"

namespace sinklab::cli {

std::vector<std::string> run_dir_sets(const std::string& out, const std::string& resume) {
  if (out.empty()) return {};
  require(resume.empty(), "--out names a new run's directory; --resume takes the run directory itself");
  auto dir = std::filesystem::path(out).lexically_normal();
  if (!dir.has_filename()) dir = dir.parent_path();  // "runs/x/" -> "runs/x"
  require(!dir.filename().empty() && dir.filename() != "." && dir.filename() != "..",
          "--out '" + out + "' does not name a directory");
  return {"run.out_dir=" + (dir.has_parent_path() ? dir.parent_path().string() : std::string(".")),
          "run.name=" + dir.filename().string()};
}

int run_training(const std::string& command, const std::string& resume, const TrainConfig& fresh,
                 const std::vector<std::string>& sets, const TrainOptions& opts, TrainOutcome& out) {
  try {
    out = resume.empty() ? train_new(fresh, opts) : train_resume(resume, sets, opts);
  } catch (const DivergedError& e) {
    fmt::print(stderr, "sinklab: error: {}\n", e.what());
    return 3;
  }
  if (out.interrupted) {
    fmt::print(stderr, "interrupted at step {}; checkpoint written; continue with: sinklab {} --resume {}\n", out.step,
               command, out.run_dir);
    return 130;
  }
  return 0;
}

}  // namespace sinklab::cli

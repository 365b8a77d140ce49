#include "io/out_dir.h"

#include <filesystem>

#include "io/error.h"

namespace sinklab {

void refuse_nonempty_dir(const std::string& dir, bool force) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return;
  require(fs::is_directory(dir, ec), "output directory '" + dir + "' exists and is not a directory");
  if (force) return;
  require(fs::is_empty(dir, ec), "output directory '" + dir + "' is not empty (give --force to write into it)");
}

}  // namespace sinklab

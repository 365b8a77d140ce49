#include "io/memory.h"

#include <fstream>
#include <limits>

#include <fmt/format.h>

#include "io/error.h"

namespace sinklab {

double available_memory_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  double kb = 0;
  while (in >> key >> kb) {
    if (key == "MemAvailable:") return kb * 1024.0;
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return 0;
}

void require_memory(double need_bytes, const std::string& what) {
  const double have = available_memory_bytes(), gib = 1024.0 * 1024.0 * 1024.0;
  if (have > 0 && need_bytes > have)
    fail(fmt::format("{} needs about {:.1f} GiB, but only {:.1f} GiB of memory is available", what, need_bytes / gib,
                     have / gib));
}

}  // namespace sinklab

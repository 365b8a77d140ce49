#include "io/omp_env.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace sinklab {

void ensure_omp_passive(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  if (const char* off = std::getenv("SINKLAB_OMP_REEXEC"); off && std::strcmp(off, "0") == 0) return;
  // Marks the second start, so a failing exec cannot loop.
  setenv("SINKLAB_OMP_REEXEC", "0", 1);
  setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  execv("/proc/self/exe", argv);
  // exec failed (no /proc?): carry on with the default policy.
  unsetenv("OMP_WAIT_POLICY");
}

}  // namespace sinklab

// Running another program (gnuplot, the sweep's cells, sbatch): posix_spawnp with
// stdin from /dev/null and stdout + stderr into one log file, waited for with a timeout.
#pragma once
#include <string>
#include <vector>

namespace sinklab {

struct ProcessResult {
  // started: the program was found and spawned (else spawn_errno); err: the log's text.
  bool started = false;
  int spawn_errno = 0;
  int exit_code = -1;  // -1 if killed by a signal
  int signal = 0;
  bool timed_out = false;
  std::string err;
};

// Runs `program` (looked up on PATH) with `args`; its output goes to `log_path`
// (truncated), whose text comes back in err. Killed (SIGKILL) after timeout_s seconds.
ProcessResult run_program(const std::string& program, const std::vector<std::string>& args,
                          const std::string& log_path, double timeout_s);

// Whether `program` is an executable file on PATH (or a path to one).
bool program_on_path(const std::string& program);

}  // namespace sinklab

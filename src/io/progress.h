// A progress bar on stderr for long work: redrawn in place on a terminal, a line
// every 10% otherwise (logs stay readable). Silent when disabled.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace sinklab {

class Progress {
 public:
  Progress(int64_t total, std::string label, bool enabled = true);
  ~Progress();
  void update(int64_t done, const std::string& status = "");
  void finish(const std::string& status = "");

 private:
  int64_t total_;
  std::string label_;
  bool enabled_, tty_, finished_ = false;
  int last_decile_ = -1;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace sinklab

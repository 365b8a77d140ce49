// The one overwrite rule for output directories: a command refuses an output directory
// that exists and is not empty, unless --force (or it is resuming its own run); and one
// writer per directory: an advisory lock (flock on DIR/.sinklab.lock) held while a
// command writes there.
#pragma once
#include <memory>
#include <string>

namespace sinklab {

// InputError "output directory 'D' is not empty (give --force to write into it)" when
// `dir` exists, is not empty (the lock file aside) and !force; InputError when it exists
// as a file.
void refuse_nonempty_dir(const std::string& dir, bool force);

// Holds DIR/.sinklab.lock (created with DIR when missing) with flock until destroyed;
// the kernel releases it when the process ends, however it ends. InputError "output
// directory 'D' is in use by another sinklab process (pid N)" when another holds it, or
// one line naming the problem when DIR cannot be created or written.
class DirLock {
 public:
  explicit DirLock(const std::string& dir);
  ~DirLock();
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;
  // The lock file was there before: the directory holds an earlier sinklab output.
  bool earlier_output() const { return earlier_; }

 private:
  int fd_ = -1;
  bool earlier_ = false;
};

// The --force rule: when `lock` found an earlier sinklab output in `dir`, removes
// everything in it but the lock file, so no earlier output survives beside the new one.
// A directory sinklab never wrote to keeps its files (nothing of a user's is removed).
void clear_earlier_output(const std::string& dir, const DirLock& lock);

// The rule and the lock together, for a command about to write into `dir`: refuses a
// non-empty `dir` unless force, takes its lock, and with force (and clear) removes the
// earlier output. Commands that validate more after this pass clear = false and call
// clear_earlier_output themselves once their inputs are checked.
std::unique_ptr<DirLock> claim_out_dir(const std::string& dir, bool force, bool clear = true);

}  // namespace sinklab

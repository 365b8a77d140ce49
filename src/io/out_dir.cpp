#include "io/out_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "io/error.h"

namespace sinklab {
namespace fs = std::filesystem;
namespace {
constexpr const char* kLock = ".sinklab.lock";
}

void refuse_nonempty_dir(const std::string& dir, bool force) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return;
  require(fs::is_directory(dir, ec), "output directory '" + dir + "' exists and is not a directory");
  if (force) return;
  for (auto& e : fs::directory_iterator(dir, ec))
    if (e.path().filename() != kLock) fail("output directory '" + dir + "' is not empty (give --force to write into it)");
}

DirLock::DirLock(const std::string& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec))
    require(fs::is_directory(dir, ec), "output directory '" + dir + "' exists and is not a directory");
  fs::create_directories(dir, ec);
  if (ec) fail("cannot create directory '" + dir + "': " + ec.message());
  const std::string path = dir + "/" + kLock;
  earlier_ = fs::exists(path, ec);
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) fail("output directory '" + dir + "' is not writable: " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    char buf[32] = {0};
    ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
    ::close(fd_);
    fd_ = -1;
    std::string pid = n > 0 ? std::string(buf, (size_t)n) : "unknown";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    fail("output directory '" + dir + "' is in use by another sinklab process (pid " + pid + ")");
  }
  const std::string me = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, me.data(), me.size(), 0) != (ssize_t)me.size()) {
    ::close(fd_);
    fd_ = -1;
    fail("cannot write '" + path + "': " + std::strerror(errno));
  }
}

DirLock::~DirLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock; the file stays (harmless, reused)
}

void clear_earlier_output(const std::string& dir, const DirLock& lock) {
  if (!lock.earlier_output()) return;
  std::error_code ec;
  for (auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().filename() == kLock) continue;
    fs::remove_all(e.path(), ec);
    if (ec) fail("cannot remove '" + e.path().string() + "' from the output directory: " + ec.message());
  }
}

std::unique_ptr<DirLock> claim_out_dir(const std::string& dir, bool force, bool clear) {
  refuse_nonempty_dir(dir, force);
  auto lock = std::make_unique<DirLock>(dir);
  if (force && clear) clear_earlier_output(dir, *lock);
  return lock;
}

}  // namespace sinklab

#include "io/files.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <unistd.h>

#include "io/error.h"

namespace fs = std::filesystem;

namespace sinklab {

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) fail("cannot read '" + path + "': is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot read '" + path + "': " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) fail("cannot read '" + path + "': I/O error");
  return ss.str();
}

void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& writer) {
  fs::path target(path);
  std::error_code ec;
  if (target.has_parent_path()) {
    fs::create_directories(target.parent_path(), ec);
    if (ec) fail("cannot create directory '" + target.parent_path().string() + "': " + ec.message());
  }
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  fs::path tmp = target;
  tmp += ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(rng() % 1000000);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) fail("cannot write '" + path + "': " + std::strerror(errno));
    try {
      writer(out);
    } catch (...) {
      out.close();
      fs::remove(tmp, ec);
      throw;
    }
    out.flush();
    if (!out) {
      out.close();
      fs::remove(tmp, ec);
      fail("cannot write '" + path + "': write failed (disk full?)");
    }
  }
  fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove(tmp, ec);
    fail("cannot write '" + path + "': rename failed");
  }
}

void write_file_atomic(const std::string& path, const std::string& content) {
  write_file_atomic(path, [&](std::ostream& o) { o.write(content.data(), (std::streamsize)content.size()); });
}

void ensure_writable_dir(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec || !fs::is_directory(path)) fail("cannot create directory '" + path + "'" + (ec ? ": " + ec.message() : ""));
  if (::access(path.c_str(), W_OK) != 0) fail("directory '" + path + "' is not writable");
}

}  // namespace sinklab

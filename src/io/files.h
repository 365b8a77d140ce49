// File helpers: whole-file reads with clear errors, atomic writes.
#pragma once
#include <functional>
#include <iosfwd>
#include <string>

namespace sinklab {

// Reads a whole file; InputError naming the path if it cannot be read.
std::string read_file(const std::string& path);

// Writes `content` to `path` atomically: a temp file in the same directory,
// flushed, then renamed over the target. Creates parent directories.
void write_file_atomic(const std::string& path, const std::string& content);

// Same, with a writer callback that streams into the temp file.
void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& writer);

// Creates a directory (and parents); InputError if it cannot be created or written.
void ensure_writable_dir(const std::string& path);

}  // namespace sinklab

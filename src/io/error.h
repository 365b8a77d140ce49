// One error style for the whole project.
//
// InputError: the user's input is bad (file, flag, config key, shape). The CLI
// prints "sinklab: error: <message>" on one line to stderr and exits with code 2.
// Interrupted: the user pressed Ctrl-C; the work so far is saved; exit code 130, as
// for every command. Anything else that escapes is a bug: exit code 1.
#pragma once
#include <stdexcept>
#include <string>

namespace sinklab {

struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Interrupted : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] inline void fail(const std::string& message) { throw InputError(message); }

inline void require(bool ok, const std::string& message) {
  if (!ok) fail(message);
}

}  // namespace sinklab

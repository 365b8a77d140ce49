// One error style for the whole project.
//
// InputError: the user's input is bad (file, flag, config key, shape). The CLI
// prints "sinklab: error: <message>" on one line to stderr and exits with code 2.
// Anything else that escapes is a bug: exit code 1.
#pragma once
#include <stdexcept>
#include <string>

namespace sinklab {

struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] inline void fail(const std::string& message) { throw InputError(message); }

inline void require(bool ok, const std::string& message) {
  if (!ok) fail(message);
}

}  // namespace sinklab

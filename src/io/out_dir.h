// The one overwrite rule for output directories: a command refuses an output directory
// that exists and is not empty, unless --force (or it is resuming its own run).
#pragma once
#include <string>

namespace sinklab {

// InputError "output directory 'D' is not empty (give --force to write into it)" when
// `dir` exists, is not empty and !force; InputError when it exists as a file.
void refuse_nonempty_dir(const std::string& dir, bool force);

}  // namespace sinklab

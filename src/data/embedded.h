// Data compiled into the binary at build time (CMakeLists.txt, cmake/embed_file.cmake),
// so the built-in sources work from any directory with no data files installed.
#pragma once
#include <string_view>

namespace sinklab {

// The text of data/bb/tinyshakespeare_char_counts.json (Tiny Shakespeare character
// unigram and bigram counts, 65 characters): the `shakespeare` bigram source.
std::string_view embedded_shakespeare_counts_json();

}  // namespace sinklab

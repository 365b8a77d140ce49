// Text corpora as JSONL: one JSON object per line with a "text" string.
#pragma once
#include <string>
#include <vector>

namespace sinklab {

// Reads up to max_docs documents (0 = all). InputError (file:line) for a malformed
// line, a line without a "text" string, or a corpus with no non-empty document.
std::vector<std::string> read_jsonl_corpus(const std::string& path, size_t max_docs = 0);

}  // namespace sinklab

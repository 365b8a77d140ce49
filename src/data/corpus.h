// Text corpora as JSONL: one JSON object per line with a "text" string.
#pragma once
#include <string>
#include <vector>

namespace sinklab {

// Reads up to max_docs documents (0 = all). InputError (file:line) for a malformed
// line, a line without a "text" string, or a corpus with no non-empty document.
std::vector<std::string> read_jsonl_corpus(const std::string& path, size_t max_docs = 0);

// "NAME=PATH" specs -> (name, path); InputError on a missing '=', an empty part, a
// name outside [A-Za-z0-9._+-] (1-64 characters: it becomes file names, CSV cells and
// figure labels), or a name given twice. `what` names the flag or key in messages.
struct DomainSpec {
  std::string name, path;
};
std::vector<DomainSpec> parse_domain_specs(const std::vector<std::string>& specs, const std::string& what = "--domain");

}  // namespace sinklab

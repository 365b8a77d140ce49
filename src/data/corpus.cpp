#include "data/corpus.h"

#include <sstream>

#include <nlohmann/json.hpp>

#include "io/error.h"
#include "io/files.h"

namespace sinklab {

std::vector<std::string> read_jsonl_corpus(const std::string& path, size_t max_docs) {
  std::istringstream in(read_file(path));
  std::vector<std::string> docs;
  std::string line;
  size_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error&) {
      fail("'" + path + "':" + std::to_string(lineno) + ": malformed JSON line");
    }
    if (!j.is_object() || !j.contains("text") || !j["text"].is_string())
      fail("'" + path + "':" + std::to_string(lineno) + ": expected an object with a \"text\" string");
    std::string t = j["text"].get<std::string>();
    if (t.empty()) continue;
    docs.push_back(std::move(t));
    if (max_docs && docs.size() >= max_docs) break;
  }
  require(!docs.empty(), "'" + path + "': corpus has no non-empty documents");
  return docs;
}

}  // namespace sinklab

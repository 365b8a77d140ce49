#include "data/corpus.h"

#include <cctype>
#include <set>
#include <sstream>

#include <fmt/format.h>

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

std::vector<DomainSpec> parse_domain_specs(const std::vector<std::string>& specs, const std::string& what) {
  std::vector<DomainSpec> out;
  std::set<std::string> names;
  for (auto& spec : specs) {
    auto eq = spec.find('=');
    require(eq != std::string::npos, fmt::format("{} '{}': expected NAME=PATH", what, spec));
    DomainSpec d{spec.substr(0, eq), spec.substr(eq + 1)};
    require(!d.name.empty() && !d.path.empty(), fmt::format("{} '{}': expected NAME=PATH", what, spec));
    bool ok = d.name.size() <= 64;
    for (unsigned char ch : d.name) ok = ok && (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '+');
    if (!ok) {
      std::string shown;
      for (unsigned char ch : d.name.substr(0, 64)) shown += (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
      fail(fmt::format("{}: the name '{}' must be 1-64 letters, digits, '-', '_', '.' or '+'", what, shown));
    }
    require(names.insert(d.name).second, fmt::format("{} '{}': domain '{}' given twice", what, spec, d.name));
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace sinklab

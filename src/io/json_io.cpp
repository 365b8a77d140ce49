#include "io/json_io.h"

#include <nlohmann/json.hpp>

#include "io/error.h"
#include "io/files.h"

namespace sinklab {

nlohmann::json parse_json(const std::string& text, const std::string& what) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {  // parse_error, and out_of_range for numbers such as 1e444
    std::string m = e.what();
    // nlohmann messages look like "[json.exception.parse_error.101] parse error at line 1, ...".
    auto p = m.find("] ");
    fail(what + ": malformed JSON (" + (p == std::string::npos ? m : m.substr(p + 2)) + ")");
  }
}

nlohmann::json read_json_file(const std::string& path) { return parse_json(read_file(path), "'" + path + "'"); }

}  // namespace sinklab

// JSON reading with one-line errors (nlohmann-json underneath).
#pragma once
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace sinklab {

// Parses a JSON document; InputError "<what>: malformed JSON ..." on failure.
nlohmann::json parse_json(const std::string& text, const std::string& what);
nlohmann::json read_json_file(const std::string& path);

}  // namespace sinklab

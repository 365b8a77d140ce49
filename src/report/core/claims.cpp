#include "report/core/claims.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include <nlohmann/json.hpp>

#include "io/error.h"
#include "io/files.h"

namespace sinklab::report {

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::PASS: return "PASS";
    case Verdict::FAIL: return "FAIL";
    case Verdict::NOT_RUN: return "NOT_RUN";
  }
  return "NOT_RUN";
}

Verdict verdict_from_name(const std::string& name) {
  std::string u;
  for (char c : name) u += (c == ' ' || c == '-') ? '_' : (char)std::toupper((unsigned char)c);
  if (u == "PASS") return Verdict::PASS;
  if (u == "FAIL") return Verdict::FAIL;
  if (u == "NOT_RUN") return Verdict::NOT_RUN;
  fail("unknown verdict '" + name + "' (expected PASS, FAIL or NOT_RUN)");
}

nlohmann::json claims_to_json(const std::vector<Claim>& claims) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& c : claims) {
    nlohmann::json o;
    o["id"] = c.id;
    o["claim"] = c.claim;
    o["metric"] = c.metric;
    if (std::isfinite(c.measured))
      o["measured"] = c.measured;
    else
      o["measured"] = nullptr;
    o["threshold"] = c.threshold;
    o["verdict"] = verdict_name(c.verdict);
    o["note"] = c.note;
    arr.push_back(std::move(o));
  }
  return arr;
}

std::vector<Claim> claims_from_json(const nlohmann::json& j, const std::string& source) {
  require(j.is_array(), source + ": expected a JSON array of claims");
  std::vector<Claim> out;
  for (std::size_t i = 0; i < j.size(); ++i) {
    const auto& o = j[i];
    std::string where = source + ": claim " + std::to_string(i);
    require(o.is_object(), where + ": expected an object");
    auto str = [&](const char* key, bool required) -> std::string {
      auto it = o.find(key);
      if (it == o.end() || it->is_null()) {
        require(!required, where + ": missing '" + key + "'");
        return {};
      }
      require(it->is_string(), where + ": '" + key + "' must be a string");
      return it->get<std::string>();
    };
    Claim c;
    c.id = str("id", true);
    c.claim = str("claim", false);
    c.metric = str("metric", false);
    c.threshold = str("threshold", false);
    c.note = str("note", false);
    c.verdict = verdict_from_name(str("verdict", true));
    auto m = o.find("measured");
    if (m == o.end() || m->is_null()) {
      c.measured = std::nan("");
    } else {
      require(m->is_number(), where + ": 'measured' must be a number or null");
      c.measured = m->get<double>();
    }
    out.push_back(std::move(c));
  }
  return out;
}

void write_claims_json(const std::string& path, const std::vector<Claim>& claims) {
  write_file_atomic(path, claims_to_json(claims).dump(2) + "\n");
}

ClaimSummary summarize(const std::vector<Claim>& claims) {
  ClaimSummary s;
  for (const auto& c : claims) {
    if (c.verdict == Verdict::PASS) ++s.pass;
    else if (c.verdict == Verdict::FAIL) ++s.fail;
    else ++s.not_run;
  }
  return s;
}

}  // namespace sinklab::report

// Claims are data (docs/DESIGN.md): one row of the claims table that
// `sinklab reproduce` ends in. Analysis code fills these; the HTML report
// (report/core/html.h) and claims.json render them. No HTML knowledge here.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace sinklab::report {

enum class Verdict { PASS, FAIL, NOT_RUN };

// "PASS", "FAIL", "NOT_RUN".
const char* verdict_name(Verdict v);
// Inverse of verdict_name (also accepts lower case and "NOT RUN"); InputError otherwise.
Verdict verdict_from_name(const std::string& name);
// PASS if ok, else FAIL.
inline Verdict verdict_of(bool ok) { return ok ? Verdict::PASS : Verdict::FAIL; }

struct Claim {
  std::string id;         // "C1"
  std::string claim;      // the paper's claim in one line
  std::string metric;     // what was measured, e.g. "BOS mass at non-trigger queries"
  double measured = 0.0;  // the measured value (NaN if not measured; JSON null)
  std::string threshold;  // human-readable threshold, e.g. ">= 0.9"
  Verdict verdict = Verdict::NOT_RUN;
  std::string note;       // free text: extra numbers, caveats, why NOT_RUN
};

// A JSON array of objects {id, claim, metric, measured, threshold, verdict, note};
// measured is null when not finite; verdict is verdict_name().
nlohmann::json claims_to_json(const std::vector<Claim>& claims);
// Inverse of claims_to_json; InputError naming `source` on a malformed document.
std::vector<Claim> claims_from_json(const nlohmann::json& j, const std::string& source = "claims.json");
// claims_to_json(...) pretty-printed, written atomically.
void write_claims_json(const std::string& path, const std::vector<Claim>& claims);

// Counts per verdict (handy for a summary line).
struct ClaimSummary {
  int pass = 0, fail = 0, not_run = 0;
};
ClaimSummary summarize(const std::vector<Claim>& claims);

}  // namespace sinklab::report

// Claims are data (docs/DESIGN.md): one row of the claims table that
// `sinklab reproduce` ends in. Analysis code fills these; the HTML report
// (report/core/html.h) and claims.json render them. No HTML knowledge here.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace sinklab::report {

// INCONCLUSIVE: measured over seeds, and the 95% interval straddles the threshold.
enum class Verdict { PASS, FAIL, INCONCLUSIVE, NOT_RUN };

// "PASS", "FAIL", "INCONCLUSIVE", "NOT_RUN".
const char* verdict_name(Verdict v);
// Inverse of verdict_name (also accepts lower case and "NOT RUN"); InputError otherwise.
Verdict verdict_from_name(const std::string& name);
// PASS if ok, else FAIL.
inline Verdict verdict_of(bool ok) { return ok ? Verdict::PASS : Verdict::FAIL; }

// One quantity of a claim, measured once per seed and judged against a threshold
// on its 95% interval: PASS when the whole interval is on the passing side, FAIL
// when it is wholly on the failing side, INCONCLUSIVE otherwise. The interval is
// Student's t interval of the mean over seeds (mean +- t(0.975, n-1) s / sqrt(n));
// one seed gives no interval and is never decisive (INCONCLUSIVE).
struct Measure {
  std::string name;              // "BOS mass at non-trigger queries (sink head)"
  std::string op = ">=";         // the passing side: ">=", "<=", ">" or "<"
  double threshold = 0.0;
  std::vector<double> per_seed;  // in the order of Claim::seeds; NaN = not measured
  double median = 0.0, mean = 0.0, lo = 0.0, hi = 0.0;  // lo, hi: the 95% interval
  Verdict verdict = Verdict::NOT_RUN;
};

// The median of the finite values of `v` (NaN when there are none).
double median(std::vector<double> v);
// Fills median, mean, lo, hi and the verdict of `m` from m.per_seed (non-finite
// values make the measure NOT_RUN). InputError on an unknown op.
void judge(Measure& m);
Measure measure(std::string name, std::string op, double threshold, std::vector<double> per_seed);
// Two-sided 95% quantile of Student's t with `dof` degrees of freedom (dof >= 1).
double t_quantile_975(int dof);
// A claim's verdict from its measures: FAIL if any measure fails, PASS if all pass,
// NOT_RUN if any was not measured, INCONCLUSIVE otherwise.
Verdict combine(const std::vector<Measure>& measures);

struct Claim {
  std::string id;         // "C1"
  std::string claim;      // the paper's claim in one line
  std::string metric;     // what was measured, e.g. "BOS mass at non-trigger queries"
  double measured = 0.0;  // the measured value (NaN if not measured; JSON null)
  std::string threshold;  // human-readable threshold, e.g. ">= 0.9"
  Verdict verdict = Verdict::NOT_RUN;
  std::string note;       // free text: extra numbers, caveats, why NOT_RUN
  // Over seeds (empty for a single-valued claim): measured = the first measure's median.
  std::vector<int64_t> seeds;
  std::vector<Measure> measures;
};

// A JSON array of objects {id, claim, metric, measured, threshold, verdict, note,
// seeds, measures: [{name, op, threshold, per_seed, median, mean, lo, hi, verdict}]};
// numbers that are not finite are null; verdict is verdict_name().
nlohmann::json claims_to_json(const std::vector<Claim>& claims);
// Inverse of claims_to_json; InputError naming `source` on a malformed document.
std::vector<Claim> claims_from_json(const nlohmann::json& j, const std::string& source = "claims.json");
// claims_to_json(...) pretty-printed, written atomically.
void write_claims_json(const std::string& path, const std::vector<Claim>& claims);

// Counts per verdict (handy for a summary line).
struct ClaimSummary {
  int pass = 0, fail = 0, inconclusive = 0, not_run = 0;
};
ClaimSummary summarize(const std::vector<Claim>& claims);

}  // namespace sinklab::report

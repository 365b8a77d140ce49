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
    case Verdict::INCONCLUSIVE: return "INCONCLUSIVE";
    case Verdict::NOT_RUN: return "NOT_RUN";
  }
  return "NOT_RUN";
}

Verdict verdict_from_name(const std::string& name) {
  std::string u;
  for (char c : name) u += (c == ' ' || c == '-') ? '_' : (char)std::toupper((unsigned char)c);
  if (u == "PASS") return Verdict::PASS;
  if (u == "FAIL") return Verdict::FAIL;
  if (u == "INCONCLUSIVE") return Verdict::INCONCLUSIVE;
  if (u == "NOT_RUN") return Verdict::NOT_RUN;
  fail("unknown verdict '" + name + "' (expected PASS, FAIL, INCONCLUSIVE or NOT_RUN)");
}

double t_quantile_975(int dof) {
  require(dof >= 1, "t quantile: degrees of freedom must be >= 1");
  // Exact table for small dof (where seeds live), then the Cornish-Fisher series.
  static const double table[] = {12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
                                 2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
                                 2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423};
  if (dof <= 30) return table[dof - 1];
  const double z = 1.959964, n = dof;
  return z + (z * z * z + z) / (4 * n) + (5 * std::pow(z, 5) + 16 * z * z * z + 3 * z) / (96 * n * n);
}

namespace {
bool passes(const std::string& op, double v, double t) {
  if (op == ">=") return v >= t;
  if (op == "<=") return v <= t;
  if (op == ">") return v > t;
  if (op == "<") return v < t;
  fail("claim measure: unknown comparison '" + op + "' (expected >=, <=, > or <)");
}
}  // namespace

double median(std::vector<double> v) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return !std::isfinite(x); }), v.end());
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void judge(Measure& m) {
  passes(m.op, 0, 0);  // validates op
  const double nan = std::nan("");
  m.median = m.mean = m.lo = m.hi = nan;
  std::vector<double> v;
  for (double x : m.per_seed)
    if (std::isfinite(x)) v.push_back(x);
  if (v.empty() || v.size() != m.per_seed.size()) {
    m.verdict = Verdict::NOT_RUN;
    return;
  }
  const size_t n = v.size();
  m.median = median(v);
  double sum = 0;
  for (double x : v) sum += x;
  m.mean = sum / n;
  if (n < 2) {
    m.lo = m.hi = m.mean;
    m.verdict = Verdict::INCONCLUSIVE;  // one seed never decides
    return;
  }
  double ss = 0;
  for (double x : v) ss += (x - m.mean) * (x - m.mean);
  const double half = t_quantile_975((int)n - 1) * std::sqrt(ss / (n - 1) / n);
  m.lo = m.mean - half, m.hi = m.mean + half;
  const bool lo_ok = passes(m.op, m.lo, m.threshold), hi_ok = passes(m.op, m.hi, m.threshold);
  m.verdict = lo_ok && hi_ok ? Verdict::PASS : (!lo_ok && !hi_ok ? Verdict::FAIL : Verdict::INCONCLUSIVE);
}

Measure measure(std::string name, std::string op, double threshold, std::vector<double> per_seed) {
  Measure m;
  m.name = std::move(name), m.op = std::move(op), m.threshold = threshold, m.per_seed = std::move(per_seed);
  judge(m);
  return m;
}

Verdict combine(const std::vector<Measure>& measures) {
  if (measures.empty()) return Verdict::NOT_RUN;
  bool any_fail = false, all_pass = true, any_not_run = false;
  for (const auto& m : measures) {
    any_fail |= m.verdict == Verdict::FAIL;
    all_pass &= m.verdict == Verdict::PASS;
    any_not_run |= m.verdict == Verdict::NOT_RUN;
  }
  if (any_fail) return Verdict::FAIL;
  if (all_pass) return Verdict::PASS;
  return any_not_run ? Verdict::NOT_RUN : Verdict::INCONCLUSIVE;
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
    o["seeds"] = c.seeds;
    auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
    nlohmann::json ms = nlohmann::json::array();
    for (const auto& m : c.measures) {
      nlohmann::json per = nlohmann::json::array();
      for (double v : m.per_seed) per.push_back(num(v));
      ms.push_back({{"name", m.name}, {"op", m.op}, {"threshold", num(m.threshold)}, {"per_seed", per},
                    {"median", num(m.median)}, {"mean", num(m.mean)}, {"lo", num(m.lo)}, {"hi", num(m.hi)},
                    {"verdict", verdict_name(m.verdict)}});
    }
    o["measures"] = ms;
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
    auto num = [&](const nlohmann::json& x, const std::string& what) {
      if (x.is_null()) return std::nan("");
      require(x.is_number(), where + ": '" + what + "' must be a number or null");
      return x.get<double>();
    };
    if (auto s = o.find("seeds"); s != o.end() && !s->is_null()) {
      require(s->is_array(), where + ": 'seeds' must be an array");
      for (auto& x : *s) {
        require(x.is_number_integer(), where + ": 'seeds' must hold integers");
        c.seeds.push_back(x.get<int64_t>());
      }
    }
    if (auto ms = o.find("measures"); ms != o.end() && !ms->is_null()) {
      require(ms->is_array(), where + ": 'measures' must be an array");
      for (auto& x : *ms) {
        require(x.is_object() && x.contains("name") && x["name"].is_string() && x.contains("op") &&
                    x["op"].is_string() && x.contains("per_seed") && x["per_seed"].is_array(),
                where + ": a measure needs name, op and per_seed");
        Measure mm;
        mm.name = x["name"].get<std::string>();
        mm.op = x["op"].get<std::string>();
        mm.threshold = num(x.value("threshold", nlohmann::json(nullptr)), "threshold");
        for (auto& v : x["per_seed"]) mm.per_seed.push_back(num(v, "per_seed"));
        judge(mm);  // recomputed from the per-seed values, never trusted from the file
        c.measures.push_back(std::move(mm));
      }
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
    else if (c.verdict == Verdict::INCONCLUSIVE) ++s.inconclusive;
    else ++s.not_run;
  }
  return s;
}

}  // namespace sinklab::report

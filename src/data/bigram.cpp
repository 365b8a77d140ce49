#include "data/bigram.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <numeric>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "data/embedded.h"
#include "data/rng.h"
#include "io/error.h"
#include "io/files.h"
#include "io/json_io.h"

namespace sinklab {

BigramSource::BigramSource(std::vector<std::string> vocab, std::vector<double> unigram,
                           std::vector<double> bigram, std::string name)
    : vocab_(std::move(vocab)), unigram_(std::move(unigram)), bigram_(std::move(bigram)), name_(std::move(name)) {
  const size_t V = vocab_.size();
  require(V >= 2, name_ + ": vocabulary needs at least 2 tokens, got " + std::to_string(V));
  require(unigram_.size() == V,
          fmt::format("{}: unigram_counts has {} entries but vocab has {}", name_, unigram_.size(), V));
  require(bigram_.size() == V * V, fmt::format("{}: bigram_counts must be {}x{}", name_, V, V));
  std::map<std::string, int> seen;
  for (size_t i = 0; i < V; ++i) {
    require(!vocab_[i].empty(), fmt::format("{}: vocab entry {} is empty", name_, i));
    require(seen.emplace(vocab_[i], (int)i).second,
            fmt::format("{}: vocab entry '{}' appears twice", name_, display_token(vocab_[i])));
  }
  double total = 0;
  for (size_t i = 0; i < V; ++i) {
    double u = unigram_[i];
    require(std::isfinite(u) && u >= 0, fmt::format("{}: unigram count {} is negative or not finite", name_, i));
    total += u;
  }
  require(total > 0, name_ + ": unigram counts are all zero");
  for (double c : bigram_)
    require(std::isfinite(c) && c >= 0, name_ + ": bigram counts contain a negative or non-finite value");
  marginal_.resize(V);
  for (size_t i = 0; i < V; ++i) marginal_[i] = unigram_[i] / total;
  trans_.resize(V * V);
  for (size_t a = 0; a < V; ++a) {
    double row = 0;
    for (size_t b = 0; b < V; ++b) row += bigram_[a * V + b];
    if (row > 0) {
      for (size_t b = 0; b < V; ++b) trans_[a * V + b] = bigram_[a * V + b] / row;
    } else {
      fallback_rows_.push_back((int)a);
      for (size_t b = 0; b < V; ++b) trans_[a * V + b] = marginal_[b];
    }
  }
}

std::vector<int> BigramSource::by_frequency() const {
  std::vector<int> ids(vocab_.size());
  std::iota(ids.begin(), ids.end(), 0);
  std::stable_sort(ids.begin(), ids.end(), [&](int a, int b) { return unigram_[a] > unigram_[b]; });
  return ids;
}

int BigramSource::find(const std::string& token) const {
  for (size_t i = 0; i < vocab_.size(); ++i)
    if (vocab_[i] == token) return (int)i;
  return -1;
}

BigramSource BigramSource::from_counts_json_text(const std::string& text, const std::string& what) {
  require(text.find_first_not_of(" \t\r\n") != std::string::npos,
          what + ": empty file, expected counts JSON {\"vocab\", \"unigram_counts\", \"bigram_counts\"}");
  nlohmann::json j = parse_json(text, what);
  require(j.is_object(), what + ": expected a JSON object with vocab, unigram_counts, bigram_counts");
  for (const char* key : {"vocab", "unigram_counts", "bigram_counts"})
    require(j.contains(key), what + ": missing key '" + key + "'");
  const auto& jv = j["vocab"];
  const auto& ju = j["unigram_counts"];
  const auto& jb = j["bigram_counts"];
  require(jv.is_array(), what + ": 'vocab' must be an array of strings");
  require(ju.is_array(), what + ": 'unigram_counts' must be an array of numbers");
  require(jb.is_array(), what + ": 'bigram_counts' must be an array of arrays");
  const size_t V = jv.size();
  std::vector<std::string> vocab;
  for (const auto& t : jv) {
    require(t.is_string(), what + ": 'vocab' must be an array of strings");
    vocab.push_back(t.get<std::string>());
  }
  std::vector<double> uni;
  for (const auto& c : ju) {
    require(c.is_number(), what + ": 'unigram_counts' must hold numbers");
    uni.push_back(c.get<double>());
  }
  require(jb.size() == V, fmt::format("{}: bigram_counts is not square: {} rows for a vocabulary of {}", what,
                                      jb.size(), V));
  std::vector<double> bi;
  bi.reserve(V * V);
  for (size_t r = 0; r < V; ++r) {
    const auto& row = jb[r];
    require(row.is_array() && row.size() == V,
            fmt::format("{}: bigram_counts is not square: row {} has {} entries, expected {}", what, r,
                        row.is_array() ? row.size() : 0, V));
    for (const auto& c : row) {
      require(c.is_number(), what + ": 'bigram_counts' must hold numbers");
      double x = c.get<double>();
      require(x >= 0, fmt::format("{}: negative bigram count at row {}", what, r));
      bi.push_back(x);
    }
  }
  for (size_t i = 0; i < uni.size(); ++i)
    require(uni[i] >= 0, fmt::format("{}: negative unigram count for entry {}", what, i));
  return BigramSource(std::move(vocab), std::move(uni), std::move(bi), what);
}

BigramSource BigramSource::from_counts_json(const std::string& path) {
  return from_counts_json_text(read_file(path), "'" + path + "'");
}

std::vector<std::string> utf8_chars(const std::string& text, const std::string& what) {
  std::vector<std::string> out;
  out.reserve(text.size());
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    unsigned char c = (unsigned char)text[i];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (c == 0) fail(what + ": binary data (NUL byte at offset " + std::to_string(i) + "), expected UTF-8 text");
    if (len == 0 || i + len > n) fail(what + ": not valid UTF-8 text (bad byte at offset " + std::to_string(i) + ")");
    for (size_t k = 1; k < len; ++k)
      if (((unsigned char)text[i + k] >> 6) != 0x2)
        fail(what + ": not valid UTF-8 text (bad byte at offset " + std::to_string(i + k) + ")");
    out.emplace_back(text, i, len);
    i += len;
  }
  return out;
}

BigramSource BigramSource::from_text(const std::string& text, const std::string& what) {
  auto chars = utf8_chars(text, what);
  require(chars.size() >= 2, what + ": corpus is empty (need at least 2 characters)");
  std::map<std::string, int> index;
  for (const auto& c : chars) index.emplace(c, 0);
  std::vector<std::string> vocab;
  for (auto& [k, v] : index) {
    v = (int)vocab.size();
    vocab.push_back(k);
  }
  const size_t V = vocab.size();
  require(V >= 2, what + ": corpus has fewer than 2 distinct characters");
  std::vector<double> uni(V, 0.0), bi(V * V, 0.0);
  int prev = -1;
  for (const auto& c : chars) {
    int id = index[c];
    uni[id] += 1;
    if (prev >= 0) bi[(size_t)prev * V + id] += 1;
    prev = id;
  }
  return BigramSource(std::move(vocab), std::move(uni), std::move(bi), what);
}

BigramSource BigramSource::from_text_file(const std::string& path) { return from_text(read_file(path), "'" + path + "'"); }

BigramSource BigramSource::synthetic(int V, uint64_t seed) {
  require(V >= 8 && V <= 90, "synthetic source: vocabulary size must be in [8, 90], got " + std::to_string(V));
  // Display characters: frequent-looking ones first, so samples read like text.
  static const std::string alphabet =
      " etaoinshrdlucmfwypvbgkqjxz.,;:!?'-ETAOINSHRDLUCMFWYPVBGKQJXZ0123456789()[]{}<>=+*/&%$#@^~|";
  std::vector<std::string> vocab;
  for (int i = 0; i < V; ++i) vocab.emplace_back(1, alphabet[i]);
  // Zipf-like target popularity.
  std::vector<double> pop(V);
  for (int i = 0; i < V; ++i) pop[i] = 1.0 / std::pow(i + 1.0, 0.8);
  Rng rng(seed);
  std::vector<double> bi((size_t)V * V, 0.0);
  const double scale = 1e4;
  for (int a = 0; a < V; ++a) {
    // Each row: 3..8 successors drawn by popularity, geometric (peaked) weights.
    int k = 3 + (int)(rng.next() % 6);
    std::vector<int> succ;
    std::vector<double> w = pop;
    w[a] *= 0.05;  // few self-loops
    for (int j = 0; j < k; ++j) {
      double tot = 0;
      for (double x : w) tot += x;
      double u = rng.uniform() * tot;
      int b = 0;
      for (; b < V - 1; ++b) {
        u -= w[b];
        if (u < 0) break;
      }
      succ.push_back(b);
      w[b] = 0;
    }
    double peak = 1.0;
    for (int b : succ) {
      bi[(size_t)a * V + b] = std::round(scale * peak * (0.5 + rng.uniform()));
      peak *= 0.45;
    }
    // Irreducibility: every row may also reach the most popular token.
    bi[(size_t)a * V + 0] += 1.0;
  }
  // Unigram counts: the stationary distribution of the chain (power iteration),
  // so the marginal and the transitions agree.
  std::vector<double> P((size_t)V * V);
  for (int a = 0; a < V; ++a) {
    double row = 0;
    for (int b = 0; b < V; ++b) row += bi[(size_t)a * V + b];
    for (int b = 0; b < V; ++b) P[(size_t)a * V + b] = bi[(size_t)a * V + b] / row;
  }
  std::vector<double> pi(V, 1.0 / V), nxt(V);
  for (int it = 0; it < 2000; ++it) {
    std::fill(nxt.begin(), nxt.end(), 0.0);
    for (int a = 0; a < V; ++a)
      for (int b = 0; b < V; ++b) nxt[b] += pi[a] * P[(size_t)a * V + b];
    pi.swap(nxt);
  }
  // Relabel so the display alphabet follows frequency: the most frequent token
  // prints as ' ', then 'e', 't', ... (samples then read a little like text).
  std::vector<int> order(V);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return pi[a] > pi[b]; });
  std::vector<double> uni(V), bi2((size_t)V * V);
  for (int i = 0; i < V; ++i) {
    uni[i] = std::round(pi[order[i]] * 1e7);
    for (int j = 0; j < V; ++j) bi2[(size_t)i * V + j] = bi[(size_t)order[i] * V + order[j]];
  }
  return BigramSource(std::move(vocab), std::move(uni), std::move(bi2),
                      fmt::format("synthetic(V={}, seed={})", V, seed));
}

const char* const kSourceSpecs =
    "synthetic[:V[:SEED]], shakespeare, counts:FILE.json, text:FILE, or the path of a file (*.json = counts)";

BigramSource BigramSource::from_spec(const std::string& spec) {
  auto starts = [&](const char* p) { return spec.rfind(p, 0) == 0; };
  if (spec == "synthetic" || spec.empty()) return synthetic();
  if (spec == "shakespeare") {
    const std::string_view text = embedded_shakespeare_counts_json();
    return from_counts_json_text(std::string(text), "shakespeare");
  }
  if (starts("synthetic:")) {
    int V = 48;
    unsigned long long seed = 1234;
    int end = -1;
    int got = std::sscanf(spec.c_str(), "synthetic:%d%n:%llu%n", &V, &end, &seed, &end);
    require(got >= 1 && end == (int)spec.size(), "bad source spec '" + spec + "' (expected synthetic:V[:SEED])");
    return synthetic(V, seed);
  }
  if (starts("counts:") || starts("text:")) {
    const bool counts = starts("counts:");
    const std::string path = spec.substr(counts ? 7 : 5);
    require(!path.empty(), "source '" + spec + "' names no file (expected " + (counts ? "counts:FILE.json" : "text:FILE") + ")");
    return counts ? from_counts_json(path) : from_text_file(path);
  }
  // A bare path: only if the file exists, so that a misspelt name is not reported as a
  // missing file.
  std::error_code ec;
  require(std::filesystem::exists(spec, ec), "unknown source '" + spec + "' (valid: " + kSourceSpecs + ")");
  if (spec.size() > 5 && spec.compare(spec.size() - 5, 5, ".json") == 0) return from_counts_json(spec);
  return from_text_file(spec);
}

std::string display_token(const std::string& tok) {
  if (tok == "\n") return "\\n";
  if (tok == "\t") return "\\t";
  if (tok == " ") return "\xe2\x90\xa3";  // U+2423 OPEN BOX
  return tok;
}

}  // namespace sinklab

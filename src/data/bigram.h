// Bigram sources for the Bigram-Backcopy task family.
//
// A source is a vocabulary of display strings (one UTF-8 character each for
// character-level sources), unigram counts and a square bigram count matrix.
// Probabilities derived from it:
//   marginal(a)     = unigram(a) / sum unigram
//   transition(a,b) = bigram(a,b) / sum_b bigram(a,b)
// Fallback: a row with no outgoing count (sum 0) uses the unigram marginal as its
// transition distribution. This is documented behaviour, never a division by zero.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace sinklab {

class BigramSource {
 public:
  // Counts JSON: {"vocab": [...], "unigram_counts": [...], "bigram_counts": [[...]...]}.
  static BigramSource from_counts_json(const std::string& path);
  static BigramSource from_counts_json_text(const std::string& text, const std::string& what);
  // Character-level counts of a UTF-8 text file.
  static BigramSource from_text_file(const std::string& path);
  static BigramSource from_text(const std::string& text, const std::string& what);
  // Built-in synthetic chain: Zipf-like marginal, sparse peaked rows. Needs no file.
  static BigramSource synthetic(int vocab_size = 48, uint64_t seed = 1234);
  // Resolves a --source spec: "synthetic", "synthetic:V[:SEED]", "shakespeare" (the
  // Tiny Shakespeare counts compiled into the binary: equal to
  // counts:data/bb/tinyshakespeare_char_counts.json, named "shakespeare"),
  // "counts:PATH", "text:PATH", or the path of an existing file (*.json = counts,
  // anything else = text). InputError naming the valid specs for anything else.
  static BigramSource from_spec(const std::string& spec);

  BigramSource(std::vector<std::string> vocab, std::vector<double> unigram, std::vector<double> bigram,
               std::string name);

  int vocab_size() const { return (int)vocab_.size(); }
  const std::vector<std::string>& vocab() const { return vocab_; }
  const std::string& name() const { return name_; }
  const std::vector<double>& unigram_counts() const { return unigram_; }
  const std::vector<double>& bigram_counts() const { return bigram_; }
  // Normalised probabilities (see the header comment for the fallback).
  const std::vector<double>& marginal() const { return marginal_; }
  double transition(int a, int b) const { return trans_[(size_t)a * vocab_.size() + b]; }
  const double* transition_row(int a) const { return &trans_[(size_t)a * vocab_.size()]; }
  // Rows that had no outgoing count and use the marginal instead.
  const std::vector<int>& fallback_rows() const { return fallback_rows_; }
  // Token ids sorted by decreasing unigram count (ties: lower id first).
  std::vector<int> by_frequency() const;
  // Id of a display string, or -1.
  int find(const std::string& token) const;

 private:
  std::vector<std::string> vocab_;
  std::vector<double> unigram_, bigram_, marginal_, trans_;
  std::vector<int> fallback_rows_;
  std::string name_;
};

// Printable form of a token for terminals and figures ("\n" -> "\\n", " " -> "␣").
std::string display_token(const std::string& tok);

// Splits UTF-8 text into characters; InputError if it is not valid UTF-8 text.
std::vector<std::string> utf8_chars(const std::string& text, const std::string& what);

}  // namespace sinklab

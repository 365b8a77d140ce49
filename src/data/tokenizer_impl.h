// Internals shared by tokenizer.cpp, bpe.cpp and spm.cpp (not a public header).
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "data/tokenizer.h"

namespace sinklab {

namespace utf8 {
// Appends the UTF-8 encoding of a code point (any value up to 0x10FFFF).
void append(std::string& out, uint32_t cp);
// Length of the UTF-8 sequence a lead byte announces (1 for invalid leads), as
// llama.cpp counts it: by the high nibble.
inline size_t lead_length(unsigned char c) {
  static constexpr uint8_t k[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return k[c >> 4];
}
// Decodes the code point at s[i] strictly; returns false (and leaves cp/len
// untouched) if the sequence there is not valid UTF-8.
bool decode_strict(std::string_view s, size_t i, uint32_t& cp, size_t& len);
// Text with every invalid byte replaced by U+FFFD, decoding the way llama.cpp does
// (a lead byte and the continuation bytes it announces; anything else is one bad
// byte). Code points that are not Unicode scalar values also become U+FFFD.
std::string sanitize(std::string_view s);
}  // namespace utf8

// The merge loop of both tokenizer models. `text` starts as one piece per UTF-8
// character (lead_length); adjacent pieces are merged while priority(left, right)
// (string_views of the two pieces) gives a value: highest value first, leftmost on
// ties; std::nullopt = the pair never merges. BPE passes -merge rank, SentencePiece the
// score of the merged token. Returns the final pieces as (offset, length), in order.
template <class Priority>
std::vector<std::pair<size_t, size_t>> merge_pieces(std::string_view text, Priority&& priority) {
  struct Symbol {
    size_t begin, len;
    int prev, next;
  };
  struct Pair {
    double value;
    int left, right;
    size_t len;
  };
  struct Order {
    bool operator()(const Pair& a, const Pair& b) const {
      return a.value < b.value || (a.value == b.value && a.left > b.left);
    }
  };
  std::vector<Symbol> sym;
  for (size_t off = 0; off < text.size();) {
    const size_t l = std::min(text.size() - off, utf8::lead_length(static_cast<unsigned char>(text[off])));
    const int idx = static_cast<int>(sym.size());
    sym.push_back({off, l, idx - 1, off + l == text.size() ? -1 : idx + 1});
    off += l;
  }
  std::priority_queue<Pair, std::vector<Pair>, Order> queue;
  const auto add = [&](int l, int r) {
    if (l < 0 || r < 0) return;
    const std::optional<double> v = priority(text.substr(sym[l].begin, sym[l].len), text.substr(sym[r].begin, sym[r].len));
    if (v) queue.push({*v, l, r, sym[l].len + sym[r].len});
  };
  for (int i = 1; i < static_cast<int>(sym.size()); ++i) add(i - 1, i);
  while (!queue.empty()) {
    const Pair p = queue.top();
    queue.pop();
    Symbol& l = sym[p.left];
    Symbol& r = sym[p.right];
    if (l.len == 0 || r.len == 0 || l.len + r.len != p.len) continue;  // outdated
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0) sym[r.next].prev = p.left;
    add(l.prev, p.left);
    add(p.left, l.next);
  }
  std::vector<std::pair<size_t, size_t>> out;
  for (const Symbol& x : sym)
    if (x.len > 0) out.emplace_back(x.begin, x.len);
  return out;
}

// One pre-tokenizer regex, compiled with PCRE2 (UTF + UCP, JIT where available).
struct CompiledRegex {
  std::string pattern;   // as llama.cpp writes it
  std::string pcre;      // translated for PCRE2 (\s -> llama.cpp's White_Space set)
  void* code = nullptr;  // pcre2_code_8*
  bool gaps_per_codepoint = false;  // llama.cpp's custom GPT-2 splitter semantics

  CompiledRegex() = default;
  CompiledRegex(CompiledRegex&& o) noexcept;
  CompiledRegex(const CompiledRegex&) = delete;
  CompiledRegex& operator=(const CompiledRegex&) = delete;
  CompiledRegex& operator=(CompiledRegex&&) = delete;
  ~CompiledRegex();
};

struct Tokenizer::Impl {
  TokenizerData d;
  std::string what;
  bool spm = false;

  std::unordered_map<std::string, int32_t> token_to_id;  // last duplicate wins
  std::vector<int32_t> special_ids;  // CONTROL/USER_DEFINED/UNKNOWN, longest text first

  // ---- byte-level BPE
  std::vector<CompiledRegex> regexes;
  bool ignore_merges = false;
  std::unordered_map<std::string, int32_t> merge_rank;  // "first\0second" -> rank
  std::array<std::string, 256> byte_to_unicode;          // GPT-2 byte table (UTF-8)
  std::unordered_map<uint32_t, uint8_t> unicode_to_byte;
  mutable std::mutex cache_mu;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache;  // word -> ids

  // ---- SentencePiece
  std::array<int32_t, 256> byte_token{};  // <0xNN> (or the 1-byte token), -1 if none

  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  int32_t find(std::string_view text) const {
    auto it = token_to_id.find(std::string(text));
    return it == token_to_id.end() ? -1 : it->second;
  }
  TokenType type(int32_t id) const {
    return d.token_types.empty() ? TokenType::Normal : static_cast<TokenType>(d.token_types[id]);
  }

  void init_bpe();
  void init_spm();
  // Raw fragment (no special tokens) -> ids, appended to out.
  void encode_bpe(std::string_view text, std::vector<int32_t>& out) const;
  void encode_spm(std::string_view text, std::vector<int32_t>& out) const;
  void bpe_word(const std::string& word, std::vector<int32_t>& out) const;
  // Pre-tokenisation of a sanitized (valid UTF-8) fragment into word byte ranges.
  std::vector<std::pair<size_t, size_t>> split_words(std::string_view text) const;
  std::string piece_bpe(const std::string& text) const;
  static std::string piece_spm(const std::string& text);
};

}  // namespace sinklab

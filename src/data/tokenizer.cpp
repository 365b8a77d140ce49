// Tokenizer: vocabulary, special tokens, encode/decode dispatch (BPE in bpe.cpp,
// SentencePiece-style in spm.cpp). See tokenizer.h for the behaviour.
#include "data/tokenizer.h"

#include <algorithm>

#include <fmt/format.h>
#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>

#include "data/tokenizer_impl.h"
#include "io/error.h"

namespace sinklab {

// ---------------------------------------------------------------- UTF-8
namespace utf8 {

void append(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | ((cp >> 18) & 0x07));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool decode_strict(std::string_view s, size_t i, uint32_t& cp, size_t& len) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const size_t n = s.size() - i;
  const unsigned char c = b(0);
  if (c < 0x80) {
    cp = c;
    len = 1;
    return true;
  }
  size_t need;
  uint32_t v, min;
  if (c >= 0xC2 && c <= 0xDF) {
    need = 2; v = c & 0x1F; min = 0x80;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 3; v = c & 0x0F; min = 0x800;
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 4; v = c & 0x07; min = 0x10000;
  } else {
    return false;
  }
  if (n < need) return false;
  for (size_t k = 1; k < need; ++k) {
    if ((b(k) & 0xC0) != 0x80) return false;
    v = (v << 6) | (b(k) & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return false;
  cp = v;
  len = need;
  return true;
}

std::string sanitize(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    // llama.cpp's lenient decoder: the lead byte says how many continuation bytes
    // follow; a bad lead or a missing continuation costs one byte and gives U+FFFD.
    size_t need = 0;
    uint32_t v = 0;
    if ((c & 0xE0) == 0xC0) { need = 2; v = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { need = 3; v = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { need = 4; v = c & 0x07; }
    bool ok = need > 0 && i + need <= s.size();
    for (size_t k = 1; ok && k < need; ++k) {
      const unsigned char d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) ok = false;
      else v = (v << 6) | (d & 0x3F);
    }
    if (!ok) {
      append(out, 0xFFFD);
      ++i;
      continue;
    }
    if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) v = 0xFFFD;
    append(out, v);  // overlong forms come out in their shortest form
    i += need;
  }
  return out;
}

}  // namespace utf8

namespace {

// NFC of valid UTF-8 text (ICU); the text itself when it is already normalized.
std::string nfc(std::string_view text) {
  if (text.size() > static_cast<size_t>(INT32_MAX)) fail("text too long for NFC normalization");
  UErrorCode err = U_ZERO_ERROR;
  const icu::Normalizer2* n = icu::Normalizer2::getNFCInstance(err);
  if (U_FAILURE(err) || !n) throw std::runtime_error("ICU NFC normalizer unavailable");
  const icu::StringPiece sp(text.data(), static_cast<int32_t>(text.size()));
  if (n->isNormalizedUTF8(sp, err) && U_SUCCESS(err)) return std::string(text);
  err = U_ZERO_ERROR;
  std::string out;
  icu::StringByteSink<std::string> sink(&out);
  n->normalizeUTF8(0, sp, sink, nullptr, err);
  if (U_FAILURE(err)) throw std::runtime_error(std::string("ICU NFC normalization failed: ") + u_errorName(err));
  return out;
}

}  // namespace

void require_utf8(std::string_view s, const std::string& what) {
  const size_t bad = first_invalid_utf8(s);
  if (bad != std::string::npos)
    fail(fmt::format("{} is not valid UTF-8 text (invalid byte 0x{:02x} at offset {})", what,
                     static_cast<unsigned char>(s[bad]), bad));
}

size_t first_invalid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    uint32_t cp;
    size_t len;
    if (!utf8::decode_strict(s, i, cp, len)) return i;
    i += len;
  }
  return std::string_view::npos;
}

bool is_valid_utf8(std::string_view s) { return first_invalid_utf8(s) == std::string_view::npos; }

// ---------------------------------------------------------------- construction
Tokenizer::Tokenizer(TokenizerData data, const std::string& what) {
  auto impl = std::make_shared<Impl>();
  impl->what = what;
  auto& d = impl->d;
  d = std::move(data);
  const auto bad = [&](const std::string& msg) { fail(fmt::format("{}: {}", what, msg)); };

  if (!d.normalizer.empty() && d.normalizer != "NFC")
    bad(fmt::format("unsupported normalizer '{}' (supported: NFC)", d.normalizer));
  if (d.model == "gpt2") impl->spm = false;
  else if (d.model == "llama") impl->spm = true;
  else bad(fmt::format("unsupported tokenizer model '{}' (supported: gpt2, llama)", d.model));

  const size_t n = d.tokens.size();
  if (n == 0) bad("the vocabulary is empty");
  if (n > (size_t)INT32_MAX) bad("the vocabulary is too large");
  if (!d.token_types.empty() && d.token_types.size() != n)
    bad(fmt::format("{} token types for {} tokens", d.token_types.size(), n));
  if (!d.scores.empty() && d.scores.size() != n)
    bad(fmt::format("{} scores for {} tokens", d.scores.size(), n));
  for (size_t i = 0; i < d.token_types.size(); ++i) {
    if (d.token_types[i] < 0 || d.token_types[i] > 6)
      bad(fmt::format("token {} has unknown type {}", i, d.token_types[i]));
  }
  const auto check_id = [&](int32_t& id, const char* name) {
    if (id < -1 || id >= (int64_t)n) bad(fmt::format("{} id {} is out of range (vocabulary of {})", name, id, n));
  };
  check_id(d.bos_id, "BOS");
  check_id(d.eos_id, "EOS");
  check_id(d.unk_id, "UNK");
  check_id(d.pad_id, "PAD");

  impl->token_to_id.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) impl->token_to_id[d.tokens[i]] = static_cast<int32_t>(i);

  for (size_t i = 0; i < n; ++i) {
    const TokenType t = impl->type(static_cast<int32_t>(i));
    if ((t == TokenType::Control || t == TokenType::UserDefined || t == TokenType::Unknown) &&
        !d.tokens[i].empty())
      impl->special_ids.push_back(static_cast<int32_t>(i));
  }
  std::stable_sort(impl->special_ids.begin(), impl->special_ids.end(), [&](int32_t a, int32_t b) {
    return d.tokens[a].size() > d.tokens[b].size();
  });

  if (impl->spm) impl->init_spm();
  else impl->init_bpe();
  impl_ = std::move(impl);
}

Tokenizer::~Tokenizer() = default;

// ---------------------------------------------------------------- encoding
namespace {

struct Fragment {
  bool is_token;
  int32_t id;        // when is_token
  size_t begin, end; // byte range of raw text otherwise
};

}  // namespace

std::vector<int32_t> Tokenizer::encode(std::string_view text, const EncodeOptions& opt) const {
  const Impl& m = *impl_;
  const bool add_bos = opt.add_bos.value_or(m.d.add_bos);
  const bool add_eos = opt.add_eos.value_or(m.d.add_eos);
  if (add_bos && m.d.bos_id < 0) fail(m.what + ": a BOS token was requested but the tokenizer has none");
  if (add_eos && m.d.eos_id < 0) fail(m.what + ": an EOS token was requested but the tokenizer has none");

  // Split off special tokens: each special token in turn (longest first) is cut out
  // of every raw fragment left, leftmost occurrence first.
  std::vector<Fragment> frags;
  if (!text.empty()) frags.push_back({false, -1, 0, text.size()});
  std::vector<Fragment> next;
  for (int32_t sid : m.special_ids) {
    const TokenType t = m.type(sid);
    if (!opt.parse_special && (t == TokenType::Control || t == TokenType::Unknown)) continue;
    const std::string& s = m.d.tokens[sid];
    bool any = false;
    for (const auto& f : frags) {
      if (!f.is_token && text.substr(f.begin, f.end - f.begin).find(s) != std::string_view::npos) {
        any = true;
        break;
      }
    }
    if (!any) continue;
    next.clear();
    for (const auto& f : frags) {
      if (f.is_token) {
        next.push_back(f);
        continue;
      }
      size_t pos = f.begin;
      while (pos < f.end) {
        const size_t hit = text.substr(0, f.end).find(s, pos);
        if (hit == std::string_view::npos) break;
        if (hit > pos) next.push_back({false, -1, pos, hit});
        next.push_back({true, sid, 0, 0});
        pos = hit + s.size();
      }
      if (pos < f.end) next.push_back({false, -1, pos, f.end});
    }
    frags.swap(next);
  }

  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  if (add_bos) out.push_back(m.d.bos_id);
  bool prev_special = true;  // SentencePiece: a space is prepended after a special token
  for (const auto& f : frags) {
    if (f.is_token) {
      out.push_back(f.id);
      prev_special = true;
      continue;
    }
    std::string_view raw = text.substr(f.begin, f.end - f.begin);
    std::string normalized;
    if (!m.d.normalizer.empty()) {
      normalized = is_valid_utf8(raw) ? nfc(raw) : nfc(utf8::sanitize(raw));
      raw = normalized;
    }
    if (m.spm) {
      std::string s;
      if (m.d.add_space_prefix && prev_special && (m.d.space_prefix_after_special || f.begin == 0)) s = " ";
      s.append(raw.data(), raw.size());
      m.encode_spm(s, out);
    } else {
      m.encode_bpe(raw, out);
    }
    prev_special = false;
  }
  if (add_eos) out.push_back(m.d.eos_id);
  return out;
}

// ---------------------------------------------------------------- decoding
std::string Tokenizer::token_to_piece(int32_t id, bool special) const {
  const Impl& m = *impl_;
  if (id < 0 || (size_t)id >= m.d.tokens.size())
    fail(fmt::format("{}: token id {} is out of range (vocabulary of {})", m.what, id, m.d.tokens.size()));
  const std::string& text = m.d.tokens[id];
  switch (m.type(id)) {
    case TokenType::Control:
    case TokenType::Unknown:
      return special ? text : std::string();
    case TokenType::UserDefined:
      return text;
    case TokenType::Byte: {
      // <0xNN>
      if (text.size() == 6 && text.compare(0, 3, "<0x") == 0 && text[5] == '>') {
        const auto hex = [](char c) -> int {
          if (c >= '0' && c <= '9') return c - '0';
          if (c >= 'A' && c <= 'F') return c - 'A' + 10;
          if (c >= 'a' && c <= 'f') return c - 'a' + 10;
          return -1;
        };
        const int hi = hex(text[3]), lo = hex(text[4]);
        if (hi >= 0 && lo >= 0) return std::string(1, static_cast<char>(hi * 16 + lo));
      }
      return m.spm ? Impl::piece_spm(text) : m.piece_bpe(text);
    }
    case TokenType::Normal:
      return m.spm ? Impl::piece_spm(text) : m.piece_bpe(text);
    default:  // Unused, Undefined: no text (as llama.cpp)
      return std::string();
  }
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool skip_special) const {
  const Impl& m = *impl_;
  std::string out;
  bool first_text = m.spm && m.d.add_space_prefix;
  for (int32_t id : ids) {
    std::string p = token_to_piece(id, !skip_special);
    const TokenType t = m.type(id);
    if (first_text && t != TokenType::Control && t != TokenType::Unknown) {
      if (!p.empty()) {
        if (t == TokenType::Normal && p[0] == ' ') p.erase(0, 1);
        first_text = false;
      }
    }
    out += p;
  }
  return out;
}

std::string Tokenizer::display_piece(int32_t id) const {
  const std::string p = token_to_piece(id, true);
  std::string out;
  size_t i = 0;
  while (i < p.size()) {
    const unsigned char c = static_cast<unsigned char>(p[i]);
    if (c < 0x80) {
      if (c == '\n') out += "\\n";
      else if (c == '\t') out += "\\t";
      else if (c == '\r') out += "\\r";
      else if (c == '\\') out += "\\\\";
      else if (c < 0x20 || c == 0x7F) out += fmt::format("\\x{:02x}", c);
      else out += static_cast<char>(c);
      ++i;
      continue;
    }
    uint32_t cp;
    size_t len;
    if (utf8::decode_strict(p, i, cp, len)) {
      out.append(p, i, len);
      i += len;
    } else {
      out += fmt::format("\\x{:02x}", c);
      ++i;
    }
  }
  return out;
}

// ---------------------------------------------------------------- accessors
const std::string& Tokenizer::token_text(int32_t id) const {
  if (id < 0 || (size_t)id >= impl_->d.tokens.size())
    fail(fmt::format("{}: token id {} is out of range (vocabulary of {})", impl_->what, id,
                     impl_->d.tokens.size()));
  return impl_->d.tokens[id];
}
TokenType Tokenizer::token_type(int32_t id) const {
  token_text(id);
  return impl_->type(id);
}
float Tokenizer::token_score(int32_t id) const {
  token_text(id);
  return impl_->d.scores.empty() ? 0.0f : impl_->d.scores[id];
}
int32_t Tokenizer::token_id(std::string_view text) const { return impl_->find(text); }
size_t Tokenizer::vocab_size() const { return impl_->d.tokens.size(); }
const std::string& Tokenizer::model() const { return impl_->d.model; }
const std::string& Tokenizer::pre() const { return impl_->d.pre; }
int32_t Tokenizer::bos_id() const { return impl_->d.bos_id; }
int32_t Tokenizer::eos_id() const { return impl_->d.eos_id; }
int32_t Tokenizer::unk_id() const { return impl_->d.unk_id; }
int32_t Tokenizer::pad_id() const { return impl_->d.pad_id; }
bool Tokenizer::add_bos() const { return impl_->d.add_bos; }
bool Tokenizer::add_eos() const { return impl_->d.add_eos; }

void Tokenizer::clear_cache() const {
  std::lock_guard<std::mutex> lock(impl_->cache_mu);
  impl_->cache.clear();
}

std::vector<std::string> Tokenizer::pretokenize(std::string_view text) const {
  const std::string clean = utf8::sanitize(text);
  std::vector<std::string> out;
  if (impl_->spm) {
    out.push_back(clean);
    return out;
  }
  for (auto [b, e] : impl_->split_words(clean)) out.push_back(clean.substr(b, e - b));
  return out;
}

}  // namespace sinklab

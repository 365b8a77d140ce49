// Byte-level BPE (GGUF tokenizer model "gpt2"): pre-tokenizer regexes (PCRE2),
// the GPT-2 byte-to-unicode table, merges by rank, and a word cache.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>

#include <fmt/format.h>

#include "data/tokenizer.h"
#include "data/tokenizer_impl.h"
#include "io/error.h"

namespace sinklab {

namespace {

// The GPT-2 regex as llama.cpp spells it; llama.cpp runs a hand-written splitter for
// exactly this string, which emits every unmatched code point on its own.
const char* const kGpt2 =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
const char* const kLlama3 =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
    "\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char* const kQwen2 =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
    "\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char* const kPoro = " ?[^(\\s|.,!?\xE2\x80\xA6\xE3\x80\x82\xEF\xBC\x8C\xE3\x80\x81\xE0\xA5\xA4\xDB\x94\xD8\x8C)]+";

// llama.cpp's \s: the Unicode White_Space property (as a PCRE2 class body).
const char* const kWhiteSpace =
    "\\t\\n\\x{0B}\\f\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}"
    "\\x{202F}\\x{205F}\\x{3000}";

bool one_of(const std::string& s, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (s == n) return true;
  return false;
}

// Rewrites \s and \S so that PCRE2 uses llama.cpp's whitespace set.
std::string translate_regex(const std::string& re) {
  std::string out;
  bool in_class = false;
  for (size_t i = 0; i < re.size(); ++i) {
    const char c = re[i];
    if (c == '\\' && i + 1 < re.size()) {
      const char e = re[i + 1];
      if (e == 's') {
        out += in_class ? std::string(kWhiteSpace) : fmt::format("[{}]", kWhiteSpace);
      } else if (e == 'S' && !in_class) {
        out += fmt::format("[^{}]", kWhiteSpace);
      } else {
        out += c;
        out += e;
      }
      ++i;
      continue;
    }
    if (c == '[' && !in_class) in_class = true;
    else if (c == ']' && in_class) in_class = false;
    out += c;
  }
  return out;
}

// GPT-2 byte table: printable bytes map to themselves, the others to U+0100...
void build_byte_table(std::array<std::string, 256>& b2u, std::unordered_map<uint32_t, uint8_t>& u2b) {
  uint32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool keep = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    const uint32_t cp = keep ? static_cast<uint32_t>(b) : next++;
    b2u[b].clear();
    utf8::append(b2u[b], cp);
    u2b[cp] = static_cast<uint8_t>(b);
  }
}

}  // namespace

PreTokenizerInfo pretokenizer_info(const std::string& pre) {
  PreTokenizerInfo info;
  if (pre == "default") {
    info.regexes = {"[\\p{P}\\$\\+<=>\\^~\\|]+", kGpt2, "\\p{N}+", "[0-9][0-9][0-9]"};
  } else if (one_of(pre, {"gpt-2", "gpt2", "phi-2", "mpt", "olmo", "jais", "trillion", "granite-docling",
                          "exaone4", "roberta-bpe", "jina-es", "jina-de", "jina-v1-en", "jina-v2-es",
                          "jina-v2-de", "jina-v2-code", "gigachat", "mellum", "modern-bert", "a.x-4.0"})) {
    info.regexes = {kGpt2};
  } else if (one_of(pre, {"smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b",
                          "mellum2"})) {
    // Digits are isolated first (one word per digit), then the GPT-2 regex.
    info.regexes = {"\\p{N}", kGpt2};
  } else if (one_of(pre, {"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0",
                          "lfm2", "jina-v5-nano"})) {
    info.regexes = {kLlama3};
    info.ignore_merges = true;
    info.default_add_bos = true;
  } else if (one_of(pre, {"dbrx", "smaug-bpe", "chatglm-bpe"})) {
    info.regexes = {kLlama3};
  } else if (one_of(pre, {"qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "stablelm2", "hunyuan", "megrez",
                          "solar-open"})) {
    info.regexes = {kQwen2};
  } else if (pre == "falcon") {
    info.regexes = {"[\\p{P}\\$\\+<=>\\^~\\|`]+", kGpt2, "[0-9][0-9][0-9]"};
  } else if (one_of(pre, {"poro-chat", "bloom", "gpt3-finnish"})) {
    info.regexes = {kPoro};
  } else if (pre == "viking") {
    info.regexes = {kPoro, "\\p{N}"};
  } else {
    fail(fmt::format("unsupported pre-tokenizer '{}' (supported: default, gpt2, smollm, llama3, qwen2, "
                     "falcon, bloom, viking and their aliases)",
                     pre));
  }
  return info;
}

CompiledRegex::CompiledRegex(CompiledRegex&& o) noexcept
    : pattern(std::move(o.pattern)), pcre(std::move(o.pcre)), code(o.code),
      gaps_per_codepoint(o.gaps_per_codepoint) {
  o.code = nullptr;
}

CompiledRegex::~CompiledRegex() {
  if (code) pcre2_code_free(static_cast<pcre2_code*>(code));
}

void Tokenizer::Impl::init_bpe() {
  PreTokenizerInfo info;
  const bool explicit_regexes = !d.pre_regexes.empty();
  if (explicit_regexes) {
    info.regexes = d.pre_regexes;
    info.ignore_merges = d.ignore_merges;
  } else {
    info = pretokenizer_info(d.pre);
  }
  ignore_merges = info.ignore_merges;
  for (const auto& re : info.regexes) {
    CompiledRegex cr;
    cr.pattern = re;
    cr.pcre = translate_regex(re);
    cr.gaps_per_codepoint = (re == kGpt2);
    int err = 0;
    PCRE2_SIZE off = 0;
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(cr.pcre.data()), cr.pcre.size(),
                                     PCRE2_UTF | PCRE2_UCP, &err, &off, nullptr);
    if (!code) {
      PCRE2_UCHAR buf[256];
      pcre2_get_error_message(err, buf, sizeof buf);
      if (explicit_regexes)  // from a file: bad input, not a bug
        fail(fmt::format("{}: pre-tokenizer regex '{}' does not compile at offset {}: {}", what, re, off,
                         reinterpret_cast<const char*>(buf)));
      throw std::logic_error(fmt::format("pre-tokenizer regex does not compile at {}: {}", off,
                                         reinterpret_cast<const char*>(buf)));
    }
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter on failure
    cr.code = code;
    regexes.push_back(std::move(cr));
  }

  build_byte_table(byte_to_unicode, unicode_to_byte);

  merge_rank.reserve(d.merges.size() * 2);
  for (size_t i = 0; i < d.merges.size(); ++i) {
    const std::string& m = d.merges[i];
    // Split at the first space after the first character, as llama.cpp does.
    const size_t pos = m.size() > 1 ? m.find(' ', 1) : std::string::npos;
    std::string key;
    if (pos != std::string::npos) {
      key = m.substr(0, pos);
      key += '\0';
      key.append(m, pos + 1, std::string::npos);
    } else {
      key = std::string(1, '\0');
    }
    merge_rank.emplace(std::move(key), static_cast<int32_t>(i));  // first rank wins
  }
}

// Applies the regexes in turn; each splits every current word into its matches
// and the text between them.
std::vector<std::pair<size_t, size_t>> Tokenizer::Impl::split_words(std::string_view text) const {
  std::vector<std::pair<size_t, size_t>> words;
  if (text.empty()) return words;
  words.emplace_back(0, text.size());
  std::vector<std::pair<size_t, size_t>> next;
  const auto* subject_all = reinterpret_cast<PCRE2_SPTR>(text.data());

  for (const auto& re : regexes) {
    auto* code = static_cast<pcre2_code*>(re.code);
    pcre2_match_data* md = pcre2_match_data_create_from_pattern(code, nullptr);
    if (!md) throw std::bad_alloc();
    next.clear();
    next.reserve(words.size() * 2);
    const auto gap = [&](size_t b, size_t e) {
      if (b >= e) return;
      if (!re.gaps_per_codepoint) {
        next.emplace_back(b, e);
        return;
      }
      while (b < e) {
        const size_t l = std::min(e - b, utf8::lead_length(static_cast<unsigned char>(text[b])));
        next.emplace_back(b, b + l);
        b += l;
      }
    };
    for (auto [wb, we] : words) {
      const PCRE2_SPTR subject = subject_all + wb;
      const size_t len = we - wb;
      size_t pos = 0, last = 0;
      while (pos <= len) {
        int rc = pcre2_match(code, subject, len, pos, PCRE2_NO_UTF_CHECK, md, nullptr);
        if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
          rc = pcre2_match(code, subject, len, pos, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, md, nullptr);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
          pcre2_match_data_free(md);
          fail(fmt::format("{}: pre-tokenizer regex failed (PCRE2 error {}; the text may be too "
                           "hard for the pattern)", what, rc));
        }
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
        const size_t mb = ov[0], me = ov[1];
        if (me == mb) {  // empty match: skip one character
          if (mb >= len) break;
          pos = mb + std::min(len - mb, utf8::lead_length(static_cast<unsigned char>(text[wb + mb])));
          continue;
        }
        gap(wb + last, wb + mb);
        next.emplace_back(wb + mb, wb + me);
        last = pos = me;
      }
      gap(wb + last, we);
    }
    pcre2_match_data_free(md);
    words.swap(next);
  }
  return words;
}

void Tokenizer::Impl::encode_bpe(std::string_view raw, std::vector<int32_t>& out) const {
  const bool valid = is_valid_utf8(raw);
  std::string clean;
  std::string_view text = raw;
  if (!valid) {
    clean = utf8::sanitize(raw);
    text = clean;
  }
  std::string word;
  for (auto [b, e] : split_words(text)) {
    word.assign(text.data() + b, e - b);
    {
      std::lock_guard<std::mutex> lock(cache_mu);
      auto it = cache.find(word);
      if (it != cache.end()) {
        out.insert(out.end(), it->second.begin(), it->second.end());
        continue;
      }
    }
    std::vector<int32_t> ids;
    bpe_word(word, ids);
    out.insert(out.end(), ids.begin(), ids.end());
    std::lock_guard<std::mutex> lock(cache_mu);
    if (cache.size() >= (1u << 18)) cache.clear();
    cache.emplace(word, std::move(ids));
  }
}

void Tokenizer::Impl::bpe_word(const std::string& word, std::vector<int32_t>& out) const {
  // Byte-encode: every byte becomes its GPT-2 unicode character.
  std::string enc;
  enc.reserve(word.size() * 2);
  for (unsigned char c : word) enc += byte_to_unicode[c];

  if (ignore_merges) {
    const int32_t id = find(enc);
    if (id >= 0) {
      out.push_back(id);
      return;
    }
  }

  std::string key;
  const auto rank = [&](std::string_view l, std::string_view r) -> std::optional<double> {
    key.assign(l);
    key += '\0';
    key.append(r);
    auto it = merge_rank.find(key);
    if (it == merge_rank.end()) return std::nullopt;
    return -static_cast<double>(it->second);  // lowest rank first
  };
  for (const auto& [begin, len] : merge_pieces(enc, rank)) {
    const std::string piece = enc.substr(begin, len);
    const int32_t id = find(piece);
    if (id >= 0) {
      out.push_back(id);
      continue;
    }
    // Not in the vocabulary: llama.cpp looks each byte of the encoded piece up as a
    // one-character token and drops those it cannot find.
    for (char c : piece) {
      const int32_t bid = find(std::string_view(&c, 1));
      if (bid >= 0) out.push_back(bid);
    }
  }
}

std::string Tokenizer::Impl::piece_bpe(const std::string& text) const {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    uint32_t cp;
    size_t len;
    if (!utf8::decode_strict(text, i, cp, len)) {
      out += text[i];
      ++i;
      continue;
    }
    auto it = unicode_to_byte.find(cp);
    if (it != unicode_to_byte.end()) out += static_cast<char>(it->second);
    else out.append(text, i, len);  // not a byte character: keep it as it is
    i += len;
  }
  return out;
}

}  // namespace sinklab

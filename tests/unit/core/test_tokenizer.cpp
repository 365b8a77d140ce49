// Tokenizers: byte-level BPE (SmolLM2's, checked id for id against llama.cpp's
// goldens), SentencePiece-style (checked against libsentencepiece on a tiny
// trained model), pre-tokenisation, special tokens, decode round trips.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/tokenizer.h"
#include "data/tokenizer_gguf.h"
#include "io/error.h"
#include "io/gguf.h"

using sinklab::EncodeOptions;
using sinklab::Tokenizer;
using sinklab::TokenizerData;
using sinklab::TokenType;
using Ids = std::vector<int32_t>;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string model_path() {
  if (const char* p = std::getenv("SINKLAB_TEST_MODEL")) return p;
  std::string cache;
  if (const char* c = std::getenv("SINKLAB_CACHE")) cache = c;
  else if (const char* x = std::getenv("XDG_CACHE_HOME")) cache = std::string(x) + "/sinklab";
  else if (const char* h = std::getenv("HOME")) cache = std::string(h) + "/.cache/sinklab";
  return cache + "/models/SmolLM2-135M-Instruct.gguf";
}

bool file_exists(const std::string& p) { return std::ifstream(p).good(); }

// The SmolLM2 tokenizer, loaded once (nullptr when the model file is absent).
const Tokenizer* smollm2() {
  static std::unique_ptr<Tokenizer> tok = []() -> std::unique_ptr<Tokenizer> {
    const std::string p = model_path();
    if (!file_exists(p)) return nullptr;
    sinklab::gguf::GgufFile f(p);
    return std::make_unique<Tokenizer>(sinklab::tokenizer_from_gguf(f));
  }();
  return tok.get();
}

#define NEED_SMOLLM2()                                                                        \
  const Tokenizer* tok = smollm2();                                                           \
  if (!tok) GTEST_SKIP() << "test model " << model_path() << " is absent (run scripts/setup.sh)"

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// A tiny byte-level BPE: all 256 byte characters, plus merges.
TokenizerData tiny_bpe(const std::vector<std::string>& merges, const std::string& pre = "gpt2") {
  TokenizerData d;
  d.model = "gpt2";
  d.pre = pre;
  // GPT-2 byte table, rebuilt independently of the implementation.
  std::vector<std::string> b2u(256);
  int next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool keep = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    const int cp = keep ? b : next++;
    std::string s;
    if (cp < 0x80) s += char(cp);
    else {
      s += char(0xC0 | (cp >> 6));
      s += char(0x80 | (cp & 0x3F));
    }
    b2u[b] = s;
  }
  d.tokens = {"<|endoftext|>"};
  d.token_types = {3};
  for (int b = 0; b < 256; ++b) {
    d.tokens.push_back(b2u[b]);
    d.token_types.push_back(1);
  }
  for (const auto& m : merges) {
    const size_t sp = m.find(' ', 1);
    d.tokens.push_back(m.substr(0, sp) + m.substr(sp + 1));
    d.token_types.push_back(1);
  }
  d.merges = merges;
  d.bos_id = 0;
  d.eos_id = 0;
  return d;
}

std::vector<std::string> pieces(const Tokenizer& t, const Ids& ids) {
  std::vector<std::string> out;
  for (int32_t id : ids) out.push_back(t.token_to_piece(id));
  return out;
}

}  // namespace

// ---------------------------------------------------------------- UTF-8
TEST(Utf8, Validation) {
  EXPECT_TRUE(sinklab::is_valid_utf8("plain ascii"));
  EXPECT_TRUE(sinklab::is_valid_utf8("Z\xC3\xBCrich \xE6\x97\xA5 \xF0\x9F\x99\x82"));
  EXPECT_FALSE(sinklab::is_valid_utf8("\xC3"));              // truncated
  EXPECT_FALSE(sinklab::is_valid_utf8("\x80"));              // stray continuation
  EXPECT_FALSE(sinklab::is_valid_utf8("\xC0\x80"));          // overlong
  EXPECT_FALSE(sinklab::is_valid_utf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(sinklab::is_valid_utf8("\xF4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_EQ(sinklab::first_invalid_utf8("ab\xFF" "c"), 2u);
}

// ---------------------------------------------------------------- pre-tokenizers
TEST(PreTokenizer, SmollmIsolatesDigitsThenGpt2) {
  Tokenizer t(tiny_bpe({}, "smollm"));
  using V = std::vector<std::string>;
  EXPECT_EQ(t.pretokenize("Hello world"), (V{"Hello", " world"}));
  EXPECT_EQ(t.pretokenize("year 2024!"), (V{"year", " ", "2", "0", "2", "4", "!"}));
  EXPECT_EQ(t.pretokenize("x1y22"), (V{"x", "1", "y", "2", "2"}));
  EXPECT_EQ(t.pretokenize("it's we'll"), (V{"it", "'s", " we", "'ll"}));
  // \s+(?!\S): a whitespace run before a word leaves its last space to the word.
  EXPECT_EQ(t.pretokenize("a   b"), (V{"a", "  ", " b"}));
  EXPECT_EQ(t.pretokenize("a\n\nb"), (V{"a", "\n", "\n", "b"}));
  EXPECT_EQ(t.pretokenize("end  "), (V{"end", "  "}));
  EXPECT_EQ(t.pretokenize("  (x)"), (V{" ", " (", "x", ")"}));
  // Unicode letters and numbers by category; U+3000 and U+0085 are whitespace.
  EXPECT_EQ(t.pretokenize("Z\xC3\xBCrich \xD9\xA3"), (V{"Z\xC3\xBCrich", " ", "\xD9\xA3"}));
  EXPECT_EQ(t.pretokenize("a\xE3\x80\x80" "b"), (V{"a", "\xE3\x80\x80", "b"}));
}

TEST(PreTokenizer, Gpt2KeepsNumberRuns) {
  Tokenizer t(tiny_bpe({}, "gpt2"));
  using V = std::vector<std::string>;
  EXPECT_EQ(t.pretokenize("year 2024!"), (V{"year", " 2024", "!"}));
  EXPECT_EQ(t.pretokenize("a--b"), (V{"a", "--", "b"}));
}

TEST(PreTokenizer, Llama3AndQwen2) {
  Tokenizer l3(tiny_bpe({}, "llama3"));
  Tokenizer q2(tiny_bpe({}, "qwen2"));
  using V = std::vector<std::string>;
  EXPECT_EQ(l3.pretokenize("year 12345"), (V{"year", " ", "123", "45"}));
  EXPECT_EQ(q2.pretokenize("year 123"), (V{"year", " ", "1", "2", "3"}));
  EXPECT_EQ(l3.pretokenize("IT'S ok"), (V{"IT", "'S", " ok"}));
}

TEST(PreTokenizer, UnknownNameIsAnInputError) {
  EXPECT_THROW(Tokenizer(tiny_bpe({}, "no-such-pre")), sinklab::InputError);
  EXPECT_THROW(sinklab::pretokenizer_info("nope"), sinklab::InputError);
}

// ---------------------------------------------------------------- BPE
TEST(Bpe, MergesApplyByRankLeftmostFirst) {
  // Ranks: "a b" first, then "ab c"; "b c" ranks after both.
  Tokenizer t(tiny_bpe({"a b", "ab c", "b c"}));
  const int32_t ab = t.token_id("ab"), abc = t.token_id("abc"), bc = t.token_id("bc");
  ASSERT_GE(ab, 0);
  EXPECT_EQ(t.encode("abc"), (Ids{abc}));
  EXPECT_EQ(t.encode("bc"), (Ids{bc}));
  EXPECT_EQ(t.encode("abab"), (Ids{ab, ab}));
  // Tie on the same rank: the leftmost pair merges first ("aaa" -> "aa" + "a").
  Tokenizer t2(tiny_bpe({"a a"}));
  EXPECT_EQ(pieces(t2, t2.encode("aaa")), (std::vector<std::string>{"aa", "a"}));
}

TEST(Bpe, SpacesAndBytesUseTheGpt2Table) {
  Tokenizer t(tiny_bpe({"\xC4\xA0 a"}));  // "Ġ a": space + a
  const Ids ids = t.encode(" a\n\xC3\xA9");
  ASSERT_EQ(ids.size(), 4u);
  EXPECT_EQ(t.token_text(ids[0]), "\xC4\xA0" "a");
  EXPECT_EQ(t.token_to_piece(ids[0]), " a");
  EXPECT_EQ(t.token_text(ids[1]), "\xC4\x8A");  // '\n' -> U+010A
  EXPECT_EQ(t.decode(ids), " a\n\xC3\xA9");
}

TEST(Bpe, SpecialTokensOnlyWhenAsked) {
  TokenizerData d = tiny_bpe({});
  d.tokens.push_back("<|im_start|>");
  d.token_types.push_back(3);
  d.tokens.push_back("<|user|>");
  d.token_types.push_back(4);  // user-defined: always matched
  Tokenizer t(d);
  const int32_t im = t.token_id("<|im_start|>"), user = t.token_id("<|user|>");
  EncodeOptions sp;
  sp.parse_special = true;
  EXPECT_EQ(t.encode("<|im_start|>x", sp), (Ids{im, t.token_id("x")}));
  const Ids plain = t.encode("<|im_start|>x");
  EXPECT_EQ(plain.size(), 13u);  // every character on its own: no merges here
  EXPECT_EQ(t.decode(plain), "<|im_start|>x");
  EXPECT_EQ(t.encode("a<|user|>b"), (Ids{t.token_id("a"), user, t.token_id("b")}));
  // decode(skip_special) drops control tokens but keeps user-defined ones.
  EXPECT_EQ(t.decode(t.encode("<|im_start|>a<|user|>", sp), true), "a<|user|>");
}

TEST(Bpe, BosEosFollowDefaultsAndOverrides) {
  TokenizerData d = tiny_bpe({});
  d.add_bos = true;
  Tokenizer t(d);
  EXPECT_EQ(t.encode("a"), (Ids{0, t.token_id("a")}));
  EncodeOptions o;
  o.add_bos = false;
  o.add_eos = true;
  EXPECT_EQ(t.encode("a", o), (Ids{t.token_id("a"), 0}));
  EXPECT_EQ(t.encode(""), (Ids{0}));
  d.bos_id = -1;
  Tokenizer nobos(d);
  EXPECT_THROW(nobos.encode("a"), sinklab::InputError);
}

TEST(Bpe, InvalidUtf8BecomesReplacementCharacter) {
  Tokenizer t(tiny_bpe({}));
  // Each invalid byte turns into U+FFFD (EF BF BD), as in llama.cpp.
  const Ids ids = t.encode("a\xFF" "b");
  EXPECT_EQ(t.decode(ids), "a\xEF\xBF\xBD" "b");
}

TEST(Bpe, BadDataIsAnInputError) {
  TokenizerData d = tiny_bpe({});
  d.token_types.pop_back();
  EXPECT_THROW(Tokenizer{d}, sinklab::InputError);
  d = tiny_bpe({});
  d.bos_id = 100000;
  EXPECT_THROW(Tokenizer{d}, sinklab::InputError);
  d = tiny_bpe({});
  d.model = "bert";
  EXPECT_THROW(Tokenizer{d}, sinklab::InputError);
  d = tiny_bpe({});
  d.tokens.clear();
  d.token_types.clear();
  EXPECT_THROW(Tokenizer{d}, sinklab::InputError);
  Tokenizer t(tiny_bpe({}));
  EXPECT_THROW(t.decode({-1}), sinklab::InputError);
  EXPECT_THROW(t.token_to_piece(1 << 20), sinklab::InputError);
}

// ---------------------------------------------------------------- SentencePiece-style
namespace {

TokenizerData spm_from_json(const nlohmann::json& j) {
  TokenizerData d;
  d.model = "llama";
  d.tokens = j.at("tokens").get<std::vector<std::string>>();
  d.scores = j.at("scores").get<std::vector<float>>();
  d.token_types = j.at("token_types").get<std::vector<int32_t>>();
  d.bos_id = j.at("bos_id");
  d.eos_id = j.at("eos_id");
  d.unk_id = j.at("unk_id");
  d.add_bos = false;
  d.add_space_prefix = true;
  return d;
}

}  // namespace

TEST(Spm, MatchesSentencePieceOnATinyTrainedModel) {
  const auto j = nlohmann::json::parse(slurp(std::string(SINKLAB_TEST_DATA) + "/tokenizer/spm_tiny.json"));
  Tokenizer t(spm_from_json(j));
  int checked = 0;
  for (const auto& c : j.at("cases")) {
    if (!c.contains("ids")) continue;  // cases added for llama.cpp only
    const std::string text = c.at("text");
    if (text.find("<sep>") != std::string::npos) continue;  // see SpecialTokenPrependsSpace
    const Ids want = c.at("ids").get<Ids>();
    EXPECT_EQ(t.encode(text), want) << "text: '" << text << "'";
    EXPECT_EQ(t.decode(want), c.at("decoded").get<std::string>()) << "text: '" << text << "'";
    ++checked;
  }
  EXPECT_GE(checked, 15);
}

// The same vocabulary written to a vocabulary-only GGUF and tokenized by llama.cpp
// (tests/tools/spm_llamacpp_reference.py): every case, with and without special
// tokens and BOS.
TEST(Spm, MatchesLlamaCppOnTheTinyModel) {
  const auto j = nlohmann::json::parse(slurp(std::string(SINKLAB_TEST_DATA) + "/tokenizer/spm_tiny.json"));
  Tokenizer t(spm_from_json(j));
  EncodeOptions special;
  special.add_bos = true;
  special.parse_special = true;
  int checked = 0;
  for (const auto& c : j.at("cases")) {
    if (!c.contains("llamacpp_ids")) continue;
    const std::string text = c.at("text");
    EXPECT_EQ(t.encode(text), c.at("llamacpp_ids").get<Ids>()) << "text: '" << text << "'";
    EXPECT_EQ(t.encode(text, special), c.at("llamacpp_ids_special").get<Ids>()) << "text: '" << text << "'";
    ++checked;
  }
  EXPECT_GE(checked, 20);
}

TEST(Spm, SpecialTokenPrependsSpaceLikeLlamaCpp) {
  const auto j = nlohmann::json::parse(slurp(std::string(SINKLAB_TEST_DATA) + "/tokenizer/spm_tiny.json"));
  Tokenizer t(spm_from_json(j));
  const int32_t sep = t.token_id("<sep>");
  ASSERT_EQ(t.token_type(sep), TokenType::UserDefined);
  // llama.cpp: the fragment after a special token gets the space prefix too.
  const Ids ids = t.encode("a<sep>b");
  ASSERT_GE(ids.size(), 3u);
  EXPECT_EQ(ids[1], sep);
  EXPECT_EQ(ids[2], t.encode("b")[0]);
  EncodeOptions o;
  o.add_bos = true;
  EXPECT_EQ(t.encode("a", o)[0], 1);
}

TEST(Spm, HandBuiltVocabularyScoresAndByteFallback) {
  // "▁" = U+2581. Scores decide which pair merges first.
  TokenizerData d;
  d.model = "llama";
  d.tokens = {"<unk>", "<s>", "</s>", "\xE2\x96\x81", "a", "b", "c", "ab", "bc", "\xE2\x96\x81" "a", "abc"};
  d.scores = {0, 0, 0, -1, -2, -2, -2, -5, -1, -3, -0.5};
  d.token_types = {2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1};
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    d.tokens.push_back(buf);
    d.scores.push_back(0);
    d.token_types.push_back(6);
  }
  d.bos_id = 1;
  d.eos_id = 2;
  d.unk_id = 0;
  d.add_bos = true;
  Tokenizer t(d);
  const auto id = [&](const char* s) { return t.token_id(s); };
  // "▁abc": pairs ▁a(-3) ab(-5) bc(-1): bc first, then a+bc = abc (-0.5) beats ▁a.
  EXPECT_EQ(t.encode("abc"), (Ids{1, id("\xE2\x96\x81"), id("abc")}));
  // "▁ab": ▁a(-3) beats ab(-5); "▁ab" is no token.
  EXPECT_EQ(t.encode("ab"), (Ids{1, id("\xE2\x96\x81" "a"), id("b")}));
  // Without the prefix space: "abc" (ab -5 vs bc -1 -> bc, then a+bc = abc).
  EncodeOptions o;
  o.add_bos = false;
  TokenizerData d2 = d;
  d2.add_space_prefix = false;
  Tokenizer t2(d2);
  EXPECT_EQ(t2.encode("abc", o), (Ids{id("abc")}));
  // Byte fallback: 'z' and 'é' are not in the vocabulary.
  const Ids z = t2.encode("z\xC3\xA9", o);
  EXPECT_EQ(z, (Ids{id("<0x7A>"), id("<0xC3>"), id("<0xA9>")}));
  EXPECT_EQ(t2.decode(z), "z\xC3\xA9");
  EXPECT_EQ(t.decode(t.encode("ab c"), true), "ab c");  // BOS skipped, prefix space removed
  EXPECT_EQ(t.decode(t.encode("ab c")), "<s>ab c");
}

// ---------------------------------------------------------------- SmolLM2 (GGUF)
TEST(Smollm2, LoadsFromGguf) {
  NEED_SMOLLM2();
  EXPECT_EQ(tok->model(), "gpt2");
  EXPECT_EQ(tok->pre(), "smollm");
  EXPECT_EQ(tok->vocab_size(), 49152u);
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_id(), 2);
  EXPECT_FALSE(tok->add_bos());  // tokenizer.ggml.add_bos_token = false
  EXPECT_EQ(tok->token_type(1), TokenType::Control);
  EXPECT_EQ(tok->token_text(1), "<|im_start|>");
}

TEST(Smollm2, ChatTemplateAndRoundTrip) {
  NEED_SMOLLM2();
  EncodeOptions sp;
  sp.parse_special = true;
  const Ids ids = tok->encode("<|im_start|>user\nHi!<|im_end|>\n", sp);
  ASSERT_GE(ids.size(), 4u);
  EXPECT_EQ(ids.front(), 1);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 2), 1);
  const std::string text = "Z\xC3\xBCrich 2024: x = [i**2 for i in range(10)]  # \xF0\x9F\x99\x82\n\ttabs";
  EXPECT_EQ(tok->decode(tok->encode(text)), text);
}

// Every document of the golden file: the ids llama.cpp gave (via llama-cpp-python,
// tests/tools/llamacpp_reference.py), id for id.
TEST(Smollm2, MatchesLlamaCppGoldenTokens) {
  NEED_SMOLLM2();
  // SINKLAB_TOKENS_GOLDEN: another golden made by the same script (e.g. whole corpora).
  const char* env_golden = std::getenv("SINKLAB_TOKENS_GOLDEN");
  const std::string golden_path =
      env_golden ? env_golden : std::string(SINKLAB_TEST_DATA) + "/golden/smollm2_tokens.json";
  if (!file_exists(golden_path)) GTEST_SKIP() << golden_path << " is absent";
  const auto g = nlohmann::json::parse(slurp(golden_path));
  EncodeOptions o;
  o.add_bos = g.at("add_bos").get<bool>();
  o.parse_special = g.at("special").get<bool>();
  size_t n_docs = 0, n_tokens = 0;
  for (const auto& corpus : g.at("corpora")) {
    const std::string path = std::string(SINKLAB_DATA_DIR) + "/domains/" + corpus.at("file").get<std::string>();
    if (!file_exists(path)) GTEST_SKIP() << path << " is absent";
    std::ifstream in(path);
    std::string line;
    size_t idx = 0;
    const auto& docs = corpus.at("docs");
    for (const auto& doc : docs) {
      const size_t want_idx = doc.at("index");
      while (idx <= want_idx && std::getline(in, line)) ++idx;
      ASSERT_EQ(idx, want_idx + 1) << path << " has fewer lines than the golden expects";
      std::string text = nlohmann::json::parse(line).at("text");
      const size_t n_bytes = doc.at("n_bytes");
      ASSERT_LE(n_bytes, text.size());
      text.resize(n_bytes);
      ASSERT_EQ(fnv1a(text), std::stoull(doc.at("fnv1a").get<std::string>(), nullptr, 16))
          << path << " line " << want_idx << " changed since the golden was made";
      const Ids want = doc.at("ids").get<Ids>();
      const Ids got = tok->encode(text, o);
      if (got != want) {
        size_t k = 0;
        while (k < got.size() && k < want.size() && got[k] == want[k]) ++k;
        std::string ctx;
        for (size_t i = (k > 3 ? k - 3 : 0); i < k + 3 && i < want.size(); ++i)
          ctx += "[" + tok->display_piece(want[i]) + "]";
        ADD_FAILURE() << corpus.at("file").get<std::string>() << " doc " << want_idx << ": first difference at token "
                      << k << " (got " << (k < got.size() ? got[k] : -1) << ", llama.cpp "
                      << (k < want.size() ? want[k] : -1) << "), llama.cpp pieces around it: " << ctx;
      }
      ++n_docs;
      n_tokens += want.size();
    }
  }
  EXPECT_GE(n_docs, 100u);
  std::printf("checked %zu documents, %zu tokens against llama.cpp\n", n_docs, n_tokens);
}

// The prompts of the logits golden were tokenized by llama.cpp with special tokens
// parsed (chat template markers) and add_special=True.
TEST(Smollm2, MatchesLlamaCppOnTheGoldenPrompts) {
  NEED_SMOLLM2();
  const std::string golden_path = std::string(SINKLAB_TEST_DATA) + "/golden/smollm2_logits.json";
  if (!file_exists(golden_path)) GTEST_SKIP() << golden_path << " is absent";
  const auto g = nlohmann::json::parse(slurp(golden_path));
  EncodeOptions o;
  o.parse_special = true;
  int n = 0;
  for (const auto& p : g.at("prompts")) {
    EXPECT_EQ(tok->encode(p.at("text").get<std::string>(), o), p.at("ids").get<Ids>())
        << "prompt: " << p.at("text").get<std::string>();
    ++n;
  }
  EXPECT_GE(n, 20);
}

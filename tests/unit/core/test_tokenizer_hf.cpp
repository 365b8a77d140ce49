// Hugging Face tokenizers (data/tokenizer_hf.h): tokenizer.json byte-level BPE and
// SentencePiece tokenizer.model, checked id for id against transformers' goldens
// (tests/tools/make_hf_tokenizers.py) on the corpora in data/domains/, and bad input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/tokenizer.h"
#include "data/tokenizer_hf.h"
#include "io/error.h"

using sinklab::EncodeOptions;
using sinklab::InputError;
using sinklab::Tokenizer;
using sinklab::TokenizerData;
using sinklab::TokenType;
using Ids = std::vector<int32_t>;
namespace fs = std::filesystem;

namespace {

const std::string kDir = std::string(SINKLAB_TEST_DATA) + "/hf_tok";

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spit(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  out << data;
}

bool file_exists(const std::string& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string cache_dir() {
  if (const char* c = std::getenv("SINKLAB_CACHE")) return c;
  if (const char* x = std::getenv("XDG_CACHE_HOME")) return std::string(x) + "/sinklab";
  if (const char* h = std::getenv("HOME")) return std::string(h) + "/.cache/sinklab";
  return "/nonexistent";
}

// A fresh scratch directory, removed at the end of the test.
struct Scratch {
  fs::path dir;
  Scratch() {
    dir = fs::temp_directory_path() /
          ("sinklab_hftok_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string put(const std::string& name, const std::string& data) const {
    const std::string p = (dir / name).string();
    spit(p, data);
    return p;
  }
};

// Every document of a golden file: the ids transformers gave, id for id.
void check_golden(const Tokenizer& tok, const std::string& golden_path, size_t min_docs) {
  ASSERT_TRUE(file_exists(golden_path)) << golden_path;
  const auto g = nlohmann::json::parse(slurp(golden_path));
  EncodeOptions o;
  o.parse_special = g.at("special").get<bool>();
  size_t n_docs = 0, n_tokens = 0, n_bad = 0;
  for (const auto& corpus : g.at("corpora")) {
    const std::string path = std::string(SINKLAB_DATA_DIR) + "/domains/" + corpus.at("file").get<std::string>();
    if (!file_exists(path)) GTEST_SKIP() << path << " is absent";
    std::ifstream in(path);
    std::string line;
    size_t idx = 0;
    for (const auto& doc : corpus.at("docs")) {
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
      const Ids got = tok.encode(text, o);
      if (got != want) {
        ++n_bad;
        size_t k = 0;
        while (k < got.size() && k < want.size() && got[k] == want[k]) ++k;
        std::string ctx;
        for (size_t i = (k > 3 ? k - 3 : 0); i < k + 3 && i < want.size(); ++i)
          ctx += "[" + tok.display_piece(want[i]) + "]";
        ADD_FAILURE() << corpus.at("file").get<std::string>() << " doc " << want_idx << ": first difference at token "
                      << k << " (got " << (k < got.size() ? got[k] : -1) << ", transformers "
                      << (k < want.size() ? want[k] : -1) << "), transformers pieces around it: " << ctx;
      }
      // Decoding gives the text back (no special tokens in these corpora).
      EXPECT_EQ(tok.decode(got, /*skip_special=*/true), text) << corpus.at("file").get<std::string>() << " doc "
                                                               << want_idx;
      ++n_docs;
      n_tokens += want.size();
    }
  }
  EXPECT_GE(n_docs, min_docs);
  std::printf("%s: %zu documents, %zu tokens, %zu differ from transformers\n", golden_path.c_str(), n_docs,
              n_tokens, n_bad);
}

std::string one_line_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    return m;
  }
  ADD_FAILURE() << "no InputError";
  return std::string();
}

// A tiny valid tokenizer.json to break in the bad-input tests.
nlohmann::json tiny_json() {
  using nlohmann::json;
  json vocab = json::object();
  const char* toks[] = {"a", "b", "c", "\xC4\xA0", "ab", "abc", "\xC4\xA0" "a"};
  for (int i = 0; i < 7; ++i) vocab[toks[i]] = i;
  return json{{"version", "1.0"},
              {"added_tokens", json::array({json{{"id", 7}, {"content", "<eos>"}, {"special", true}}})},
              {"normalizer", nullptr},
              {"pre_tokenizer", json{{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
              {"post_processor", nullptr},
              {"model", json{{"type", "BPE"},
                             {"vocab", vocab},
                             {"merges", json::array({"a b", json::array({"ab", "c"}), "\xC4\xA0 a"})}}}};
}

TokenizerData tiny_data(const nlohmann::json& j) { return sinklab::tokenizer_data_from_hf_json(j.dump(), "'t.json'"); }

}  // namespace

// ---------------------------------------------------------------- parity
TEST(HfTokenizer, Bpe2kMatchesTransformers) {
  auto tok = sinklab::tokenizer_from_hf_dir(kDir + "/bpe2k");
  ASSERT_TRUE(tok.has_value());
  EXPECT_EQ(tok->model(), "gpt2");
  EXPECT_EQ(tok->pre(), "ByteLevel");
  EXPECT_FALSE(tok->add_bos());
  EXPECT_EQ(tok->vocab_size(), 2001u);  // 2000 + one added token
  const int32_t user = tok->token_id("<user_word>");
  ASSERT_GE(user, 0);
  EXPECT_EQ(tok->token_type(user), TokenType::UserDefined);
  EXPECT_EQ(tok->token_type(tok->token_id("<|endoftext|>")), TokenType::Control);
  EXPECT_EQ(tok->eos_id(), tok->token_id("<|endoftext|>"));  // from tokenizer_config.json
  // A non-special added token is always matched; a special one only when asked.
  const Ids ids = tok->encode("x<user_word>y");
  EXPECT_EQ(std::count(ids.begin(), ids.end(), user), 1);
  EncodeOptions sp;
  sp.parse_special = true;
  EXPECT_EQ(tok->encode("<|endoftext|>", sp), Ids{tok->token_id("<|endoftext|>")});
  EXPECT_GT(tok->encode("<|endoftext|>").size(), 1u);
  check_golden(*tok, kDir + "/bpe2k.golden.json", 90);
}

TEST(HfTokenizer, Llama3StylePipelineWithPairMergesMatchesTransformers) {
  auto tok = sinklab::tokenizer_from_hf_dir(kDir + "/bpe2k_llama3");
  ASSERT_TRUE(tok.has_value());
  EXPECT_EQ(tok->pre(), "Split+ByteLevel");
  EXPECT_TRUE(tok->add_bos());
  EXPECT_EQ(tok->bos_id(), tok->token_id("<|begin_of_text|>"));
  EXPECT_EQ(tok->encode("hi").front(), tok->bos_id());
  const std::string j = slurp(kDir + "/bpe2k_llama3/tokenizer.json");
  EXPECT_NE(j.find("\"merges\": [[") == std::string::npos && j.find("\"merges\":[[") == std::string::npos, true)
      << "the committed file should use the [a, b] merge form";
  check_golden(*tok, kDir + "/bpe2k_llama3.golden.json", 90);
}

TEST(HfTokenizer, SentencePieceModelMatchesLlamaTokenizer) {
  auto tok = sinklab::tokenizer_from_hf_dir(kDir + "/spm1k");
  ASSERT_TRUE(tok.has_value());
  EXPECT_EQ(tok->model(), "llama");
  EXPECT_EQ(tok->vocab_size(), 1000u);
  EXPECT_TRUE(tok->add_bos());
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_id(), 2);
  EXPECT_EQ(tok->unk_id(), 0);
  EXPECT_EQ(tok->token_type(tok->token_id("<0x41>")), TokenType::Byte);
  // Byte fallback for characters the vocabulary lacks.
  const std::string text = "Z\xC3\xBCrich \xF0\x9F\x99\x82 \xE4\xB8\xAD";
  const Ids ids = tok->encode(text);
  EXPECT_EQ(ids.front(), 1);
  EXPECT_EQ(tok->decode(ids, /*skip_special=*/true), text);
  check_golden(*tok, kDir + "/spm1k.golden.json", 90);
}

// GPT-NeoX/Pythia/OLMo files normalize with NFC: bpe2k behind an NFC normalizer,
// on texts that NFC changes (composition, singletons, Hangul, mark reordering).
TEST(HfTokenizer, NfcNormalizerMatchesTransformers) {
  auto j = nlohmann::json::parse(slurp(kDir + "/bpe2k/tokenizer.json"));
  j["normalizer"] = {{"type", "NFC"}};
  const TokenizerData d = sinklab::tokenizer_data_from_hf_json(j.dump(), "'nfc.json'");
  EXPECT_EQ(d.normalizer, "NFC");
  const Tokenizer tok(d, "'nfc.json'");
  const Tokenizer plain(sinklab::tokenizer_data_from_hf_json(slurp(kDir + "/bpe2k/tokenizer.json"), "'b.json'"));
  const auto g = nlohmann::json::parse(slurp(kDir + "/bpe2k_nfc.cases.json"));
  size_t changed = 0;
  for (const auto& c : g.at("cases")) {
    const std::string text = c.at("text");
    const Ids want = c.at("ids").get<Ids>();
    EXPECT_EQ(tok.encode(text), want) << "'" << text << "'";
    if (plain.encode(text) != want) ++changed;
  }
  EXPECT_GE(changed, 5u);  // the cases do exercise the normalizer
  // NFC inside a Sequence is fine; anything more is not.
  j["normalizer"] = {{"type", "Sequence"}, {"normalizers", {{{"type", "NFC"}}}}};
  EXPECT_EQ(sinklab::tokenizer_data_from_hf_json(j.dump(), "'n.json'").normalizer, "NFC");
  j["normalizer"] = {{"type", "Sequence"}, {"normalizers", {{{"type", "NFC"}}, {{"type", "Lowercase"}}}}};
  EXPECT_NE(one_line_error([&] { sinklab::tokenizer_data_from_hf_json(j.dump(), "'n.json'"); }).find("unsupported normalizer"),
            std::string::npos);
}

// Special tokens written in the text: transformers' LlamaTokenizer puts the dummy
// prefix after each special token with legacy=true (as llama.cpp), only at the
// start of the text with legacy=false (tokenizer_config.json "legacy").
TEST(HfTokenizer, SentencePieceSpecialTokensLegacyAndNot) {
  const auto g = nlohmann::json::parse(slurp(kDir + "/spm1k.special_cases.json"));
  size_t n = 0;
  for (bool legacy : {true, false}) {
    Scratch s;
    fs::copy_file(kDir + "/spm1k/tokenizer.model", s.dir / "tokenizer.model");
    s.put("tokenizer_config.json", std::string("{\"legacy\": ") + (legacy ? "true" : "false") + "}");
    auto tok = sinklab::tokenizer_from_hf_dir(s.dir.string());
    ASSERT_TRUE(tok.has_value());
    EncodeOptions o;
    o.parse_special = true;
    for (const auto& c : g.at("cases")) {
      if (c.at("legacy").get<bool>() != legacy) continue;
      const std::string text = c.at("text");
      EXPECT_EQ(tok->encode(text, o), c.at("ids").get<Ids>()) << "legacy=" << legacy << " text '" << text << "'";
      ++n;
    }
  }
  EXPECT_EQ(n, 16u);
}

// SmolLM2's tokenizer as transformers converts it from the GGUF file: the file is
// ~2 MB and made by tests/tools/make_hf_tokenizers.py into the cache.
TEST(HfTokenizer, Smollm2FromGgufMatchesTransformers) {
  const std::string dir = cache_dir() + "/hf_tok/smollm2_gguf";
  if (!file_exists(dir + "/tokenizer.json"))
    GTEST_SKIP() << dir << "/tokenizer.json is absent (run tests/tools/make_hf_tokenizers.py --only smollm2)";
  auto tok = sinklab::tokenizer_from_hf_dir(dir);
  ASSERT_TRUE(tok.has_value());
  EXPECT_EQ(tok->vocab_size(), 49152u);
  check_golden(*tok, kDir + "/smollm2_gguf.golden.json", 90);
}

// ---------------------------------------------------------------- data details
TEST(HfTokenizer, TinyJsonReadsVocabMergesAndSpecials) {
  const TokenizerData d = tiny_data(tiny_json());
  ASSERT_EQ(d.tokens.size(), 8u);
  EXPECT_EQ(d.tokens[7], "<eos>");
  EXPECT_EQ(d.token_types[7], (int32_t)TokenType::Control);
  EXPECT_EQ(d.merges, (std::vector<std::string>{"a b", "ab c", "\xC4\xA0 a"}));
  ASSERT_EQ(d.pre_regexes.size(), 1u);
  const Tokenizer tok(d, "t");
  EXPECT_EQ(tok.encode("abc a"), (Ids{5, 6}));
  EXPECT_EQ(tok.decode(tok.encode("abc a")), "abc a");
}

TEST(HfTokenizer, PostProcessorAndConfigGiveBosEos) {
  auto j = tiny_json();
  j["post_processor"] = {{"type", "RobertaProcessing"}, {"cls", {"a", 0}}, {"sep", {"<eos>", 7}}};
  TokenizerData d = tiny_data(j);
  EXPECT_TRUE(d.add_bos && d.add_eos);
  EXPECT_EQ(d.bos_id, 0);
  EXPECT_EQ(d.eos_id, 7);
  j["post_processor"] = {{"type", "TemplateProcessing"},
                         {"single", {{{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                                     {{"SpecialToken", {{"id", "<eos>"}, {"type_id", 0}}}}}},
                         {"special_tokens", {{"<eos>", {{"id", "<eos>"}, {"ids", {7}}, {"tokens", {"<eos>"}}}}}}};
  d = tiny_data(j);
  EXPECT_FALSE(d.add_bos);
  EXPECT_TRUE(d.add_eos);
  EXPECT_EQ(d.eos_id, 7);
  // A Llama tokenizer class: tokenizer_config.json's flags win.
  const std::string config = R"({"tokenizer_class": "LlamaTokenizerFast", "add_eos_token": false,
                                 "add_bos_token": true, "bos_token": {"content": "a"}})";
  d = sinklab::tokenizer_data_from_hf_json(j.dump(), "'t.json'", config);
  EXPECT_TRUE(d.add_bos);
  EXPECT_FALSE(d.add_eos);
  EXPECT_EQ(d.bos_id, 0);
  // Class defaults when the keys are absent: Llama adds a BOS, GPT-NeoX nothing.
  d = sinklab::tokenizer_data_from_hf_json(tiny_json().dump(), "'t.json'",
                                           R"({"tokenizer_class": "LlamaTokenizerFast", "bos_token": "a"})");
  EXPECT_TRUE(d.add_bos);
  EXPECT_EQ(d.bos_id, 0);
  d = sinklab::tokenizer_data_from_hf_json(j.dump(), "'t.json'", R"({"tokenizer_class": "GPTNeoXTokenizer"})");
  EXPECT_FALSE(d.add_bos);
  EXPECT_FALSE(d.add_eos);
  EXPECT_EQ(d.eos_id, 7);
  // A class that does not rebuild the post-processor: the template stands.
  d = sinklab::tokenizer_data_from_hf_json(j.dump(), "'t.json'", R"({"tokenizer_class": "GPT2Tokenizer"})");
  EXPECT_TRUE(d.add_eos);
  EXPECT_NE(one_line_error([&] {
              sinklab::tokenizer_data_from_hf_json(tiny_json().dump(), "'t.json'",
                                                   R"({"tokenizer_class": "LlamaTokenizer"})", "'c.json'");
            }).find("'c.json': add_bos_token is set but there is no BOS token"),
            std::string::npos);
}

TEST(HfTokenizer, DirectoryWithoutTokenizerIsNullopt) {
  Scratch s;
  EXPECT_FALSE(sinklab::tokenizer_from_hf_dir(s.dir.string()).has_value());
  EXPECT_FALSE(sinklab::tokenizer_from_hf_dir((s.dir / "missing").string()).has_value());
}

TEST(HfTokenizer, SentencePieceStyleJsonFallsBackToTokenizerModel) {
  Scratch s;
  auto j = tiny_json();
  j["pre_tokenizer"] = nullptr;  // as Llama 2's converted tokenizer.json (Metaspace-like)
  s.put("tokenizer.json", j.dump());
  EXPECT_NE(one_line_error([&] { sinklab::tokenizer_from_hf_dir(s.dir.string()); }).find("not byte-level BPE"),
            std::string::npos);
  fs::copy_file(kDir + "/spm1k/tokenizer.model", s.dir / "tokenizer.model");
  auto tok = sinklab::tokenizer_from_hf_dir(s.dir.string());
  ASSERT_TRUE(tok.has_value());
  EXPECT_EQ(tok->model(), "llama");
}

// ---------------------------------------------------------------- bad input
TEST(HfTokenizer, MalformedJsonIsOneLineInputError) {
  using nlohmann::json;
  const auto err = [](const std::string& text) {
    return one_line_error([&] { sinklab::tokenizer_data_from_hf_json(text, "'t.json'"); });
  };
  const auto err_j = [&](const json& j) { return err(j.dump()); };
  EXPECT_NE(err("{not json").find("malformed JSON"), std::string::npos);
  EXPECT_NE(err("[1, 2]").find("not a JSON object"), std::string::npos);
  EXPECT_NE(err("{\"version\": \"1.0\"}").find("no \"model\""), std::string::npos);

  auto j = tiny_json();
  j["model"]["type"] = "WordPiece";
  EXPECT_NE(err_j(j).find("unsupported tokenizer model type 'WordPiece'"), std::string::npos);
  j = tiny_json();
  j["model"]["type"] = "Unigram";
  EXPECT_NE(err_j(j).find("'t.json'"), std::string::npos);

  j = tiny_json();
  j["model"]["merges"].push_back("a zz");
  EXPECT_NE(err_j(j).find("'zz', which is not in the vocabulary"), std::string::npos);
  j = tiny_json();
  j["model"]["merges"].push_back("b c");  // "bc" is not a token
  EXPECT_NE(err_j(j).find("'bc', which is not in the vocabulary"), std::string::npos);
  j = tiny_json();
  j["model"]["merges"].push_back("abc");
  EXPECT_NE(err_j(j).find("not two tokens"), std::string::npos);
  j = tiny_json();
  j["model"]["merges"].push_back(json::array({"a"}));
  EXPECT_NE(err_j(j).find("neither"), std::string::npos);

  j = tiny_json();
  j["normalizer"] = {{"type", "NFKC"}};
  EXPECT_NE(err_j(j).find("unsupported normalizer 'NFKC'"), std::string::npos);
  j = tiny_json();
  j["normalizer"] = {{"type", "Sequence"}, {"normalizers", json::array()}};
  EXPECT_NO_THROW(tiny_data(j));  // an empty Sequence does nothing

  j = tiny_json();
  j["pre_tokenizer"] = {{"type", "Metaspace"}};
  EXPECT_NE(err_j(j).find("unsupported pre_tokenizer: Metaspace"), std::string::npos);
  j = tiny_json();
  j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "("}}}, {"behavior", "Isolated"}};
  j["pre_tokenizer"] = {{"type", "Sequence"},
                        {"pretokenizers", {j["pre_tokenizer"], {{"type", "ByteLevel"}, {"use_regex", false}}}}};
  EXPECT_NE(one_line_error([&] { Tokenizer(tiny_data(j), "'t.json'"); }).find("does not compile"),
            std::string::npos);
  j = tiny_json();
  j["pre_tokenizer"]["add_prefix_space"] = true;
  EXPECT_NE(err_j(j).find("add_prefix_space"), std::string::npos);

  j = tiny_json();
  j["model"]["vocab"]["zz"] = 100;
  EXPECT_NE(err_j(j).find("out of range"), std::string::npos);
  j = tiny_json();
  j["model"]["vocab"]["zz"] = 3;
  EXPECT_NE(err_j(j).find("two tokens"), std::string::npos);
  j = tiny_json();
  j["model"]["vocab"]["zz"] = "x";
  EXPECT_NE(err_j(j).find("not an integer"), std::string::npos);
  j = tiny_json();
  j["model"]["dropout"] = 0.1;
  EXPECT_NE(err_j(j).find("dropout"), std::string::npos);
  j = tiny_json();
  j["post_processor"] = {{"type", "BlahProcessing"}};
  EXPECT_NE(err_j(j).find("unsupported post_processor"), std::string::npos);
  EXPECT_NE(one_line_error([] {
              sinklab::tokenizer_data_from_hf_json(tiny_json().dump(), "'t.json'", "{bad", "'cfg.json'");
            }).find("'cfg.json'"),
            std::string::npos);
}

TEST(HfTokenizer, TruncatedOrBogusTokenizerModelIsOneLineInputError) {
  Scratch s;
  const std::string model = slurp(kDir + "/spm1k/tokenizer.model");
  ASSERT_GT(model.size(), 1000u);
  for (size_t cut : {size_t(0), size_t(1), size_t(7), model.size() / 3, model.size() / 2, model.size() - 1}) {
    const std::string p = s.put("tokenizer.model", model.substr(0, cut));
    const std::string m = one_line_error([&] { sinklab::tokenizer_from_spm_model(p); });
    EXPECT_NE(m.find(p), std::string::npos) << "cut " << cut << ": " << m;
  }
  const std::string p = s.put("tokenizer.model", "this is not a protobuf at all, just text\n");
  EXPECT_NE(one_line_error([&] { sinklab::tokenizer_from_spm_model(p); }).find(p), std::string::npos);
  const std::string gg = s.put("tokenizer.json", "{\"model\": ");
  EXPECT_NE(one_line_error([&] { sinklab::tokenizer_from_hf_json(gg); }).find("malformed JSON"), std::string::npos);
}

// LmCorpus (src/data/lm_corpus.h): byte tokens, where BOS goes, the held-out split,
// reproducible windows, and the one-line errors for unusable corpora.
#include <filesystem>
#include <fstream>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "data/lm_corpus.h"
#include "data/tokenizer.h"
#include "data/tokenizer_hf.h"
#include "io/error.h"

namespace fs = std::filesystem;
using namespace sinklab;

namespace {

struct TempDir {
  fs::path p;
  TempDir() {
    p = fs::temp_directory_path() / ("sinklab-lm-" + std::to_string(::getpid()) + "-" +
                                     std::to_string(reinterpret_cast<uintptr_t>(this)));
    fs::create_directories(p);
  }
  ~TempDir() { fs::remove_all(p); }
  std::string write(const std::string& name, const std::string& content) const {
    fs::create_directories((p / name).parent_path());
    std::ofstream(p / name, std::ios::binary) << content;
    return (p / name).string();
  }
};

std::string jsonl(int n, const std::string& stem) {
  std::string s;
  for (int i = 0; i < n; ++i) s += nlohmann::json{{"text", stem + " number " + std::to_string(i) + "."}}.dump() + "\n";
  return s;
}

}  // namespace

TEST(LmCorpus, BytesAndBosAtSequenceStart) {
  TempDir t;
  auto f = t.write("a.jsonl", jsonl(200, "The quick brown fox"));
  LmCorpus c({"prose=" + f}, BosMode::Sequence, 0.05, 16, 4);
  ASSERT_EQ(c.vocab_size(), 258);
  ASSERT_EQ(c.domains().size(), 1u);
  const auto& d = c.domains()[0];
  EXPECT_GE(d.val_texts.size(), 1u);
  EXPECT_EQ(d.train_docs + (int64_t)d.val_texts.size(), 200);
  Batch b;
  c.generate(7, 3, 4, b);
  ASSERT_EQ(b.tokens.size(), 4u * 17);
  std::set<int64_t> seen;
  for (int r = 0; r < 4; ++r) {
    EXPECT_EQ(b.tokens[r * 17], LmCorpus::kBos) << "row " << r;
    for (int i = 1; i < 17; ++i) {
      const auto v = b.tokens[r * 17 + i];
      EXPECT_TRUE((v >= 0 && v < 256) || v == LmCorpus::kEos) << v;  // no BOS inside
      seen.insert(v);
    }
  }
  EXPECT_TRUE(seen.count('o'));
  // A function of (seed, step): the same batch again, another for the next step.
  Batch b2, b3;
  c.generate(7, 3, 4, b2);
  c.generate(7, 4, 4, b3);
  EXPECT_EQ(b.tokens, b2.tokens);
  EXPECT_NE(b.tokens, b3.tokens);
}

TEST(LmCorpus, DocumentAndNoneModes) {
  TempDir t;
  auto f = t.write("a.jsonl", jsonl(100, "abc"));
  LmCorpus doc({"x=" + f}, BosMode::Document, 0.05, 32, 2);
  LmCorpus none({"x=" + f}, BosMode::None, 0.05, 32, 2);
  Batch bd, bn;
  doc.generate(1, 0, 2, bd);
  none.generate(1, 0, 2, bn);
  int bos_doc = 0, eos_doc = 0, bos_none = 0, eos_none = 0;
  for (auto v : bd.tokens) bos_doc += v == LmCorpus::kBos, eos_doc += v == LmCorpus::kEos;
  for (auto v : bn.tokens) bos_none += v == LmCorpus::kBos, eos_none += v == LmCorpus::kEos;
  EXPECT_GT(bos_doc, 0);  // documents are ~20 bytes: a 33-token window crosses one
  EXPECT_EQ(eos_doc, 0);
  EXPECT_EQ(bos_none, 0);
  EXPECT_GT(eos_none, 0);
}

TEST(LmCorpus, DirectoriesTakeTextFilesAndSkipInvalidUtf8) {
  TempDir t;
  for (int i = 0; i < 30; ++i) t.write("src/m" + std::to_string(i) + ".py", "def f():\n    return " + std::to_string(i) + "\n");
  t.write("src/bin.py", std::string("x = '\xff\xfe'\n"));
  t.write("src/image.png", "not text");
  LmCorpus c({"code=" + (t.p / "src").string()}, BosMode::Sequence, 0.1, 8, 2);
  const auto& d = c.domains()[0];
  EXPECT_EQ(d.skipped_files, 1);
  EXPECT_EQ(d.train_docs + (int64_t)d.val_texts.size(), 30);
}

TEST(LmCorpus, ValidationWindowsAreFixed) {
  TempDir t;
  auto f = t.write("a.jsonl", jsonl(400, "Validation text goes here"));
  LmCorpus c({"p=" + f}, BosMode::Sequence, 0.2, 16, 2);
  int r1 = 0, r2 = 0;
  auto w1 = c.val_windows(0, 8, &r1), w2 = c.val_windows(0, 8, &r2);
  EXPECT_EQ(r1, 8);
  EXPECT_EQ(w1, w2);
  for (int r = 0; r < r1; ++r) EXPECT_EQ(w1[r * 17], LmCorpus::kBos);
}

TEST(LmCorpus, UnusableCorporaAreOneLineErrors) {
  TempDir t;
  auto empty = t.write("empty.jsonl", "\n");
  auto bad = t.write("bad.txt", std::string("ok then \xc3\x28 broken"));
  auto one = t.write("one.jsonl", jsonl(1, "only"));
  auto small = t.write("small.jsonl", jsonl(20, "x"));
  auto expect_error = [](auto fn, const std::string& part) {
    try {
      fn();
      ADD_FAILURE() << "no error; expected " << part;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    }
  };
  expect_error([&] { LmCorpus({}, BosMode::Sequence, 0.1, 8, 2); }, "data.corpus is empty");
  expect_error([&] { LmCorpus({"e=" + empty}, BosMode::Sequence, 0.1, 8, 2); }, "no non-empty");
  expect_error([&] { LmCorpus({"b=" + bad}, BosMode::Sequence, 0.1, 8, 2); }, "is not UTF-8");
  expect_error([&] { LmCorpus({"o=" + one}, BosMode::Sequence, 0.1, 8, 2); }, "cannot be split");
  expect_error([&] { LmCorpus({"s=" + small}, BosMode::Sequence, 0.1, 64, 64); }, "fewer than one batch");
  expect_error([&] { LmCorpus({"m=" + (t.p / "missing").string()}, BosMode::Sequence, 0.1, 8, 2); },
               "neither a file nor a directory");
  expect_error([&] { parse_bos_mode("start"); }, "data.bos must be");
}

TEST(LmCorpus, ByteTokenizerJsonRoundTrips) {
  TempDir t;
  t.write("tok/tokenizer.json", byte_tokenizer_json(true));
  t.write("tok/tokenizer_config.json", byte_tokenizer_config_json(true, 128));
  Tokenizer tok = tokenizer_from_path((t.p / "tok" / "tokenizer.json").string());
  EXPECT_EQ(tok.vocab_size(), 258);
  EXPECT_EQ(tok.bos_id(), LmCorpus::kBos);
  const std::string text = "Hi \xc3\xa9\n\tx";  // a space, a 2-byte character, control bytes
  auto ids = tok.encode(text);
  ASSERT_EQ(ids.size(), text.size() + 1);
  EXPECT_EQ(ids[0], LmCorpus::kBos);
  for (size_t i = 0; i < text.size(); ++i) EXPECT_EQ(ids[i + 1], (unsigned char)text[i]) << i;
  std::vector<int32_t> body(ids.begin() + 1, ids.end());
  EXPECT_EQ(tok.decode(body), text);
}

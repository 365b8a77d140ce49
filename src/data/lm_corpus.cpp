#include "data/lm_corpus.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "data/corpus.h"
#include "data/rng.h"
#include "data/tokenizer.h"
#include "io/error.h"
#include "io/files.h"

namespace fs = std::filesystem;

namespace sinklab {

BosMode parse_bos_mode(const std::string& s) {
  if (s == "sequence") return BosMode::Sequence;
  if (s == "document") return BosMode::Document;
  if (s == "none") return BosMode::None;
  fail("data.bos must be sequence, document or none, got '" + s + "'");
}

std::string bos_mode_name(BosMode m) {
  return m == BosMode::Sequence ? "sequence" : m == BosMode::Document ? "document" : "none";
}

namespace {

const std::set<std::string> kTextExtensions = {".txt", ".md",  ".rst", ".py",   ".c",  ".h",  ".cc", ".cpp",
                                               ".hpp", ".rs",  ".go",  ".java", ".js", ".ts", ".sh", ".tex"};

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

// The documents of one domain, in a fixed order (directory entries sorted by path).
std::vector<std::string> read_documents(const std::string& path, const std::string& what, int64_t* skipped) {
  std::error_code ec;
  std::vector<std::string> docs;
  if (fs::is_directory(path, ec)) {
    std::vector<std::string> files;
    for (auto it = fs::recursive_directory_iterator(path, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file(ec) && kTextExtensions.count(it->path().extension().string()))
        files.push_back(it->path().string());
    }
    require(!ec, fmt::format("{}: cannot list '{}': {}", what, path, ec.message()));
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      std::string t = read_file(f);
      if (t.empty()) continue;
      if (!is_valid_utf8(t)) {
        ++*skipped;
        continue;
      }
      docs.push_back(std::move(t));
    }
  } else {
    require(fs::is_regular_file(path, ec), fmt::format("{}: '{}' is neither a file nor a directory", what, path));
    if (fs::path(path).extension() == ".jsonl") docs = read_jsonl_corpus(path);
    else docs.push_back(read_file(path));
    for (size_t i = 0; i < docs.size(); ++i)
      require(is_valid_utf8(docs[i]), fmt::format("{}: '{}' is not UTF-8 (document {}, byte {})", what, path, i + 1,
                                                  first_invalid_utf8(docs[i])));
  }
  docs.erase(std::remove_if(docs.begin(), docs.end(), [](const std::string& d) { return d.empty(); }), docs.end());
  require(!docs.empty(), fmt::format("{}: '{}' holds no non-empty text document", what, path));
  return docs;
}

void append_doc(std::vector<uint16_t>& s, const std::string& text, BosMode bos) {
  if (bos == BosMode::Document) s.push_back(LmCorpus::kBos);
  for (unsigned char c : text) s.push_back(c);
  if (bos != BosMode::Document) s.push_back(LmCorpus::kEos);
}

}  // namespace

LmCorpus::LmCorpus(const std::vector<std::string>& specs, BosMode bos, double val_frac, int seq_len, int batch_size)
    : bos_(bos), T_(seq_len) {
  require(!specs.empty(), "data.corpus is empty: give at least one \"NAME=PATH\" (a .jsonl, a text file or a directory)");
  require(val_frac > 0 && val_frac < 1, fmt::format("data.val_frac = {} must be in (0, 1)", val_frac));
  // Training documents of every domain, interleaved in a fixed pseudo-random order.
  std::vector<std::pair<uint64_t, const std::string*>> order;
  std::vector<std::vector<std::string>> all;
  for (const auto& d : parse_domain_specs(specs, "data.corpus")) {
    LmDomain dom;
    dom.name = d.name;
    all.push_back(read_documents(d.path, "data.corpus '" + d.name + "'", &dom.skipped_files));
    domains_.push_back(std::move(dom));
  }
  const uint64_t cut = (uint64_t)(val_frac * 1e6);
  for (size_t k = 0; k < all.size(); ++k) {
    LmDomain& dom = domains_[k];
    std::vector<char> held(all[k].size(), 0);
    size_t n_held = 0;
    for (size_t i = 0; i < all[k].size(); ++i) {
      held[i] = fnv1a(all[k][i]) % 1000000 < cut;
      n_held += held[i];
    }
    if (n_held == 0 && all[k].size() > 1) held[all[k].size() - 1] = 1, n_held = 1;  // at least one
    require(n_held > 0 && n_held < all[k].size(),
            fmt::format("data.corpus '{}': {} document(s) cannot be split into training and held-out text "
                        "(data.val_frac = {})",
                        dom.name, all[k].size(), val_frac));
    for (size_t i = 0; i < all[k].size(); ++i) {
      if (held[i]) {
        append_doc(dom.val, all[k][i], bos);
        dom.val_texts.push_back(all[k][i]);
      } else {
        order.push_back({Rng::mix(0x5eed, k, i), &all[k][i]});
        ++dom.train_docs;
        dom.train_tokens += (int64_t)all[k][i].size() + 1;
      }
    }
  }
  std::sort(order.begin(), order.end());
  size_t total = 0;
  for (auto& o : order) total += o.second->size() + 1;
  train_.reserve(total);
  for (auto& o : order) append_doc(train_, *o.second, bos);
  const int64_t need = (int64_t)(seq_len + 1) * batch_size;
  require((int64_t)train_.size() >= need,
          fmt::format("data.corpus: the training text has {} tokens, fewer than one batch needs ({} x {})",
                      train_.size(), batch_size, seq_len + 1));
}

void LmCorpus::window(const std::vector<uint16_t>& s, int64_t off, int64_t* dst) const {
  int64_t n = T_ + 1;
  if (bos_ == BosMode::Sequence) *dst++ = kBos, --n;
  for (int64_t i = 0; i < n; ++i) dst[i] = s[off + i];
}

void LmCorpus::generate(uint64_t seed, uint64_t step, int B, Batch& out) const {
  out = Batch{};
  out.B = B, out.T = T_;
  out.tokens.resize((size_t)B * (T_ + 1));
  const int64_t span = (int64_t)train_.size() - (T_ + 1) + 1;
  for (int b = 0; b < B; ++b) {
    Rng r(seed, step, (uint64_t)b);
    window(train_, (int64_t)(r.next() % (uint64_t)span), out.tokens.data() + (size_t)b * (T_ + 1));
  }
}

std::vector<int64_t> LmCorpus::val_windows(size_t d, int n, int* rows) const {
  const auto& s = domains_.at(d).val;
  const int64_t span = (int64_t)s.size() - (T_ + 1) + 1;
  std::vector<int64_t> out;
  *rows = 0;
  if (span <= 0) return out;
  // Evenly spaced offsets: the same windows at every evaluation, covering the text.
  const int m = (int)std::min<int64_t>(n, span);
  out.resize((size_t)m * (T_ + 1));
  for (int i = 0; i < m; ++i) window(s, span * i / m, out.data() + (size_t)i * (T_ + 1));
  *rows = m;
  return out;
}

std::string byte_tokenizer_json(bool add_bos) {
  // GPT-2's printable stand-ins for bytes (what ByteLevel pre-tokenizers map bytes to).
  nlohmann::ordered_json vocab = nlohmann::ordered_json::object();
  int extra = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    const uint32_t cp = printable ? (uint32_t)b : 256u + (uint32_t)extra++;
    std::string ch;
    if (cp < 0x80) ch += (char)cp;
    else ch += (char)(0xC0 | (cp >> 6)), ch += (char)(0x80 | (cp & 0x3F));
    vocab[ch] = b;
  }
  auto added = [](int id, const char* content) {
    return nlohmann::ordered_json{{"id", id},          {"content", content}, {"single_word", false}, {"lstrip", false},
                                  {"rstrip", false},   {"normalized", false}, {"special", true}};
  };
  nlohmann::ordered_json j;
  j["version"] = "1.0";
  j["truncation"] = nullptr;
  j["padding"] = nullptr;
  j["added_tokens"] = {added(LmCorpus::kBos, "<|bos|>"), added(LmCorpus::kEos, "<|eos|>")};
  j["normalizer"] = nullptr;
  j["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}};
  if (add_bos)
    j["post_processor"] = {
        {"type", "TemplateProcessing"},
        {"single", {{{"SpecialToken", {{"id", "<|bos|>"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
        {"pair",
         {{{"SpecialToken", {{"id", "<|bos|>"}, {"type_id", 0}}}},
          {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
          {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}}},
        {"special_tokens", {{"<|bos|>", {{"id", "<|bos|>"}, {"ids", {LmCorpus::kBos}}, {"tokens", {"<|bos|>"}}}}}}};
  else
    j["post_processor"] = nullptr;
  j["decoder"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}};
  j["model"] = {{"type", "BPE"},       {"dropout", nullptr},  {"unk_token", nullptr},
                {"continuing_subword_prefix", nullptr}, {"end_of_word_suffix", nullptr},
                {"fuse_unk", false},   {"byte_fallback", false}, {"ignore_merges", false},
                {"vocab", vocab},      {"merges", nlohmann::ordered_json::array()}};
  return j.dump(2) + "\n";
}

std::string byte_tokenizer_config_json(bool has_bos, int model_max_length) {
  nlohmann::ordered_json j;
  j["tokenizer_class"] = "PreTrainedTokenizerFast";
  if (has_bos) j["bos_token"] = "<|bos|>";
  j["eos_token"] = "<|eos|>";
  j["model_max_length"] = model_max_length;
  j["clean_up_tokenization_spaces"] = false;
  return j.dump(2) + "\n";
}

}  // namespace sinklab

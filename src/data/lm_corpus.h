// Real text for language-model pretraining (`data.task = "lm"`, `sinklab pretrain`):
// named domains of documents, byte-level tokens, a held-out split, and packed training
// windows drawn reproducibly from (seed, step, row). Torch-free.
//
// Tokens: the 256 byte values are ids 0-255; BOS = 256, EOS = 257 (vocabulary 258).
// A document is a JSONL line's "text" (a .jsonl file), a whole file, or every file
// under a directory whose extension is a text or source one (.txt .md .rst .py .c .h
// .cc .cpp .hpp .rs .go .java .js .ts .sh .tex); files under directories that are not
// UTF-8 are skipped (counted), anything named explicitly must be UTF-8.
//
// Where BOS goes (data.bos):
//   sequence  every training sequence starts with BOS, then a window of the stream of
//             documents separated by EOS (as models that always see BOS first)
//   document  BOS before every document in the stream (its separator), windows at any
//             offset: position 0 holds whatever token the window starts at
//   none      no BOS anywhere: EOS separates documents, windows at any offset
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/bb.h"

namespace sinklab {

enum class BosMode { Sequence, Document, None };
BosMode parse_bos_mode(const std::string& s);  // InputError on unknown names
std::string bos_mode_name(BosMode m);

struct LmDomain {
  std::string name;
  std::vector<std::string> val_texts;  // the held-out documents
  std::vector<uint16_t> val;           // their token stream (separators as for training)
  int64_t train_docs = 0, train_tokens = 0, skipped_files = 0;
};

class LmCorpus {
 public:
  static constexpr int kBos = 256, kEos = 257, kVocab = 258;
  // specs: "NAME=PATH" (PATH a .jsonl, another text file, or a directory). val_frac of
  // the documents (chosen by a hash of their text, at least one per domain) are held
  // out. InputError naming the problem: an empty or non-UTF-8 corpus, a domain without
  // a document to hold out, a training stream shorter than one batch of windows.
  LmCorpus(const std::vector<std::string>& specs, BosMode bos, double val_frac, int seq_len, int batch_size);

  int vocab_size() const { return kVocab; }
  BosMode bos() const { return bos_; }
  const std::vector<LmDomain>& domains() const { return domains_; }
  int64_t train_tokens() const { return (int64_t)train_.size(); }
  // Training batch `step` (B windows of seq_len + 1 tokens), a function of (seed, step).
  void generate(uint64_t seed, uint64_t step, int B, Batch& out) const;
  // n fixed validation windows of domain d (the same at every call), seq_len + 1 tokens
  // each, row-major; fewer when the held-out stream is short.
  std::vector<int64_t> val_windows(size_t d, int n, int* rows) const;

 private:
  // Appends one window of T + 1 tokens starting at stream offset `off`.
  void window(const std::vector<uint16_t>& s, int64_t off, int64_t* dst) const;
  BosMode bos_;
  int T_;
  std::vector<LmDomain> domains_;
  std::vector<uint16_t> train_;  // every domain's training documents, interleaved
};

// The byte-level tokenizer of LmCorpus as a Hugging Face tokenizer.json (ByteLevel
// BPE with no merges; BOS "<|bos|>" = 256 and EOS "<|eos|>" = 257 as added tokens;
// a post-processor that prepends BOS when `add_bos`).
std::string byte_tokenizer_json(bool add_bos);
// Its tokenizer_config.json (PreTrainedTokenizerFast; bos_token only when `has_bos`).
std::string byte_tokenizer_config_json(bool has_bos, int model_max_length);

}  // namespace sinklab

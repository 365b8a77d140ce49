// Tokenizers of pretrained LLMs, compatible with llama.cpp's (torch-free).
//
// A Tokenizer is built from plain data (TokenizerData), so it does not depend on
// the file format; tokenizer_from_gguf (data/tokenizer_gguf.h) fills that data
// from a GGUF file. Two models:
//
//   "gpt2"  byte-level BPE. Text is split into special tokens (see below) and raw
//           fragments; each raw fragment is pre-tokenised by the regex list of the
//           pre-tokenizer (`pre`, GGUF tokenizer.ggml.pre, e.g. "smollm"), each word
//           is mapped byte by byte through the GPT-2 byte-to-unicode table and
//           merged by merge rank (lowest rank first, leftmost on ties). Words are
//           cached.
//   "llama" SentencePiece-style: a space is prepended to every raw fragment that
//           starts the text or follows a special token (add_space_prefix), spaces
//           become U+2581, adjacent symbols are merged while the merged string is a
//           token, highest score first (leftmost on ties); symbols left that are
//           not tokens are emitted as byte tokens <0xNN>.
//
// Special tokens: tokens of type CONTROL or UNKNOWN are matched verbatim in the
// text (longest first) only when EncodeOptions::parse_special is set; USER_DEFINED
// tokens always are (llama.cpp and HF tokenizers do the same).
//
// Pre-tokenisation uses PCRE2 with llama.cpp's semantics: several regexes applied
// in turn, each splitting every piece of the previous one into its matches and the
// text between matches; `\s` is the Unicode White_Space set llama.cpp uses.
//
// Invalid UTF-8 in the input is not an error here: each invalid byte is replaced by
// U+FFFD before pre-tokenisation, as llama.cpp does (the CLI rejects such input).
// All methods are const and safe to call from several threads at once.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sinklab {

// GGUF token types (tokenizer.ggml.token_type).
enum class TokenType : int32_t {
  Undefined = 0, Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6,
};

struct TokenizerData {
  std::string model = "gpt2";      // "gpt2" (byte-level BPE) or "llama" (SentencePiece-style)
  std::string pre = "default";     // pre-tokenizer name (BPE only), see pretokenizer_info
  std::vector<std::string> tokens;  // id -> token text as stored (byte-encoded for BPE)
  std::vector<int32_t> token_types; // TokenType values; empty = all Normal
  std::vector<float> scores;        // SentencePiece scores; empty = all 0
  std::vector<std::string> merges;  // BPE merges "a b", rank = index
  // BPE: explicit pre-tokenizer regexes (e.g. taken from a Hugging Face
  // tokenizer.json), applied in order like pretokenizer_info's lists. When not
  // empty they replace the list named by `pre` (which is then only a label), and
  // ignore_merges says whether a word that is a whole token skips the merges.
  std::vector<std::string> pre_regexes;
  bool ignore_merges = false;
  // Unicode normalization of every raw text fragment (not special tokens) before
  // pre-tokenisation, as Hugging Face normalizers do: "" (none) or "NFC" (ICU).
  std::string normalizer;
  int32_t bos_id = -1, eos_id = -1, unk_id = -1, pad_id = -1;  // -1 = none
  bool add_bos = false;             // file defaults (callers may override per call)
  bool add_eos = false;
  bool add_space_prefix = true;     // SentencePiece only
  // SentencePiece, with add_space_prefix: true (llama.cpp, transformers' legacy
  // LlamaTokenizer): the space goes in front of every raw fragment that starts the
  // text or follows a special token; false (transformers' legacy=false): only in
  // front of the text itself, when it does not start with a special token.
  bool space_prefix_after_special = true;
};

struct EncodeOptions {
  std::optional<bool> add_bos;  // unset: the tokenizer's default
  std::optional<bool> add_eos;
  bool parse_special = false;   // match CONTROL/UNKNOWN token texts in the input
};

class Tokenizer {
 public:
  // Validates the data (InputError naming `what` on a problem: unknown model or
  // pre-tokenizer, arrays of different lengths, ids out of range, empty vocabulary).
  explicit Tokenizer(TokenizerData data, const std::string& what = "tokenizer");
  Tokenizer(const Tokenizer&) = default;
  Tokenizer(Tokenizer&&) noexcept = default;
  Tokenizer& operator=(const Tokenizer&) = default;
  Tokenizer& operator=(Tokenizer&&) noexcept = default;
  ~Tokenizer();

  std::vector<int32_t> encode(std::string_view text, const EncodeOptions& opt = {}) const;

  // Concatenation of token_to_piece for every id. With skip_special, CONTROL and
  // UNKNOWN tokens produce nothing. SentencePiece: the space added in front of the
  // first piece is removed (add_space_prefix). No "clean-up" of spaces is done, so
  // decode(encode(t)) == t for valid UTF-8 text without special tokens (BPE), and
  // for text that does not start with a space (SentencePiece; byte fallback
  // covers characters missing from the vocabulary).
  // InputError if an id is out of range.
  std::string decode(const std::vector<int32_t>& ids, bool skip_special = false) const;

  // The bytes a token stands for: BPE pieces map back through the byte table,
  // SentencePiece pieces turn U+2581 into spaces, <0xNN> byte tokens give one byte,
  // special tokens give their text (or nothing when !special). May be a partial
  // UTF-8 sequence. InputError if the id is out of range.
  std::string token_to_piece(int32_t id, bool special = true) const;
  // Printable form for terminals: pieces with control characters escaped
  // ("\n" -> "\\n"), invalid UTF-8 bytes as "\xNN".
  std::string display_piece(int32_t id) const;

  // The raw vocabulary entry, its type and score.
  const std::string& token_text(int32_t id) const;
  TokenType token_type(int32_t id) const;
  float token_score(int32_t id) const;
  // Id of an exact vocabulary entry (last one wins on duplicates), or -1.
  int32_t token_id(std::string_view text) const;

  size_t vocab_size() const;
  const std::string& model() const;
  const std::string& pre() const;
  int32_t bos_id() const;
  int32_t eos_id() const;
  int32_t unk_id() const;
  int32_t pad_id() const;
  bool add_bos() const;
  bool add_eos() const;

  // The words a raw text fragment is split into before BPE (for tests and
  // debugging); no special-token matching, no byte encoding.
  std::vector<std::string> pretokenize(std::string_view text) const;
  // Empties the BPE word cache (shared by copies of this Tokenizer); for benchmarks.
  void clear_cache() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// What llama.cpp does for a pre-tokenizer name (GGUF tokenizer.ggml.pre): the
// regexes it applies in order, whether a word that is a whole token skips the
// merges (ignore_merges), and whether a BOS is added when the file does not say.
// InputError for an unsupported name. Supported: "default"; "gpt-2"/"gpt2" (and
// mpt, olmo, jais, phi-2, trillion, ...); "smollm" (and starcoder, refact,
// command-r, codeshell, exaone, minerva-7b, mellum2); "llama3"/"llama-bpe" (and
// llama-v3, falcon3, pixtral, dbrx, smaug-bpe, chatglm-bpe, ...); "qwen2" (and
// stablelm2, hunyuan, megrez, deepseek-r1-qwen, ...); "falcon"; "poro-chat",
// "bloom", "gpt3-finnish"; "viking".
struct PreTokenizerInfo {
  std::vector<std::string> regexes;
  bool ignore_merges = false;
  bool default_add_bos = false;
};
PreTokenizerInfo pretokenizer_info(const std::string& pre);

// True if `s` is valid UTF-8 (no overlongs, surrogates or code points > U+10FFFF).
bool is_valid_utf8(std::string_view s);
// Byte offset of the first invalid UTF-8 sequence, or npos.
size_t first_invalid_utf8(std::string_view s);
// InputError "WHAT is not valid UTF-8 text (invalid byte 0xNN at offset K)": every
// command that takes text from the user (prompts, --text, files) checks it the same way.
void require_utf8(std::string_view s, const std::string& what);

}  // namespace sinklab

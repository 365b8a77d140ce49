// Tokenizers of Hugging Face model directories (torch-free).
//
// tokenizer.json (the `tokenizers` library format) with a byte-level BPE model is
// turned into TokenizerData model "gpt2": the vocabulary in id order, the merges
// ("a b" strings or [a, b] pairs), added tokens (special -> CONTROL, else
// USER_DEFINED), the pre-tokenizer regexes written in the file (ByteLevel with
// use_regex: the GPT-2 regex; Split(Regex, Isolated); Digits), model.ignore_merges,
// and the BOS/EOS tokens the post-processor adds (TemplateProcessing,
// Roberta/BertProcessing, ByteLevel, Sequence), and an NFC normalizer (GPT-NeoX,
// Pythia, OLMo; TokenizerData::normalizer, ICU). tokenizer_config.json, when
// present, names bos/eos/pad/unk tokens, and for the Llama/CodeLlama/Gemma (default
// add_bos_token true) and GPTNeoX (default false) tokenizer classes its
// add_bos_token / add_eos_token replace the post-processor's, as transformers 4.44
// does. Anything else (WordPiece/Unigram models, other normalizers,
// Metaspace pre-tokenizers, BPE dropout, subword prefixes, add_prefix_space)
// is an InputError naming the file and the feature.
//
// tokenizer.model (SentencePiece, Llama 2 style) is loaded with the sentencepiece
// library and turned into TokenizerData model "llama" (pieces, scores, types, the
// special ids, add_dummy_prefix); only BPE models with the identity normalizer
// and no extra-whitespace removal are accepted (checked from the model's
// normalizer spec, and by comparing the library's ids with ours on a probe text).
// tokenizer_config.json gives add_bos_token (default true) and add_eos_token
// (default false) as transformers' LlamaTokenizer reads them, `legacy` (false: the
// dummy-prefix space only at the start of the text, not after special tokens;
// TokenizerData::space_prefix_after_special), plus added tokens past the
// SentencePiece vocabulary.
//
// Encoding then matches transformers' tokenizer(text).input_ids when called with
// EncodeOptions::parse_special = true (transformers matches special tokens written
// in the text by default) and the file's add_bos/add_eos.
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "data/tokenizer.h"

namespace sinklab {

// Tokenizer of a Hugging Face model directory (tokenizer.json, else tokenizer.model).
// std::nullopt if the directory has neither file. InputError on malformed files.
// (When tokenizer.json describes a SentencePiece-style tokenizer this loader does
// not support (Llama 2's converted file) and tokenizer.model exists, the latter is
// used.)
std::optional<Tokenizer> tokenizer_from_hf_dir(const std::string& dir);

// A tokenizer.json file; tokenizer_config.json in the same directory is read when
// present. InputError on a malformed or unsupported file.
Tokenizer tokenizer_from_hf_json(const std::string& path);

// A SentencePiece tokenizer.model file; tokenizer_config.json in the same
// directory is read when present. InputError on a malformed or unsupported file.
Tokenizer tokenizer_from_spm_model(const std::string& path);

// The TokenizerData of a tokenizer.json text (`what` names it in messages) and an
// optional tokenizer_config.json text (empty: none). For tests and fuzzing.
TokenizerData tokenizer_data_from_hf_json(std::string_view json_text, const std::string& what,
                                          std::string_view config_text = {},
                                          const std::string& config_what = "tokenizer_config.json");

// Any tokenizer sinklab reads, chosen by the path: a Hugging Face model directory
// (tokenizer.json, else tokenizer.model), a tokenizer.json (*.json), a SentencePiece
// tokenizer.model (*.model), or a GGUF model file; or a model name
// (src/io/model_path.h). InputError naming the path.
Tokenizer tokenizer_from_path(const std::string& path);

}  // namespace sinklab

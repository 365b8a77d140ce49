// Hugging Face tokenizer.json / SentencePiece tokenizer.model -> TokenizerData ->
// Tokenizer. See tokenizer_hf.h for what is supported.
#include "data/tokenizer_hf.h"
#include "data/spm_lib.h"
#include "data/tokenizer_gguf.h"
#include "io/gguf.h"


#include <algorithm>
#include <filesystem>
#include <limits>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "io/error.h"
#include "io/files.h"
#include "io/json_io.h"
#include "io/model_path.h"

namespace sinklab {

namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

constexpr size_t kMaxTokens = 16u << 20;  // far above any real vocabulary
constexpr int kMaxDepth = 16;             // nesting of Sequence pre-tokenizers/processors

// The GPT-2 regex as the tokenizers library writes it for ByteLevel(use_regex=true).
const char* const kHfByteLevelRegex =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

[[noreturn]] void bad(const std::string& what, const std::string& msg) { fail(fmt::format("{}: {}", what, msg)); }

std::string quoted(const std::string& path) { return "'" + path + "'"; }

// obj[key] if obj is an object holding a non-null value there.
const json* member(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string type_of(const json& obj, const std::string& what, const std::string& where) {
  const json* t = member(obj, "type");
  if (!t || !t->is_string()) bad(what, where + " has no \"type\" string");
  return t->get<std::string>();
}

bool flag(const json& obj, const char* key, bool def, const std::string& what, const std::string& where) {
  const json* v = member(obj, key);
  if (!v) return def;
  if (!v->is_boolean()) bad(what, fmt::format("{}.{} is not a boolean", where, key));
  return v->get<bool>();
}

// A token named in tokenizer_config.json: "text" or {"content": "text", ...}.
std::optional<std::string> token_name(const json* v) {
  if (!v) return std::nullopt;
  if (v->is_string()) return v->get<std::string>();
  if (const json* c = member(*v, "content"); c && c->is_string()) return c->get<std::string>();
  return std::nullopt;
}

// PCRE2 pattern matching the literal string s.
std::string regex_literal(const std::string& s) {
  std::string out;
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x80 && !std::isalnum(u) && c != ' ') out += '\\';
    out += c;
  }
  return out;
}

// ---------------------------------------------------------------- pre-tokenizer
struct PreState {
  std::vector<std::string> regexes;
  std::vector<std::string> names;
  bool byte_level = false;
};

void read_pre(const json& p, PreState& st, const std::string& what, int depth) {
  if (depth > kMaxDepth) bad(what, "pre_tokenizer is nested too deeply");
  const std::string type = type_of(p, what, "pre_tokenizer");
  if (st.byte_level && type != "Sequence")
    bad(what, fmt::format("unsupported pre_tokenizer: {} after ByteLevel", type));
  if (type == "Sequence") {
    const json* list = member(p, "pretokenizers");
    if (!list || !list->is_array()) bad(what, "pre_tokenizer Sequence has no \"pretokenizers\" array");
    for (const auto& q : *list) read_pre(q, st, what, depth + 1);
  } else if (type == "ByteLevel") {
    if (flag(p, "add_prefix_space", false, what, "pre_tokenizer ByteLevel"))
      bad(what, "unsupported pre_tokenizer: ByteLevel with add_prefix_space");
    if (flag(p, "use_regex", true, what, "pre_tokenizer ByteLevel")) st.regexes.push_back(kHfByteLevelRegex);
    st.byte_level = true;
  } else if (type == "Split") {
    const json* pat = member(p, "pattern");
    std::string re;
    if (pat && member(*pat, "Regex") && (*pat)["Regex"].is_string()) {
      re = (*pat)["Regex"].get<std::string>();
    } else if (pat && member(*pat, "String") && (*pat)["String"].is_string()) {
      re = regex_literal((*pat)["String"].get<std::string>());
    } else {
      bad(what, "pre_tokenizer Split has no \"pattern\" {\"Regex\": ...} or {\"String\": ...}");
    }
    if (re.empty()) bad(what, "pre_tokenizer Split has an empty pattern");
    const json* beh = member(p, "behavior");
    const std::string behavior = beh && beh->is_string() ? beh->get<std::string>() : "?";
    if (behavior != "Isolated")
      bad(what, fmt::format("unsupported pre_tokenizer: Split with behavior '{}' (supported: Isolated)", behavior));
    if (flag(p, "invert", false, what, "pre_tokenizer Split"))
      bad(what, "unsupported pre_tokenizer: Split with invert");
    st.regexes.push_back(re);
  } else if (type == "Digits") {
    st.regexes.push_back(flag(p, "individual_digits", false, what, "pre_tokenizer Digits") ? "\\p{N}" : "\\p{N}+");
  } else {
    bad(what, fmt::format("unsupported pre_tokenizer: {} (supported: ByteLevel, Split, Digits, Sequence)", type));
  }
  if (type != "Sequence") st.names.push_back(type);
}

// ---------------------------------------------------------------- post-processor
struct PostState {
  int32_t bos = -1, eos = -1;
  bool add_bos = false, add_eos = false;
};

void read_post(const json& p, PostState& st, const std::string& what, int depth,
               const std::unordered_map<std::string, int32_t>& ids) {
  if (depth > kMaxDepth) bad(what, "post_processor is nested too deeply");
  const std::string type = type_of(p, what, "post_processor");
  // ["<s>", 1] pairs of Roberta/BertProcessing.
  const auto pair_id = [&](const char* key) -> int32_t {
    const json* v = member(p, key);
    if (!v || !v->is_array() || v->size() != 2 || !(*v)[1].is_number_integer())
      bad(what, fmt::format("post_processor {} has no [token, id] \"{}\"", type, key));
    const int64_t id = (*v)[1].get<int64_t>();
    if (id < 0 || id >= (int64_t)kMaxTokens) bad(what, fmt::format("post_processor {}: bad id {}", type, id));
    return static_cast<int32_t>(id);
  };
  if (type == "Sequence") {
    const json* list = member(p, "processors");
    if (!list || !list->is_array()) bad(what, "post_processor Sequence has no \"processors\" array");
    for (const auto& q : *list) read_post(q, st, what, depth + 1, ids);
  } else if (type == "ByteLevel") {
    // offsets only
  } else if (type == "RobertaProcessing" || type == "BertProcessing") {
    st.bos = pair_id("cls");
    st.eos = pair_id("sep");
    st.add_bos = st.add_eos = true;
  } else if (type == "TemplateProcessing") {
    const json* single = member(p, "single");
    if (!single || !single->is_array()) bad(what, "post_processor TemplateProcessing has no \"single\" array");
    const json* specials = member(p, "special_tokens");
    const auto special_id = [&](const std::string& name) -> int32_t {
      const json* s = specials ? member(*specials, name.c_str()) : nullptr;
      const json* list = s ? member(*s, "ids") : nullptr;
      if (list && list->is_array() && list->size() == 1 && (*list)[0].is_number_integer()) {
        const int64_t id = (*list)[0].get<int64_t>();
        if (id >= 0 && id < (int64_t)kMaxTokens) return static_cast<int32_t>(id);
      }
      if (list && list->is_array() && list->size() != 1)
        bad(what, fmt::format("unsupported post_processor: TemplateProcessing special '{}' of {} tokens", name,
                              list->size()));
      auto it = ids.find(name);
      if (it == ids.end()) bad(what, fmt::format("post_processor TemplateProcessing: unknown special token '{}'", name));
      return it->second;
    };
    size_t n_seq = 0;
    for (const auto& item : *single) {
      if (const json* s = member(item, "SpecialToken")) {
        const json* name = member(*s, "id");
        if (!name || !name->is_string()) bad(what, "post_processor TemplateProcessing: SpecialToken without an \"id\"");
        const int32_t id = special_id(name->get<std::string>());
        if (n_seq == 0 && !st.add_bos) {
          st.bos = id;
          st.add_bos = true;
        } else if (n_seq == 1 && !st.add_eos) {
          st.eos = id;
          st.add_eos = true;
        } else {
          bad(what, "unsupported post_processor: TemplateProcessing with more than one special token on a side");
        }
      } else if (member(item, "Sequence")) {
        ++n_seq;
      } else {
        bad(what, "post_processor TemplateProcessing: an item is neither SpecialToken nor Sequence");
      }
    }
    if (n_seq != 1) bad(what, "unsupported post_processor: TemplateProcessing without exactly one sequence");
  } else {
    bad(what, fmt::format("unsupported post_processor: {} (supported: TemplateProcessing, ByteLevel, "
                          "RobertaProcessing, BertProcessing, Sequence)",
                          type));
  }
}

bool is_noop_normalizer(const json& n, int depth) {
  if (n.is_null()) return true;
  if (depth > kMaxDepth || !n.is_object()) return false;
  const json* t = member(n, "type");
  if (!t || !t->is_string() || t->get<std::string>() != "Sequence") return false;
  const json* list = member(n, "normalizers");
  if (!list || !list->is_array()) return false;
  for (const auto& q : *list)
    if (!is_noop_normalizer(q, depth + 1)) return false;
  return true;
}

bool type_is(const json& obj, const char* type) {
  const json* t = member(obj, "type");
  return t && t->is_string() && t->get_ref<const std::string&>() == type;
}

std::string normalizer_name(const json& n, int depth = 0) {
  const json* t = member(n, "type");
  std::string name = t && t->is_string() ? t->get<std::string>() : "?";
  if (name == "Sequence" && depth <= kMaxDepth) {
    const json* list = member(n, "normalizers");
    if (list && list->is_array()) {
      for (const auto& q : *list)
        if (!is_noop_normalizer(q, depth + 1)) return normalizer_name(q, depth + 1);
    }
  }
  return name;
}

// tokenizer_config.json: the tokenizer classes whose fast tokenizer rebuilds the
// post-processor from add_bos_token/add_eos_token (transformers 4.44), with their
// defaults when the keys are absent.
struct AddFlagDefaults {
  bool bos, eos;
};
std::optional<AddFlagDefaults> class_add_flag_defaults(const json& config) {
  const json* c = member(config, "tokenizer_class");
  if (!c || !c->is_string()) return std::nullopt;
  const std::string s = c->get<std::string>();
  const auto starts = [&](const char* p) { return s.rfind(p, 0) == 0; };
  if (starts("Llama") || starts("CodeLlama") || starts("Gemma")) return AddFlagDefaults{true, false};
  if (starts("GPTNeoX")) return AddFlagDefaults{false, false};
  return std::nullopt;
}

// Special tokens named in tokenizer_config.json, and the add flags it sets.
void apply_config(const json& config, const std::string& config_what, TokenizerData& d,
                  std::optional<AddFlagDefaults> add_flags, const std::unordered_map<std::string, int32_t>& ids) {
  if (!config.is_object()) bad(config_what, "is not a JSON object");
  const auto lookup = [&](const char* key, int32_t& id) {
    if (id >= 0) return;
    if (auto name = token_name(member(config, key))) {
      auto it = ids.find(*name);
      if (it != ids.end()) id = it->second;
    }
  };
  lookup("bos_token", d.bos_id);
  lookup("eos_token", d.eos_id);
  lookup("unk_token", d.unk_id);
  lookup("pad_token", d.pad_id);
  if (add_flags) {
    d.add_bos = flag(config, "add_bos_token", add_flags->bos, config_what, "tokenizer config");
    d.add_eos = flag(config, "add_eos_token", add_flags->eos, config_what, "tokenizer config");
  }
  if (d.add_bos && d.bos_id < 0) bad(config_what, "add_bos_token is set but there is no BOS token");
  if (d.add_eos && d.eos_id < 0) bad(config_what, "add_eos_token is set but there is no EOS token");
}

std::unordered_map<std::string, int32_t> id_map(const std::vector<std::string>& tokens) {
  std::unordered_map<std::string, int32_t> m;
  m.reserve(tokens.size() * 2);
  for (size_t i = 0; i < tokens.size(); ++i) m[tokens[i]] = static_cast<int32_t>(i);
  return m;
}

json parse_config(std::string_view text, const std::string& what) {
  if (text.empty()) return json();
  json j = parse_json(std::string(text), what);
  if (!j.is_object()) bad(what, "is not a JSON object");
  return j;
}

std::string config_path_for(const std::string& file) {
  return (fs::path(file).parent_path() / "tokenizer_config.json").string();
}

std::string read_config_text(const std::string& file) {
  const std::string p = config_path_for(file);
  std::error_code ec;
  if (!fs::is_regular_file(p, ec)) return std::string();
  return read_file(p);
}

// ---------------------------------------------------------------- SentencePiece
// The few fields of the ModelProto (sentencepiece_model.proto) the library does
// not expose: piece types, model type, normalizer settings. Bounds-checked.
struct SpmProto {
  std::vector<int32_t> types;  // per piece; 1 = NORMAL when absent
  int model_type = 1;          // UNIGRAM = 1, BPE = 2, WORD = 3, CHAR = 4
  bool byte_fallback = false;
  bool treat_whitespace_as_suffix = false;
  std::string normalizer_name;
  bool has_charsmap = false;
  bool add_dummy_prefix = true;
  bool remove_extra_whitespaces = true;
  bool escape_whitespaces = true;
};

class ProtoReader {
 public:
  ProtoReader(std::string_view s, const std::string& what) : s_(s), what_(what) {}
  bool done() const { return pos_ >= s_.size(); }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= s_.size()) bad(what_, "truncated SentencePiece model (varint)");
      const unsigned char c = static_cast<unsigned char>(s_[pos_++]);
      v |= static_cast<uint64_t>(c & 0x7F) << shift;
      if (!(c & 0x80)) return v;
    }
    bad(what_, "malformed SentencePiece model (varint too long)");
  }
  // Reads a key; returns field number and wire type.
  std::pair<uint64_t, int> key() {
    const uint64_t k = varint();
    return {k >> 3, static_cast<int>(k & 7)};
  }
  std::string_view bytes() {
    const uint64_t n = varint();
    if (n > s_.size() - pos_) bad(what_, "truncated SentencePiece model (field longer than the file)");
    std::string_view v = s_.substr(pos_, n);
    pos_ += n;
    return v;
  }
  void skip(int wire) {
    switch (wire) {
      case 0: varint(); break;
      case 1: advance(8); break;
      case 2: bytes(); break;
      case 5: advance(4); break;
      default: bad(what_, fmt::format("malformed SentencePiece model (wire type {})", wire));
    }
  }

 private:
  void advance(size_t n) {
    if (n > s_.size() - pos_) bad(what_, "truncated SentencePiece model");
    pos_ += n;
  }
  std::string_view s_;
  size_t pos_ = 0;
  const std::string& what_;
};

SpmProto parse_spm_proto(std::string_view data, const std::string& what) {
  SpmProto p;
  ProtoReader top(data, what);
  while (!top.done()) {
    auto [field, wire] = top.key();
    if (field == 1 && wire == 2) {  // SentencePiece
      ProtoReader r(top.bytes(), what);
      int32_t type = 1;
      while (!r.done()) {
        auto [f, w] = r.key();
        if (f == 3 && w == 0) type = static_cast<int32_t>(r.varint());
        else r.skip(w);
      }
      p.types.push_back(type);
    } else if (field == 2 && wire == 2) {  // TrainerSpec
      ProtoReader r(top.bytes(), what);
      while (!r.done()) {
        auto [f, w] = r.key();
        if (f == 3 && w == 0) p.model_type = static_cast<int>(r.varint());
        else if (f == 35 && w == 0) p.byte_fallback = r.varint() != 0;
        else if (f == 24 && w == 0) p.treat_whitespace_as_suffix = r.varint() != 0;
        else r.skip(w);
      }
    } else if (field == 3 && wire == 2) {  // NormalizerSpec
      ProtoReader r(top.bytes(), what);
      while (!r.done()) {
        auto [f, w] = r.key();
        if (f == 1 && w == 2) p.normalizer_name = std::string(r.bytes());
        else if (f == 2 && w == 2) p.has_charsmap = !r.bytes().empty();
        else if (f == 3 && w == 0) p.add_dummy_prefix = r.varint() != 0;
        else if (f == 4 && w == 0) p.remove_extra_whitespaces = r.varint() != 0;
        else if (f == 5 && w == 0) p.escape_whitespaces = r.varint() != 0;
        else r.skip(w);
      }
    } else {
      top.skip(wire);
    }
  }
  return p;
}

}  // namespace

// ---------------------------------------------------------------- tokenizer.json
TokenizerData tokenizer_data_from_hf_json(std::string_view json_text, const std::string& what,
                                          std::string_view config_text, const std::string& config_what) {
  const json root = parse_json(std::string(json_text), what);
  if (!root.is_object()) bad(what, "is not a JSON object (expected a Hugging Face tokenizer.json)");
  const json* model = member(root, "model");
  if (!model || !model->is_object()) bad(what, "has no \"model\" object (not a Hugging Face tokenizer.json?)");
  std::string mtype;
  if (const json* t = member(*model, "type")) {
    if (!t->is_string()) bad(what, "model.type is not a string");
    mtype = t->get<std::string>();
  } else if (member(*model, "merges")) {
    mtype = "BPE";
  } else {
    bad(what, "model has no \"type\"");
  }
  if (mtype != "BPE") bad(what, fmt::format("unsupported tokenizer model type '{}' (supported: BPE)", mtype));

  std::string normalizer;
  if (const json* n = member(root, "normalizer"); n && !is_noop_normalizer(*n, 0)) {
    // NFC alone (GPT-NeoX, Pythia, OLMo), possibly inside Sequences of nothing else.
    const json* single = n;
    for (int depth = 0; depth <= kMaxDepth && single && type_is(*single, "Sequence"); ++depth) {
      const json* list = member(*single, "normalizers");
      const json* next = nullptr;
      size_t active = 0;
      if (list && list->is_array()) {
        for (const auto& q : *list) {
          if (!is_noop_normalizer(q, depth + 1)) {
            ++active;
            next = &q;
          }
        }
      }
      single = active == 1 ? next : nullptr;
    }
    if (single && type_is(*single, "NFC")) normalizer = "NFC";
    else
      bad(what, fmt::format("unsupported normalizer '{}' (supported: NFC, or none)", normalizer_name(*n)));
  }
  if (const json* v = member(*model, "dropout"); v && !(v->is_number() && v->get<double>() == 0.0))
    bad(what, "unsupported BPE dropout");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (const json* v = member(*model, key); v && !(v->is_string() && v->get<std::string>().empty()))
      bad(what, fmt::format("unsupported BPE {}", key));
  }

  // Vocabulary and added tokens, in id order.
  const json* vocab = member(*model, "vocab");
  if (!vocab || !vocab->is_object()) bad(what, "model.vocab is missing or not an object");
  const json* added = member(root, "added_tokens");
  if (added && !added->is_array()) bad(what, "added_tokens is not an array");
  const size_t n_entries = vocab->size() + (added ? added->size() : 0);
  if (vocab->empty()) bad(what, "model.vocab is empty");
  if (n_entries > kMaxTokens) bad(what, fmt::format("too many tokens ({})", n_entries));

  int64_t max_id = -1;
  const auto check_id = [&](const json& v, const std::string& where) -> int32_t {
    if (!v.is_number_integer()) bad(what, where + ": the id is not an integer");
    const int64_t id = v.get<int64_t>();
    if (id < 0 || id >= (int64_t)n_entries)
      bad(what, fmt::format("{}: id {} is out of range (there are {} token entries)", where, id, n_entries));
    max_id = std::max(max_id, id);
    return static_cast<int32_t>(id);
  };
  std::vector<std::pair<int32_t, const std::string*>> vocab_entries;
  vocab_entries.reserve(vocab->size());
  for (auto it = vocab->begin(); it != vocab->end(); ++it)
    vocab_entries.emplace_back(check_id(it.value(), fmt::format("model.vocab['{}']", it.key())), &it.key());
  struct Added {
    int32_t id;
    std::string content;
    bool special;
  };
  std::vector<Added> added_tokens;
  if (added) {
    for (size_t i = 0; i < added->size(); ++i) {
      const json& a = (*added)[i];
      const std::string where = fmt::format("added_tokens[{}]", i);
      const json* id = member(a, "id");
      const json* content = member(a, "content");
      if (!id || !content || !content->is_string()) bad(what, where + " needs \"id\" and \"content\"");
      added_tokens.push_back({check_id(*id, where), content->get<std::string>(),
                              flag(a, "special", false, what, where)});
      if (added_tokens.back().content.empty()) bad(what, where + " has empty content");
    }
  }

  TokenizerData d;
  d.model = "gpt2";
  d.add_space_prefix = false;
  d.normalizer = normalizer;
  const size_t n = static_cast<size_t>(max_id + 1);
  d.tokens.assign(n, std::string());
  std::vector<char> have(n, 0);
  d.token_types.assign(n, static_cast<int32_t>(TokenType::Normal));
  for (const auto& [id, text] : vocab_entries) {
    if (have[id]) bad(what, fmt::format("model.vocab: id {} is given to two tokens", id));
    have[id] = 1;
    d.tokens[id] = *text;
  }
  for (const auto& a : added_tokens) {
    if (have[a.id] && d.tokens[a.id] != a.content)
      bad(what, fmt::format("added token '{}' has id {}, which is the vocabulary token '{}'", a.content, a.id,
                            d.tokens[a.id]));
    have[a.id] = 1;
    d.tokens[a.id] = a.content;
    d.token_types[a.id] = static_cast<int32_t>(a.special ? TokenType::Control : TokenType::UserDefined);
  }
  for (size_t i = 0; i < n; ++i)
    if (!have[i]) bad(what, fmt::format("no token has id {} (ids must be 0..{} without gaps)", i, n - 1));

  // Merges: "a b" or [a, b]; a, b and a+b must be vocabulary tokens.
  std::unordered_map<std::string_view, int32_t> in_vocab;
  in_vocab.reserve(vocab_entries.size() * 2);
  for (const auto& [id, text] : vocab_entries) in_vocab.emplace(*text, id);
  const json* merges = member(*model, "merges");
  if (!merges || !merges->is_array()) bad(what, "model.merges is missing or not an array");
  d.merges.reserve(merges->size());
  std::string joined;
  for (size_t i = 0; i < merges->size(); ++i) {
    const json& m = (*merges)[i];
    std::string a, b;
    if (m.is_string()) {
      const std::string& s = m.get_ref<const std::string&>();
      const size_t sp = s.find(' ');
      if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
        bad(what, fmt::format("model.merges[{}] '{}' is not two tokens separated by one space", i, s));
      a = s.substr(0, sp);
      b = s.substr(sp + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      a = m[0].get<std::string>();
      b = m[1].get<std::string>();
      if (a.find(' ', 1) != std::string::npos)
        bad(what, fmt::format("unsupported merge model.merges[{}]: a space inside its first token", i));
    } else {
      bad(what, fmt::format("model.merges[{}] is neither \"a b\" nor [\"a\", \"b\"]", i));
    }
    joined = a + b;
    for (const std::string* t : {&a, &b, &joined}) {
      if (t->empty() || !in_vocab.count(*t))
        bad(what, fmt::format("model.merges[{}] ('{} {}') uses '{}', which is not in the vocabulary", i, a, b, *t));
    }
    d.merges.push_back(a + " " + b);
  }
  d.ignore_merges = flag(*model, "ignore_merges", false, what, "model");

  // Pre-tokenizer: regexes taken from the file; must end in ByteLevel.
  PreState pre;
  if (const json* p = member(root, "pre_tokenizer")) read_pre(*p, pre, what, 0);
  if (!pre.byte_level)
    bad(what, "unsupported tokenizer: not byte-level BPE (no ByteLevel pre-tokenizer; SentencePiece-style "
              "tokenizer.json files are read through tokenizer.model)");
  if (pre.regexes.empty())
    pre.regexes.push_back("(?s:.+)");  // ByteLevel without a regex: the whole fragment is one word
  d.pre_regexes = pre.regexes;
  d.pre.clear();
  for (const auto& nm : pre.names) d.pre += (d.pre.empty() ? "" : "+") + nm;

  const auto ids = id_map(d.tokens);
  if (const json* u = member(*model, "unk_token")) {
    if (!u->is_string()) bad(what, "model.unk_token is not a string");
    auto it = ids.find(u->get<std::string>());
    if (it != ids.end()) d.unk_id = it->second;
  }
  if (d.unk_id >= 0 && d.token_types[d.unk_id] == static_cast<int32_t>(TokenType::Normal))
    d.token_types[d.unk_id] = static_cast<int32_t>(TokenType::Unknown);

  PostState post;
  if (const json* p = member(root, "post_processor")) read_post(*p, post, what, 0, ids);
  const auto in_range = [&](int32_t id, const char* name) {
    if (id >= (int64_t)n) bad(what, fmt::format("post_processor: {} id {} is out of range (vocabulary of {})", name, id, n));
  };
  in_range(post.bos, "BOS");
  in_range(post.eos, "EOS");
  d.bos_id = post.bos;
  d.eos_id = post.eos;
  d.add_bos = post.add_bos;
  d.add_eos = post.add_eos;

  const json config = parse_config(config_text, config_what);
  if (!config.is_null()) apply_config(config, config_what, d, class_add_flag_defaults(config), ids);
  return d;
}

Tokenizer tokenizer_from_hf_json(const std::string& path) {
  const std::string text = read_file(path);
  const std::string config = read_config_text(path);
  const std::string what = quoted(path);
  return Tokenizer(tokenizer_data_from_hf_json(text, what, config, quoted(config_path_for(path))), what);
}

// ---------------------------------------------------------------- tokenizer.model
Tokenizer tokenizer_from_spm_model(const std::string& path) {
  const std::string what = quoted(path);
  const std::string bytes = read_file(path);
  if (bytes.empty()) bad(what, "is empty (expected a SentencePiece model)");
  const SpmProto proto = parse_spm_proto(bytes, what);

  const SpmProcessor sp(bytes, what);  // the sentencepiece library (through its shim)
  const int n = sp.piece_size();
  if (n <= 0 || static_cast<size_t>(n) != proto.types.size())
    bad(what, "not a valid SentencePiece model (no pieces)");
  static const char* const kModelTypes[] = {"?", "unigram", "bpe", "word", "char"};
  if (proto.model_type != 2)
    bad(what, fmt::format("unsupported SentencePiece model type '{}' (supported: bpe)",
                          proto.model_type >= 1 && proto.model_type <= 4 ? kModelTypes[proto.model_type] : "?"));
  if (proto.has_charsmap || (!proto.normalizer_name.empty() && proto.normalizer_name != "identity"))
    bad(what, fmt::format("unsupported SentencePiece normalizer '{}' (it changes the text; supported: identity)",
                          proto.normalizer_name));
  if (proto.remove_extra_whitespaces)
    bad(what, "unsupported SentencePiece normalizer setting remove_extra_whitespaces");
  if (!proto.escape_whitespaces || proto.treat_whitespace_as_suffix)
    bad(what, "unsupported SentencePiece whitespace setting (escape_whitespaces off or whitespace as suffix)");

  TokenizerData d;
  d.model = "llama";
  d.pre = "default";
  d.tokens.resize(n);
  d.scores.resize(n);
  d.token_types.resize(n);
  for (int i = 0; i < n; ++i) {
    d.tokens[i] = sp.id_to_piece(i);
    d.scores[i] = sp.score(i);
    const int32_t t = proto.types[i];
    d.token_types[i] = (t >= 1 && t <= 6) ? t : static_cast<int32_t>(TokenType::Normal);
  }
  d.unk_id = sp.unk_id();
  d.bos_id = sp.bos_id();
  d.eos_id = sp.eos_id();
  d.pad_id = sp.pad_id();
  d.add_space_prefix = proto.add_dummy_prefix;
  d.add_bos = d.bos_id >= 0;  // LlamaTokenizer's default
  d.add_eos = false;

  // tokenizer_config.json: flags, and added tokens past the SentencePiece vocabulary.
  const std::string config_what = quoted(config_path_for(path));
  const json config = parse_config(read_config_text(path), config_what);
  if (!config.is_null()) {
    if (const json* dec = member(config, "added_tokens_decoder")) {
      if (!dec->is_object()) bad(config_what, "added_tokens_decoder is not an object");
      std::vector<std::pair<int64_t, const json*>> extra;
      for (auto it = dec->begin(); it != dec->end(); ++it) {
        int64_t id = -1;
        try {
          size_t used = 0;
          id = std::stoll(it.key(), &used);
          if (used != it.key().size()) id = -1;
        } catch (const std::exception&) {
          id = -1;
        }
        if (id < 0) bad(config_what, fmt::format("added_tokens_decoder key '{}' is not a token id", it.key()));
        if (id >= n) extra.emplace_back(id, &it.value());
      }
      std::sort(extra.begin(), extra.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
      for (const auto& [id, v] : extra) {
        if (id != (int64_t)d.tokens.size())
          bad(config_what, fmt::format("added token id {} leaves a gap after the {} SentencePiece pieces", id,
                                       d.tokens.size()));
        const json* content = member(*v, "content");
        if (!content || !content->is_string() || content->get<std::string>().empty())
          bad(config_what, fmt::format("added token {} has no content", id));
        d.tokens.push_back(content->get<std::string>());
        d.scores.push_back(0.0f);
        d.token_types.push_back(static_cast<int32_t>(
            flag(*v, "special", false, config_what, "added token") ? TokenType::Control : TokenType::UserDefined));
      }
    }
    apply_config(config, config_what, d, AddFlagDefaults{d.add_bos, false}, id_map(d.tokens));
    // transformers' LlamaTokenizer with legacy=false: no space after special tokens.
    if (const json* legacy = member(config, "legacy")) {
      if (!legacy->is_boolean()) bad(config_what, "legacy is not a boolean");
      d.space_prefix_after_special = legacy->get<bool>();
    }
  }
  Tokenizer tok(std::move(d), what);

  // Safety net: our encoding must agree with the library's on a probe text.
  const std::string probe = "Hello World  x\n\tdef f(a, b):\n    return a + 12 * 345  # ok.";
  std::vector<int> lib;
  if (!sp.encode(probe, lib)) bad(what, "the SentencePiece library cannot encode a probe text");
  EncodeOptions eo;
  eo.add_bos = false;
  eo.add_eos = false;
  const std::vector<int32_t> ours = tok.encode(probe, eo);
  if (!std::equal(ours.begin(), ours.end(), lib.begin(), lib.end()))
    bad(what, "unsupported SentencePiece model: the library encodes a probe text differently from sinklab");
  return tok;
}

// ---------------------------------------------------------------- directory
std::optional<Tokenizer> tokenizer_from_hf_dir(const std::string& dir) {
  std::error_code ec;
  const std::string json_path = (fs::path(dir) / "tokenizer.json").string();
  const std::string spm_path = (fs::path(dir) / "tokenizer.model").string();
  const bool has_json = fs::is_regular_file(json_path, ec);
  const bool has_spm = fs::is_regular_file(spm_path, ec);
  if (!has_json && !has_spm) return std::nullopt;
  if (has_json) {
    try {
      return tokenizer_from_hf_json(json_path);
    } catch (const InputError& e) {
      // Llama 2 style directories ship a SentencePiece-style tokenizer.json next to
      // tokenizer.model: use the latter then.
      if (!has_spm || std::string(e.what()).find("not byte-level BPE") == std::string::npos) throw;
    }
  }
  return tokenizer_from_spm_model(spm_path);
}

Tokenizer tokenizer_from_path(const std::string& arg) {
  const std::string path = resolve_model(arg).path;  // a model name: the model's tokenizer
  std::error_code ec;
  auto ends_with = [&](const std::string& suffix) {
    return path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (fs::is_directory(path, ec)) {
    auto tok = tokenizer_from_hf_dir(path);
    if (!tok) fail(fmt::format("'{}': the directory has no tokenizer.json or tokenizer.model", path));
    return std::move(*tok);
  }
  if (ends_with(".json")) return tokenizer_from_hf_json(path);
  if (ends_with(".model")) return tokenizer_from_spm_model(path);
  const gguf::GgufFile file(path);
  return tokenizer_from_gguf(file);
}

}  // namespace sinklab

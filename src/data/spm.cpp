// SentencePiece-style tokenizer (GGUF tokenizer model "llama", e.g. Llama 2), the
// algorithm llama.cpp uses: spaces become U+2581, the text is cut into UTF-8
// characters, and adjacent symbols are merged while their concatenation is a
// vocabulary entry, the entry with the highest score first (leftmost on ties).
// Symbols that are not entries are written as byte tokens <0xNN>.
#include <queue>

#include <fmt/format.h>

#include "data/tokenizer.h"
#include "data/tokenizer_impl.h"

namespace sinklab {

void Tokenizer::Impl::init_spm() {
  for (int b = 0; b < 256; ++b) {
    int32_t id = find(fmt::format("<0x{:02X}>", b));
    if (id < 0) id = find(std::string(1, static_cast<char>(b)));
    byte_token[b] = id;
  }
}

std::string Tokenizer::Impl::piece_spm(const std::string& text) {
  static const std::string kSpace = "\xE2\x96\x81";  // U+2581
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, kSpace.size(), kSpace) == 0) {
      out += ' ';
      i += kSpace.size();
    } else {
      out += text[i++];
    }
  }
  return out;
}

namespace {

struct Symbol {
  size_t begin, len;
  int prev, next;
};

struct Bigram {
  float score;
  int left, right;
  size_t len;
};

struct BigramOrder {  // highest score first, then leftmost
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

}  // namespace

void Tokenizer::Impl::encode_spm(std::string_view raw, std::vector<int32_t>& out) const {
  // Escape spaces.
  std::string text;
  text.reserve(raw.size() + 16);
  for (char c : raw) {
    if (c == ' ') text += "\xE2\x96\x81";
    else text += c;
  }

  std::vector<Symbol> sym;
  for (size_t off = 0; off < text.size();) {
    const size_t l = std::min(text.size() - off, utf8::lead_length(static_cast<unsigned char>(text[off])));
    const int idx = static_cast<int>(sym.size());
    sym.push_back({off, l, idx - 1, off + l == text.size() ? -1 : idx + 1});
    off += l;
  }

  std::priority_queue<Bigram, std::vector<Bigram>, BigramOrder> queue;
  std::string key;
  const auto add = [&](int l, int r) {
    if (l < 0 || r < 0) return;
    key.assign(text, sym[l].begin, sym[l].len + sym[r].len);
    const int32_t id = find(key);
    if (id < 0) return;
    const float score = d.scores.empty() ? 0.0f : d.scores[id];
    queue.push({score, l, r, key.size()});
  };
  for (int i = 1; i < static_cast<int>(sym.size()); ++i) add(i - 1, i);

  while (!queue.empty()) {
    const Bigram bg = queue.top();
    queue.pop();
    Symbol& l = sym[bg.left];
    Symbol& r = sym[bg.right];
    if (l.len == 0 || r.len == 0 || l.len + r.len != bg.len) continue;  // outdated
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0) sym[r.next].prev = bg.left;
    add(l.prev, bg.left);
    add(bg.left, l.next);
  }

  for (const Symbol& s : sym) {
    if (s.len == 0) continue;
    const int32_t id = find(std::string_view(text.data() + s.begin, s.len));
    if (id >= 0) {
      out.push_back(id);
      continue;
    }
    // Byte fallback; a byte without a byte token becomes UNK (or is dropped when the
    // vocabulary has no UNK either).
    for (size_t k = 0; k < s.len; ++k) {
      const int32_t bid = byte_token[static_cast<unsigned char>(text[s.begin + k])];
      if (bid >= 0) out.push_back(bid);
      else if (d.unk_id >= 0) out.push_back(d.unk_id);
    }
  }
}

}  // namespace sinklab

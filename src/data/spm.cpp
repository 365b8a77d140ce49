// SentencePiece-style tokenizer (GGUF tokenizer model "llama", e.g. Llama 2), the
// algorithm llama.cpp uses: spaces become U+2581, the text is cut into UTF-8
// characters, and adjacent symbols are merged while their concatenation is a
// vocabulary entry, the entry with the highest score first (leftmost on ties).
// Symbols that are not entries are written as byte tokens <0xNN>.

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

void Tokenizer::Impl::encode_spm(std::string_view raw, std::vector<int32_t>& out) const {
  // Escape spaces.
  std::string text;
  text.reserve(raw.size() + 16);
  for (char c : raw) {
    if (c == ' ') text += "\xE2\x96\x81";
    else text += c;
  }

  const auto score = [&](std::string_view l, std::string_view r) -> std::optional<double> {
    const int32_t id = find(std::string_view(l.data(), l.size() + r.size()));  // l and r are adjacent in text
    if (id < 0) return std::nullopt;
    return d.scores.empty() ? 0.0 : static_cast<double>(d.scores[id]);  // highest score first
  };
  for (const auto& [begin, len] : merge_pieces(text, score)) {
    const int32_t id = find(std::string_view(text.data() + begin, len));
    if (id >= 0) {
      out.push_back(id);
      continue;
    }
    // Byte fallback; a byte without a byte token becomes UNK (or is dropped when the
    // vocabulary has no UNK either).
    for (size_t k = 0; k < len; ++k) {
      const int32_t bid = byte_token[static_cast<unsigned char>(text[begin + k])];
      if (bid >= 0) out.push_back(bid);
      else if (d.unk_id >= 0) out.push_back(d.unk_id);
    }
  }
}

}  // namespace sinklab

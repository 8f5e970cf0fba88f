// Pre-tokenizers of tokenizer.json (Sequence, Split, ByteLevel, Metaspace, Digits, Whitespace,
// WhitespaceSplit): cut normalized text into the words that BPE merges within.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "framework/tokenizer/json_fields.h"

namespace qzo::tok {

// Words as spans of one buffer, so that splitting never copies text.
struct Words {
  std::string text;
  std::vector<std::pair<size_t, size_t>> spans;  // [begin, end), non-empty, in order

  void reset(std::string_view piece) {
    text.assign(piece.data(), piece.size());
    spans.clear();
    if (!text.empty()) spans.emplace_back(0, text.size());
  }
  std::string_view word(size_t i) const {
    return std::string_view(text).substr(spans[i].first, spans[i].second - spans[i].first);
  }
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // at_text_start: the words begin the whole input (Metaspace's prepend_scheme "first").
  virtual void pre_tokenize(Words& words, bool at_text_start) const = 0;
};

// nullptr for a JSON null (the whole piece is one word).
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const json& config, const JsonPlace& place);

}  // namespace qzo::tok

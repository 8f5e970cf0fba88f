// Added tokens of tokenizer.json (special tokens such as <s> or <|im_start|>, and extra words):
// found in the text before normalization and BPE, leftmost-longest, honouring the lstrip,
// rstrip, single_word and normalized flags the way Hugging Face's AddedVocabulary does.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace qzo::tok {

struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;  // matched in the normalized text rather than the raw text
  bool special = false;     // dropped by decode(skip_special_tokens)
};

// A piece of the text: either plain text [begin, end) or an added token (id >= 0) whose span
// includes the whitespace its lstrip/rstrip flags absorbed.
struct TextPiece {
  size_t begin = 0;
  size_t end = 0;
  int32_t id = -1;
};

// Matches one set of token strings (all normalized or all raw) with a byte trie.
class AddedTokenMatcher {
 public:
  // `patterns[i]` is what is searched for token `tokens[i]` (its content, or normalized content).
  void build(const std::vector<AddedToken>& tokens, const std::vector<std::string>& patterns);
  bool empty() const { return nodes_.size() <= 1; }
  // Splits `text` into pieces; plain pieces are never empty.
  void split(std::string_view text, std::vector<TextPiece>& pieces) const;

 private:
  struct Node {
    int32_t token = -1;  // index into tokens_ of the token ending here
    std::vector<std::pair<unsigned char, int32_t>> children;
  };
  int32_t child(int32_t node, unsigned char byte) const;
  std::vector<Node> nodes_;
  std::vector<AddedToken> tokens_;
  bool first_byte_[256] = {};
};

}  // namespace qzo::tok

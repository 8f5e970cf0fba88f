// Trie matching of added tokens with Hugging Face's strip and single-word rules.
#include "framework/tokenizer/added_tokens.h"

#include <algorithm>

#include "framework/tokenizer/unicode_text.h"

namespace qzo::tok {
namespace {

char32_t last_code_point(std::string_view text) {
  size_t start = text.size() - 1;
  while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
  size_t pos = start;
  return next_code_point(text, pos);
}

// Start of the run of whitespace that ends `text` (text.size() when there is none).
size_t trailing_space_start(std::string_view text) {
  size_t end = text.size();
  while (end > 0) {
    size_t start = end - 1;
    while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
    size_t pos = start;
    if (!is_unicode_whitespace(next_code_point(text, pos))) break;
    end = start;
  }
  return end;
}

size_t leading_space_length(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t next = pos;
    if (!is_unicode_whitespace(next_code_point(text, next))) break;
    pos = next;
  }
  return pos;
}

}  // namespace

void AddedTokenMatcher::build(const std::vector<AddedToken>& tokens, const std::vector<std::string>& patterns) {
  tokens_ = tokens;
  nodes_.assign(1, Node{});
  for (size_t t = 0; t < patterns.size(); ++t) {
    const std::string& p = patterns[t];
    if (p.empty()) continue;
    first_byte_[static_cast<unsigned char>(p[0])] = true;
    int32_t node = 0;
    for (char c : p) {
      const auto byte = static_cast<unsigned char>(c);
      int32_t next = child(node, byte);
      if (next < 0) {
        next = static_cast<int32_t>(nodes_.size());
        nodes_[static_cast<size_t>(node)].children.emplace_back(byte, next);
        nodes_.emplace_back();
      }
      node = next;
    }
    nodes_[static_cast<size_t>(node)].token = static_cast<int32_t>(t);
  }
}

int32_t AddedTokenMatcher::child(int32_t node, unsigned char byte) const {
  for (const auto& [b, next] : nodes_[static_cast<size_t>(node)].children)
    if (b == byte) return next;
  return -1;
}

void AddedTokenMatcher::split(std::string_view text, std::vector<TextPiece>& pieces) const {
  pieces.clear();
  size_t emitted = 0;  // end of the last piece pushed
  size_t i = 0;
  while (i < text.size()) {
    if (!first_byte_[static_cast<unsigned char>(text[i])]) {
      ++i;
      continue;
    }
    // The longest token starting at i.
    int32_t node = 0, token = -1;
    size_t match_end = i;
    for (size_t j = i; j < text.size(); ++j) {
      node = child(node, static_cast<unsigned char>(text[j]));
      if (node < 0) break;
      if (nodes_[static_cast<size_t>(node)].token >= 0) {
        token = nodes_[static_cast<size_t>(node)].token;
        match_end = j + 1;
      }
    }
    if (token < 0) {
      ++i;
      continue;
    }
    const AddedToken& added = tokens_[static_cast<size_t>(token)];
    size_t start = i, stop = match_end;
    if (added.single_word) {
      const bool word_before = start > 0 && is_word_character(last_code_point(text.substr(0, start)));
      size_t after = stop;
      const bool word_after = stop < text.size() && is_word_character(next_code_point(text, after));
      if (word_before || word_after) {  // inside a word: not this token; search on after it
        i = match_end;
        continue;
      }
    }
    if (added.lstrip) start = std::max(emitted, trailing_space_start(text.substr(0, start)));
    if (added.rstrip) stop += leading_space_length(text.substr(stop));
    if (emitted < start) pieces.push_back(TextPiece{emitted, start, -1});
    pieces.push_back(TextPiece{start, stop, added.id});
    emitted = stop;
    i = std::max(match_end, stop);
  }
  if (emitted < text.size()) pieces.push_back(TextPiece{emitted, text.size(), -1});
}

}  // namespace qzo::tok

// A compiled PCRE2 pattern (UTF + UCP, JIT) for the tokenizer's Split / Replace components:
// Unicode classes such as \p{L}, inline (?i:...) and lookahead (?!\S) as in the Rust `regex`
// and `onig` engines that Hugging Face tokenizers use. Safe to share across threads.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace qzo::tok {

class Regex {
 public:
  using Span = std::pair<size_t, size_t>;  // [begin, end) byte offsets

  // `what` names the pattern's origin (file and component) in the error for a bad pattern.
  static Regex compile(const std::string& pattern, const std::string& what);
  static Regex literal(const std::string& text, const std::string& what);

  Regex(Regex&&) noexcept;
  Regex& operator=(Regex&&) noexcept;
  ~Regex();

  // Replaces `matches` with every non-overlapping match in `text` (valid UTF-8), left to right.
  void find_all(std::string_view text, std::vector<Span>& matches) const;
  std::string replace_all(std::string_view text, std::string_view replacement) const;

 private:
  struct Code;
  explicit Regex(std::unique_ptr<Code> code);
  std::unique_ptr<Code> code_;
};

}  // namespace qzo::tok

// The pre-tokenizers qzo supports, with Hugging Face's split behaviours and byte-level mapping.
#include "framework/tokenizer/pre_tokenizer.h"

#include <algorithm>

#include "framework/tokenizer/unicode_text.h"

namespace qzo::tok {
namespace {

using Span = std::pair<size_t, size_t>;

enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

SplitBehavior parse_behavior(const std::string& name, const JsonPlace& place) {
  if (name == "Removed") return SplitBehavior::Removed;
  if (name == "Isolated") return SplitBehavior::Isolated;
  if (name == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::MergedWithNext;
  if (name == "Contiguous") return SplitBehavior::Contiguous;
  place.fail("unknown split behavior " + shown(name) +
             " (expected Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous)");
}

// Cuts the word [base, base + length) at `matches` (relative to base) the way Hugging Face's
// NormalizedString::split does, appending the non-empty pieces to `out`.
void cut(size_t base, size_t length, const std::vector<Regex::Span>& matches, bool invert,
         SplitBehavior behavior, std::vector<Span>& out) {
  struct Part {
    size_t begin, end;
    bool is_match;
  };
  thread_local std::vector<Part> parts, merged;
  parts.clear();
  size_t prev = 0;
  for (const auto& [b, e] : matches) {
    if (e == b) continue;
    if (prev < b) parts.push_back(Part{prev, b, false});
    parts.push_back(Part{b, e, true});
    prev = e;
  }
  if (prev < length) parts.push_back(Part{prev, length, false});
  if (invert)
    for (Part& p : parts) p.is_match = !p.is_match;

  if (behavior == SplitBehavior::Isolated) {  // the common case: every part is a word
    for (const Part& p : parts) out.emplace_back(base + p.begin, base + p.end);
    return;
  }
  merged.clear();
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::Isolated:
      break;
    case SplitBehavior::Removed:
      for (const Part& p : parts)
        if (!p.is_match) merged.push_back(p);
      break;
    case SplitBehavior::Contiguous:
      for (const Part& p : parts) {
        if (p.is_match == previous_match && !merged.empty())
          merged.back().end = p.end;
        else
          merged.push_back(p);
        previous_match = p.is_match;
      }
      break;
    case SplitBehavior::MergedWithPrevious:
      for (const Part& p : parts) {
        if (p.is_match && !previous_match && !merged.empty())
          merged.back().end = p.end;
        else
          merged.push_back(p);
        previous_match = p.is_match;
      }
      break;
    case SplitBehavior::MergedWithNext:
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
        if (it->is_match && !previous_match && !merged.empty())
          merged.back().begin = it->begin;
        else
          merged.push_back(*it);
        previous_match = it->is_match;
      }
      std::reverse(merged.begin(), merged.end());
      break;
  }
  for (const Part& p : merged) out.emplace_back(base + p.begin, base + p.end);
}

class SequencePreTokenizer : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> steps) : steps_(std::move(steps)) {}
  void pre_tokenize(Words& words, bool at_text_start) const override {
    for (const auto& step : steps_) step->pre_tokenize(words, at_text_start);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

class RegexSplitPreTokenizer : public PreTokenizer {
 public:
  RegexSplitPreTokenizer(Regex pattern, SplitBehavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}
  void pre_tokenize(Words& words, bool) const override {
    thread_local std::vector<Regex::Span> matches;
    thread_local std::vector<Span> spans;
    spans.clear();
    for (size_t i = 0; i < words.spans.size(); ++i) {
      pattern_.find_all(words.word(i), matches);
      cut(words.spans[i].first, words.spans[i].second - words.spans[i].first, matches, invert_, behavior_, spans);
    }
    words.spans.swap(spans);
  }

 private:
  Regex pattern_;
  SplitBehavior behavior_;
  bool invert_;
};

class WhitespaceSplitPreTokenizer : public PreTokenizer {
 public:
  void pre_tokenize(Words& words, bool) const override {
    thread_local std::vector<Span> spans;
    spans.clear();
    for (const auto& [begin, end] : words.spans) {
      size_t pos = begin, word_start = begin;
      bool in_word = false;
      while (pos < end) {
        const size_t at = pos;
        const bool space = is_unicode_whitespace(next_code_point(std::string_view(words.text).substr(0, end), pos));
        if (space && in_word) spans.emplace_back(word_start, at);
        if (!space && !in_word) word_start = at;
        in_word = !space;
      }
      if (in_word) spans.emplace_back(word_start, end);
    }
    words.spans.swap(spans);
  }
};

// GPT-2's split, then every byte written as its printable stand-in.
class ByteLevelPreTokenizer : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex, const JsonPlace& place)
      : add_prefix_space_(add_prefix_space), use_regex_(use_regex) {
    if (use_regex_)
      gpt2_ = std::make_unique<Regex>(Regex::compile(
          R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)", place.file + ": " + place.key));
    const auto& chars = byte_level_chars();
    for (int b = 0; b < 256; ++b) {
      stand_in_[b].length = static_cast<uint8_t>(chars[b].size());
      std::copy(chars[b].begin(), chars[b].end(), stand_in_[b].bytes);
    }
  }

  void pre_tokenize(Words& words, bool) const override {
    thread_local std::string text, prefixed;
    thread_local std::vector<Span> spans, pieces;
    thread_local std::vector<Regex::Span> matches;
    text.clear();
    spans.clear();
    for (size_t i = 0; i < words.spans.size(); ++i) {
      std::string_view word = words.word(i);
      if (add_prefix_space_ && word.front() != ' ') {
        prefixed.assign(1, ' ');
        prefixed.append(word.data(), word.size());
        word = prefixed;
      }
      pieces.clear();
      if (use_regex_) {
        gpt2_->find_all(word, matches);
        cut(0, word.size(), matches, false, SplitBehavior::Isolated, pieces);
      } else {
        pieces.emplace_back(0, word.size());
      }
      for (const auto& [b, e] : pieces) {
        const size_t start = text.size();
        for (size_t k = b; k < e; ++k) {
          const StandIn& s = stand_in_[static_cast<unsigned char>(word[k])];
          text.append(s.bytes, s.length);
        }
        spans.emplace_back(start, text.size());
      }
    }
    words.text.swap(text);
    words.spans.swap(spans);
  }

 private:
  struct StandIn {
    char bytes[2];
    uint8_t length;
  };
  bool add_prefix_space_;
  bool use_regex_;
  std::unique_ptr<Regex> gpt2_;
  StandIn stand_in_[256];
};

enum class PrependScheme { Always, First, Never };

// SentencePiece's view of spaces: ' ' becomes the replacement (U+2581), one is prepended, and
// words start at each replacement.
class MetaspacePreTokenizer : public PreTokenizer {
 public:
  MetaspacePreTokenizer(std::string replacement, PrependScheme scheme, bool split)
      : replacement_(std::move(replacement)), scheme_(scheme), split_(split) {}

  void pre_tokenize(Words& words, bool at_text_start) const override {
    thread_local std::string text;
    thread_local std::vector<Span> spans;
    thread_local std::vector<Regex::Span> matches;
    text.clear();
    spans.clear();
    for (size_t i = 0; i < words.spans.size(); ++i) {
      const std::string_view word = words.word(i);
      const size_t start = text.size();
      const bool first = at_text_start && i == 0 && words.spans[0].first == 0;
      const bool prepend = scheme_ == PrependScheme::Always || (scheme_ == PrependScheme::First && first);
      const bool starts_with_space = word.front() == ' ' || word.substr(0, replacement_.size()) == replacement_;
      if (prepend && !starts_with_space) text += replacement_;
      for (char c : word) {
        if (c == ' ')
          text += replacement_;
        else
          text += c;
      }
      const size_t length = text.size() - start;
      if (!split_) {
        spans.emplace_back(start, text.size());
        continue;
      }
      matches.clear();
      const std::string_view piece = std::string_view(text).substr(start);
      for (size_t at = piece.find(replacement_); at != std::string_view::npos;
           at = piece.find(replacement_, at + replacement_.size()))
        matches.emplace_back(at, at + replacement_.size());
      cut(start, length, matches, false, SplitBehavior::MergedWithNext, spans);
    }
    words.text.swap(text);
    words.spans.swap(spans);
  }

 private:
  std::string replacement_;
  PrependScheme scheme_;
  bool split_;
};

}  // namespace

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const json& config, const JsonPlace& place) {
  if (config.is_null()) return nullptr;
  const std::string type = component_type(config, place);
  if (type == "Sequence") {
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    const json& list = required_array(config, "pretokenizers", place);
    for (size_t i = 0; i < list.size(); ++i) {
      auto step = make_pre_tokenizer(list[i], place.at("pretokenizers").at(i));
      if (step) steps.push_back(std::move(step));
    }
    return std::make_unique<SequencePreTokenizer>(std::move(steps));
  }
  if (type == "Split") {
    return std::make_unique<RegexSplitPreTokenizer>(
        compile_pattern(required_field(config, "pattern", place), place.at("pattern")),
        parse_behavior(required_string(config, "behavior", place), place.at("behavior")),
        bool_or(config, "invert", false, place));
  }
  if (type == "ByteLevel")
    return std::make_unique<ByteLevelPreTokenizer>(bool_or(config, "add_prefix_space", true, place),
                                                   bool_or(config, "use_regex", true, place), place);
  if (type == "Metaspace") {
    const std::string replacement = required_string(config, "replacement", place);
    size_t pos = 0;
    if (replacement.empty() || (next_code_point(replacement, pos), pos != replacement.size()))
      place.at("replacement").fail("expected exactly one character");
    const std::string scheme = string_or(config, "prepend_scheme", "always", place);
    PrependScheme prepend;
    if (scheme == "always") prepend = PrependScheme::Always;
    else if (scheme == "first") prepend = PrependScheme::First;
    else if (scheme == "never") prepend = PrependScheme::Never;
    else place.at("prepend_scheme").fail("expected always, first or never, got " + shown(scheme));
    if (!bool_or(config, "add_prefix_space", true, place)) prepend = PrependScheme::Never;
    return std::make_unique<MetaspacePreTokenizer>(replacement, prepend, bool_or(config, "split", true, place));
  }
  if (type == "Digits") {
    const bool individual = bool_or(config, "individual_digits", false, place);
    return std::make_unique<RegexSplitPreTokenizer>(
        Regex::compile(individual ? R"(\p{N})" : R"(\p{N}+)", place.file + ": " + place.key),
        SplitBehavior::Isolated, false);
  }
  if (type == "Whitespace")
    return std::make_unique<RegexSplitPreTokenizer>(
        Regex::compile(R"(\w+|[^\w\s]+)", place.file + ": " + place.key), SplitBehavior::Removed, true);
  if (type == "WhitespaceSplit") return std::make_unique<WhitespaceSplitPreTokenizer>();
  unsupported_type(place, type, "Sequence, Split, ByteLevel, Metaspace, Digits, Whitespace, WhitespaceSplit");
}

}  // namespace qzo::tok

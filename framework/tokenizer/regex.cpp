// PCRE2 wrapper: compile once with JIT, match with per-thread match data and JIT stack.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "framework/tokenizer/regex.h"

#include <pcre2.h>

#include "framework/core/error.h"
#include "framework/tokenizer/unicode_text.h"

namespace qzo::tok {
namespace {

std::string pcre2_message(int code) {
  PCRE2_UCHAR buf[256];
  pcre2_get_error_message(code, buf, sizeof(buf));
  return reinterpret_cast<const char*>(buf);
}

// Each thread matches with its own match data and a JIT stack large enough for long runs of
// whitespace under `\s+(?!\S)`; PCRE2 objects are not safe to share while matching.
struct ThreadMatchState {
  pcre2_match_context* context = pcre2_match_context_create(nullptr);
  pcre2_jit_stack* stack = pcre2_jit_stack_create(64 * 1024, 8 * 1024 * 1024, nullptr);
  pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
  ThreadMatchState() {
    if (!context || !stack || !data) fail("regex: out of memory creating PCRE2 match state");
    pcre2_jit_stack_assign(context, nullptr, stack);
  }
  ~ThreadMatchState() {
    pcre2_match_data_free(data);
    pcre2_jit_stack_free(stack);
    pcre2_match_context_free(context);
  }
  ThreadMatchState(const ThreadMatchState&) = delete;
  ThreadMatchState& operator=(const ThreadMatchState&) = delete;
};

ThreadMatchState& thread_match_state() {
  thread_local ThreadMatchState state;
  return state;
}

}  // namespace

struct Regex::Code {
  pcre2_code* code = nullptr;
  ~Code() { pcre2_code_free(code); }
};

Regex::Regex(std::unique_ptr<Code> code) : code_(std::move(code)) {}
Regex::Regex(Regex&&) noexcept = default;
Regex& Regex::operator=(Regex&&) noexcept = default;
Regex::~Regex() = default;

Regex Regex::compile(const std::string& pattern, const std::string& what) {
  int err = 0;
  PCRE2_SIZE offset = 0;
  auto code = std::make_unique<Code>();
  code->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                             PCRE2_UTF | PCRE2_UCP, &err, &offset, nullptr);
  if (!code->code)
    fail(what + ": invalid regex at offset " + std::to_string(offset) + ": " + pcre2_message(err));
  // JIT is an optimization: without it (unsupported CPU) matching still works, only slower.
  pcre2_jit_compile(code->code, PCRE2_JIT_COMPLETE);
  return Regex(std::move(code));
}

Regex Regex::literal(const std::string& text, const std::string& what) {
  int err = 0;
  PCRE2_SIZE offset = 0;
  auto code = std::make_unique<Code>();
  code->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(),
                             PCRE2_UTF | PCRE2_LITERAL, &err, &offset, nullptr);
  if (!code->code) fail(what + ": invalid literal pattern: " + pcre2_message(err));
  pcre2_jit_compile(code->code, PCRE2_JIT_COMPLETE);
  return Regex(std::move(code));
}

void Regex::find_all(std::string_view text, std::vector<Span>& matches) const {
  matches.clear();
  ThreadMatchState& state = thread_match_state();
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t start = 0;
  while (start <= text.size()) {
    // The caller guarantees valid UTF-8; checking it again on every call would make the scan
    // quadratic in the length of the text.
    const int rc = pcre2_match(code_->code, subject, text.size(), start, PCRE2_NO_UTF_CHECK,
                               state.data, state.context);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) fail("regex match failed: " + pcre2_message(rc));
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(state.data);
    const size_t begin = ov[0], end = ov[1];
    matches.emplace_back(begin, end);
    if (end > begin) {
      start = end;
    } else {  // an empty match: step over one character so that the scan moves on
      if (end >= text.size()) break;
      start = end + utf8_sequence_length(static_cast<unsigned char>(text[end]));
    }
  }
}

std::string Regex::replace_all(std::string_view text, std::string_view replacement) const {
  std::vector<Span> matches;
  find_all(text, matches);
  if (matches.empty()) return std::string(text);
  std::string out;
  out.reserve(text.size());
  size_t prev = 0;
  for (const auto& [b, e] : matches) {
    out.append(text.data() + prev, b - prev);
    out.append(replacement.data(), replacement.size());
    prev = e;
  }
  out.append(text.data() + prev, text.size() - prev);
  return out;
}

}  // namespace qzo::tok

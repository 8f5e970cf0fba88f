// One raw RFC 822 email -> the English text a language model should read: the decoded
// Subject and the body a mail reader would show, as clean, capped, valid UTF-8.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace qzo {

inline constexpr size_t kMaxEmailBodyBytes = 4000;

struct EmailText {
  std::string subject;  // RFC 2047-decoded, whitespace collapsed to single spaces
  std::string body;
};

// Walks the MIME tree: text/plain parts are preferred, text/html parts are the fallback
// (tags, comments, scripts and styles removed); quoted-printable and base64 are decoded,
// charsets converted to UTF-8, non-text attachments and PGP armour dropped.
// The body then has "\n" line endings, no control characters, single spaces, at most
// one blank line in a row, and at most max_body_bytes bytes (cut on a code point).
EmailText clean_email(std::string_view raw_message, size_t max_body_bytes = kMaxEmailBodyBytes);

// The whitespace rules above, on their own: spaces and tabs collapse to one space, lines
// are trimmed, runs of blank lines become one, leading/trailing blank lines go, and C0/C1
// controls, U+FEFF and U+FFFD are removed. Invalid UTF-8 is read as in sanitize_utf8, so
// the result is always valid. Work stops once the output passes max_bytes; the result is
// then cut to max_bytes on a code point boundary.
std::string normalize_email_text(std::string_view text, size_t max_bytes = std::string::npos);

}  // namespace qzo

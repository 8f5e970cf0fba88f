// RFC 822 / MIME structure of one email: unfolded header fields, Content-Type with its
// parameters, multipart bodies split at their boundary, the quoted-printable and base64
// transfer encodings, and RFC 2047 encoded words in header values.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qzo {

struct HeaderField {
  std::string name;   // lower case
  std::string value;  // unfolded: continuation lines joined, line breaks dropped
};

// A message or body part, viewing the caller's bytes (line endings already "\n").
struct MimeEntity {
  std::vector<HeaderField> headers;
  std::string_view body;
};

// Splits at the first blank line. A leading mbox "From " line is skipped; a part that
// starts with a line that is not a header field has no headers and is all body.
MimeEntity parse_mime_entity(std::string_view message);

// Value of the first field with this (lower-case) name.
std::optional<std::string> header_value(const std::vector<HeaderField>& headers,
                                        std::string_view name);

struct ContentType {
  std::string media_type = "text/plain";      // lower case "type/subtype"
  std::map<std::string, std::string> params;  // names lower case, values unquoted
  std::string param(const std::string& name) const;
};
ContentType parse_content_type(std::string_view value);

// The parts between "--boundary" delimiter lines, without preamble and epilogue; empty
// when no delimiter is found.
std::vector<std::string_view> split_multipart(std::string_view body, std::string_view boundary);

// In header mode ("Q" encoded words) an underscore stands for a space.
std::string decode_quoted_printable(std::string_view text, bool header_mode = false);
// Characters outside the base64 alphabet (line breaks, junk) are skipped.
std::string decode_base64(std::string_view text);

// "=?charset?Q|B?text?=" encoded words decoded to UTF-8; whitespace between adjacent
// encoded words is dropped (RFC 2047 section 6.2); bare 8-bit bytes are read in
// raw_charset (the message's charset, when the sender left the header undeclared).
// Always returns valid UTF-8.
std::string decode_rfc2047(std::string_view value, std::string_view raw_charset = "");

// Charset of the first encoded word in a header value, "" when there is none.
std::string encoded_word_charset(std::string_view value);

// "\r\n" and lone "\r" become "\n".
std::string normalize_line_endings(std::string_view text);

}  // namespace qzo

// Turns email text bytes into valid UTF-8, the one encoding every later stage (HTML
// stripping, the BPE pre-tokenizer, the tokenizer) assumes. Old mail is mostly
// us-ascii, latin-1 and windows-1252, often mislabelled, so decoding is forgiving.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace qzo {

bool is_valid_utf8(std::string_view text);

// Byte length of the valid UTF-8 sequence that starts `text`, 0 when none does.
size_t utf8_sequence_length(std::string_view text);

// Appends the UTF-8 encoding of one code point; surrogates and values past U+10FFFF
// append nothing.
void append_utf8(std::string& out, char32_t code_point);

// Decodes bytes declared in `charset` (a MIME label, any case, quotes allowed). latin-1
// labels are read as windows-1252 (what mailers actually sent); other labels go through
// iconv; an unknown label, or bytes that are not valid in the declared charset, fall
// back to sanitize_utf8. The result is always valid UTF-8.
std::string charset_to_utf8(std::string_view bytes, std::string_view charset);

// True for labels charset_to_utf8 decodes for real (not by the fallback), after aliases
// such as ks_c_5601-1987 -> CP949 and chinesebig5 -> BIG5.
bool is_known_charset(std::string_view charset);

// Keeps valid UTF-8 sequences and reads each stray byte as windows-1252, so undeclared
// 8-bit mail comes out readable instead of as replacement characters.
std::string sanitize_utf8(std::string_view bytes);

// The longest prefix of at most max_bytes that ends on a code point boundary.
std::string_view truncate_utf8(std::string_view text, size_t max_bytes);

}  // namespace qzo

// UTF-8 and Unicode helpers for the tokenizer: validation with lossy repair, code point
// iteration, normalization forms (utf8proc), and the GPT-2 byte <-> printable-character map
// that byte-level BPE vocabularies are written in.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace qzo::tok {

// Bytes in the UTF-8 sequence whose lead byte is `lead` (1 for ASCII and stray bytes).
inline size_t utf8_sequence_length(unsigned char lead) {
  if (lead < 0xC0) return 1;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  return 4;
}

bool is_valid_utf8(std::string_view text);
// Replaces each maximal invalid subsequence with U+FFFD, as Rust's from_utf8_lossy and the
// WHATWG decoder do, so that text from any source can be tokenized.
std::string to_valid_utf8(std::string_view text);

// Decodes the code point at text[pos] (text must be valid UTF-8) and advances pos past it.
char32_t next_code_point(std::string_view text, size_t& pos);
void append_utf8(std::string& out, char32_t cp);

bool is_unicode_whitespace(char32_t cp);  // the White_Space property
bool is_word_character(char32_t cp);      // what regex \w matches: letters, marks, digits, _

enum class NormalForm { NFC, NFD, NFKC, NFKD };
std::string unicode_normalize(std::string_view text, NormalForm form);
std::string unicode_lowercase(std::string_view text);

// GPT-2's bytes_to_unicode: byte b is written as the UTF-8 of this code point in byte-level
// vocabularies (printable bytes stand for themselves, the rest move to U+0100..).
const std::array<std::string, 256>& byte_level_chars();
// Inverse of byte_level_chars: the byte a character stands for, or -1.
int byte_level_byte(char32_t cp);

}  // namespace qzo::tok

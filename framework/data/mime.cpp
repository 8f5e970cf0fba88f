// Parsing of RFC 822 headers and MIME bodies, tolerant of the malformed mail that fills
// spam corpora: a bad field or encoding degrades to raw text instead of failing.
#include "framework/data/mime.h"

#include <array>
#include <cctype>

#include "framework/data/charset.h"

namespace qzo {
namespace {

// ASCII only: markup and MIME keywords are ASCII, and std::tolower consults the locale.
char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

std::string_view trim(std::string_view s) {
  const char* ws = " \t\n\r";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// "Name: value" with a name of printable ASCII and no spaces (RFC 5322 field-name).
bool is_field_line(std::string_view line, size_t& colon) {
  colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  for (size_t i = 0; i < colon; ++i) {
    const auto c = static_cast<unsigned char>(line[i]);
    if (c <= 32 || c >= 127) return false;
  }
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = lower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

constexpr std::array<int8_t, 256> make_base64_table() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(alphabet[i])] = static_cast<int8_t>(i);
  return t;
}
constexpr auto kBase64 = make_base64_table();

// One "=?charset?enc?text?=" at s[pos]; on success sets the decoded UTF-8 and the end.
bool decode_encoded_word(std::string_view s, size_t pos, std::string& decoded, size_t& end) {
  if (s.compare(pos, 2, "=?") != 0) return false;
  const size_t q1 = s.find('?', pos + 2);
  if (q1 == std::string_view::npos || q1 + 2 >= s.size() || s[q1 + 2] != '?') return false;
  const size_t close = s.find("?=", q1 + 3);
  if (close == std::string_view::npos) return false;
  std::string_view charset = s.substr(pos + 2, q1 - pos - 2);
  if (const size_t star = charset.find('*'); star != std::string_view::npos)
    charset = charset.substr(0, star);  // RFC 2231 language suffix
  const char encoding = lower(s[q1 + 1]);
  const std::string_view payload = s.substr(q1 + 3, close - q1 - 3);
  std::string bytes;
  if (encoding == 'q')
    bytes = decode_quoted_printable(payload, true);
  else if (encoding == 'b')
    bytes = decode_base64(payload);
  else
    return false;
  decoded = charset_to_utf8(bytes, charset);
  end = close + 2;
  return true;
}

}  // namespace

std::string normalize_line_endings(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

MimeEntity parse_mime_entity(std::string_view message) {
  MimeEntity entity;
  size_t pos = 0;
  if (message.compare(0, 5, "From ") == 0) {
    const size_t nl = message.find('\n');
    pos = nl == std::string_view::npos ? message.size() : nl + 1;
  }
  while (pos < message.size()) {
    size_t nl = message.find('\n', pos);
    if (nl == std::string_view::npos) nl = message.size();
    const std::string_view line = message.substr(pos, nl - pos);
    if (trim(line).empty()) {  // the blank line that ends the header block
      pos = std::min(nl + 1, message.size());
      break;
    }
    size_t colon = 0;
    if ((line[0] == ' ' || line[0] == '\t') && !entity.headers.empty()) {
      entity.headers.back().value += ' ';
      entity.headers.back().value += trim(line);
    } else if (is_field_line(line, colon)) {
      entity.headers.push_back({to_lower(line.substr(0, colon)),
                                std::string(trim(line.substr(colon + 1)))});
    } else {
      break;  // not a header: the body starts here
    }
    pos = nl + 1;
  }
  entity.body = message.substr(std::min(pos, message.size()));
  return entity;
}

std::optional<std::string> header_value(const std::vector<HeaderField>& headers,
                                        std::string_view name) {
  for (const auto& field : headers)
    if (field.name == name) return field.value;
  return std::nullopt;
}

std::string ContentType::param(const std::string& name) const {
  const auto it = params.find(name);
  return it == params.end() ? std::string() : it->second;
}

ContentType parse_content_type(std::string_view value) {
  ContentType ct;
  const size_t semi = value.find(';');
  const std::string type = to_lower(trim(value.substr(0, semi)));
  if (type.find('/') != std::string::npos) ct.media_type = type;
  size_t pos = semi;
  while (pos != std::string_view::npos && pos < value.size()) {
    ++pos;  // past ';'
    while (pos < value.size() && std::isspace(static_cast<unsigned char>(value[pos]))) ++pos;
    const size_t eq = value.find('=', pos);
    if (eq == std::string_view::npos) break;
    const std::string name = to_lower(trim(value.substr(pos, eq - pos)));
    pos = eq + 1;
    while (pos < value.size() && std::isspace(static_cast<unsigned char>(value[pos]))) ++pos;
    std::string param;
    if (pos < value.size() && value[pos] == '"') {
      ++pos;
      while (pos < value.size() && value[pos] != '"') {
        if (value[pos] == '\\' && pos + 1 < value.size()) ++pos;
        param.push_back(value[pos++]);
      }
      pos = value.find(';', pos);
    } else {
      const size_t stop = value.find_first_of("; \t", pos);
      param = std::string(value.substr(pos, stop == std::string_view::npos ? stop : stop - pos));
      pos = value.find(';', pos);
    }
    if (!name.empty() && !ct.params.count(name)) ct.params[name] = param;
  }
  return ct;
}

std::vector<std::string_view> split_multipart(std::string_view body, std::string_view boundary) {
  std::vector<std::string_view> parts;
  if (boundary.empty()) return parts;
  const std::string delimiter = "--" + std::string(boundary);
  // Delimiters start a line; find the next one at or after `from`.
  auto next_delimiter = [&](size_t from) -> size_t {
    while (from <= body.size()) {
      const size_t at = body.find(delimiter, from);
      if (at == std::string_view::npos) return at;
      if (at == 0 || body[at - 1] == '\n') return at;
      from = at + 1;
    }
    return std::string_view::npos;
  };
  size_t at = next_delimiter(0);
  while (at != std::string_view::npos) {
    const size_t after = at + delimiter.size();
    if (body.compare(after, 2, "--") == 0) break;  // closing delimiter
    const size_t line_end = body.find('\n', after);
    if (line_end == std::string_view::npos) break;
    const size_t start = line_end + 1;
    const size_t next = next_delimiter(start);
    size_t end = next == std::string_view::npos ? body.size() : next;
    if (end > start && body[end - 1] == '\n') --end;  // the line break belongs to the delimiter
    parts.push_back(body.substr(start, end - start));
    at = next;
  }
  return parts;
}

std::string decode_quoted_printable(std::string_view text, bool header_mode) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '=') {
      if (i + 2 < text.size() && hex_value(text[i + 1]) >= 0 && hex_value(text[i + 2]) >= 0) {
        out.push_back(static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2])));
        i += 2;
        continue;
      }
      // Soft line break: "=" then optional trailing blanks then the line end.
      size_t j = i + 1;
      while (j < text.size() && (text[j] == ' ' || text[j] == '\t')) ++j;
      if (j < text.size() && text[j] == '\n') {
        i = j;
        continue;
      }
      if (j == text.size()) break;
      out.push_back(c);  // a stray '=' is kept literally
    } else if (c == '_' && header_mode) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string decode_base64(std::string_view text) {
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    if (c == '=') break;
    const int v = kBase64[static_cast<unsigned char>(c)];
    if (v < 0) continue;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

std::string encoded_word_charset(std::string_view value) {
  for (size_t at = value.find("=?"); at != std::string_view::npos; at = value.find("=?", at + 2)) {
    std::string decoded;
    size_t end = 0;
    if (decode_encoded_word(value, at, decoded, end)) {
      const std::string_view charset = value.substr(at + 2, value.find('?', at + 2) - at - 2);
      return std::string(charset.substr(0, charset.find('*')));
    }
  }
  return "";
}

std::string decode_rfc2047(std::string_view value, std::string_view raw_charset) {
  std::string out;
  size_t pos = 0;
  size_t pending_space_from = std::string_view::npos;  // whitespace after an encoded word
  std::string raw;  // undecoded stretch, converted as a whole so multi-byte UTF-8 survives
  auto flush_raw = [&] {
    out += charset_to_utf8(raw, raw_charset);
    raw.clear();
  };
  while (pos < value.size()) {
    std::string decoded;
    size_t end = 0;
    if (value[pos] == '=' && decode_encoded_word(value, pos, decoded, end)) {
      if (pending_space_from != std::string_view::npos) raw.clear();  // between two words
      flush_raw();
      out += decoded;
      pos = end;
      pending_space_from = pos;
      continue;
    }
    const char c = value[pos++];
    if (c != ' ' && c != '\t') pending_space_from = std::string_view::npos;
    raw.push_back(c);
  }
  flush_raw();
  return out;
}

}  // namespace qzo

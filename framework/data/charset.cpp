// Charset decoding for email text: windows-1252 by hand (it is the de-facto meaning of
// latin-1 labels), everything else through the C library's iconv.
#include "framework/data/charset.h"

#include <cerrno>
#include <iconv.h>
#include <utf8proc.h>

#include <algorithm>
#include <cctype>

namespace qzo {
namespace {

// windows-1252 differs from latin-1 only in 0x80..0x9F; 0 marks its five unassigned bytes.
constexpr char32_t kCp1252High[32] = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0,      0x017D, 0,
    0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178};

void append_cp1252(std::string& out, unsigned char byte) {
  if (byte < 0x80) {
    out.push_back(static_cast<char>(byte));
  } else if (byte < 0xA0) {
    if (char32_t cp = kCp1252High[byte - 0x80]) append_utf8(out, cp);
  } else {
    append_utf8(out, byte);
  }
}

std::string cp1252_to_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() + bytes.size() / 8);
  for (char c : bytes) append_cp1252(out, static_cast<unsigned char>(c));
  return out;
}

// Lower case, unquoted, with the vendor labels old mailers used mapped to the names
// iconv knows (Outlook's ks_c_5601-1987 is really CP949; gb2312 mail is read as its
// superset GBK, as browsers do).
std::string canonical_label(std::string_view charset) {
  std::string label;
  for (char c : charset)
    if (c != '"' && c != '\'' && !std::isspace(static_cast<unsigned char>(c)))
      label.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (label == "ks_c_5601-1987" || label == "ks_c_5601" || label == "euc-kr") return "cp949";
  if (label == "gb2312" || label == "x-gbk" || label == "chinesegb2312") return "gbk";
  if (label == "chinesebig5" || label == "x-big5") return "big5";
  return label;
}

bool is_passthrough(const std::string& label) {
  return label == "us-ascii" || label == "ascii" || label == "utf-8" || label == "utf8";
}

bool is_cp1252(const std::string& label) {
  return label == "iso-8859-1" || label == "iso8859-1" || label == "iso_8859-1" ||
         label == "latin1" || label == "latin-1" || label == "l1" || label == "windows-1252" ||
         label == "cp1252" || label == "x-cp1252";
}

class IconvHandle {
 public:
  explicit IconvHandle(const std::string& from) : cd_(iconv_open("UTF-8", from.c_str())) {}
  ~IconvHandle() {
    if (ok()) iconv_close(cd_);
  }
  IconvHandle(const IconvHandle&) = delete;
  IconvHandle& operator=(const IconvHandle&) = delete;
  bool ok() const { return cd_ != reinterpret_cast<iconv_t>(-1); }
  iconv_t get() const { return cd_; }

 private:
  iconv_t cd_;
};

// Converts with iconv, skipping bytes the charset cannot decode rather than giving up on
// the whole part (spam often mixes encodings inside one part).
bool iconv_to_utf8(std::string_view bytes, const std::string& label, std::string& out) {
  IconvHandle cd(label);
  if (!cd.ok()) return false;
  std::string input(bytes);
  char* in = input.data();
  size_t in_left = input.size();
  std::string buffer(4 * input.size() + 16, '\0');
  size_t produced = 0;
  while (in_left > 0) {
    char* dst = buffer.data() + produced;
    size_t dst_left = buffer.size() - produced;
    const size_t rc = iconv(cd.get(), &in, &in_left, &dst, &dst_left);
    produced = buffer.size() - dst_left;
    if (rc != static_cast<size_t>(-1)) break;
    if (errno == E2BIG) {
      buffer.resize(2 * buffer.size());
    } else {  // EILSEQ or a truncated sequence at the end: drop one byte and go on
      ++in;
      --in_left;
      iconv(cd.get(), nullptr, nullptr, nullptr, nullptr);
    }
  }
  buffer.resize(produced);
  out = sanitize_utf8(buffer);
  return true;
}

}  // namespace

size_t utf8_sequence_length(std::string_view s) {
  if (s.empty()) return 0;
  utf8proc_int32_t cp;
  const auto n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(s.data()),
                                  static_cast<utf8proc_ssize_t>(std::min<size_t>(s.size(), 4)), &cp);
  return n > 0 ? static_cast<size_t>(n) : 0;
}

bool is_valid_utf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    const size_t n = utf8_sequence_length(text.substr(i));
    if (n == 0) return false;
    i += n;
  }
  return true;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    if (cp >= 0xD800 && cp < 0xE000) return;
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x110000) {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string sanitize_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t i = 0;
  while (i < bytes.size()) {
    const auto byte = static_cast<unsigned char>(bytes[i]);
    if (byte < 0x80) {
      out.push_back(static_cast<char>(byte));
      ++i;
      continue;
    }
    const size_t n = utf8_sequence_length(bytes.substr(i));
    if (n > 0) {
      out.append(bytes.substr(i, n));
      i += n;
    } else {
      append_cp1252(out, byte);
      ++i;
    }
  }
  return out;
}

std::string charset_to_utf8(std::string_view bytes, std::string_view charset) {
  const bool ascii_only = std::all_of(bytes.begin(), bytes.end(),
                                      [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  const std::string label = canonical_label(charset);
  // iso-2022-* escapes are 7-bit, so pure-ASCII bytes only skip decoding for other labels.
  if (ascii_only && label.rfind("iso-2022", 0) != 0 && label.rfind("utf-7", 0) != 0)
    return std::string(bytes);
  if (label.empty() || is_passthrough(label)) return sanitize_utf8(bytes);
  if (is_cp1252(label)) return cp1252_to_utf8(bytes);
  std::string out;
  if (iconv_to_utf8(bytes, label, out)) return out;
  return sanitize_utf8(bytes);
}

bool is_known_charset(std::string_view charset) {
  const std::string label = canonical_label(charset);
  if (label.empty()) return false;
  if (is_passthrough(label) || is_cp1252(label)) return true;
  return IconvHandle(label).ok();
}

std::string_view truncate_utf8(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t end = max_bytes;
  // Back up over continuation bytes so the cut lands before a lead byte.
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

}  // namespace qzo

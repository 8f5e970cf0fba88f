// HTML to text for email bodies: a single forward scan, no DOM, because mail HTML is too
// broken for a strict parser and only its text matters for pretraining.
#include "framework/data/html_text.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <unordered_map>

#include "framework/data/charset.h"

namespace qzo {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }
// ASCII only: markup and MIME keywords are ASCII, and std::tolower consults the locale.
char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

// Case-insensitive search for an ASCII needle.
size_t find_ci(std::string_view hay, std::string_view needle, size_t from) {
  if (needle.empty() || hay.size() < needle.size()) return std::string_view::npos;
  for (size_t i = from; i + needle.size() <= hay.size(); ++i) {
    size_t k = 0;
    while (k < needle.size() && lower(hay[i + k]) == needle[k]) ++k;
    if (k == needle.size()) return i;
  }
  return std::string_view::npos;
}

const std::unordered_map<std::string, char32_t>& named_entities() {
  static const std::unordered_map<std::string, char32_t> table = {
      {"amp", '&'},      {"lt", '<'},       {"gt", '>'},       {"quot", '"'},
      {"apos", '\''},    {"nbsp", ' '},     {"copy", 0xA9},    {"reg", 0xAE},
      {"trade", 0x2122}, {"hellip", 0x2026}, {"mdash", 0x2014}, {"ndash", 0x2013},
      {"lsquo", 0x2018}, {"rsquo", 0x2019}, {"ldquo", 0x201C}, {"rdquo", 0x201D},
      {"bull", 0x2022},  {"middot", 0xB7},  {"euro", 0x20AC},  {"pound", 0xA3},
      {"yen", 0xA5},     {"cent", 0xA2},    {"sect", 0xA7},    {"deg", 0xB0},
      {"plusmn", 0xB1},  {"times", 0xD7},   {"divide", 0xF7},  {"laquo", 0xAB},
      {"raquo", 0xBB},   {"iexcl", 0xA1},   {"iquest", 0xBF},  {"eacute", 0xE9},
      {"egrave", 0xE8},  {"aacute", 0xE1},  {"agrave", 0xE0},  {"uuml", 0xFC},
      {"ouml", 0xF6},    {"auml", 0xE4},    {"szlig", 0xDF},   {"ccedil", 0xE7},
      {"ntilde", 0xF1}};
  return table;
}

// Decodes one reference at text[pos] == '&'; returns the characters consumed, 0 if none.
size_t decode_entity(std::string_view text, size_t pos, std::string& out) {
  const size_t semi = text.find(';', pos + 1);
  if (semi == std::string_view::npos || semi - pos > 10) return 0;
  const std::string_view name = text.substr(pos + 1, semi - pos - 1);
  if (name.size() >= 2 && name[0] == '#') {
    const bool hex = name[1] == 'x' || name[1] == 'X';
    const std::string_view digits = name.substr(hex ? 2 : 1);
    if (digits.empty()) return 0;
    char32_t cp = 0;
    for (char c : digits) {
      int v = -1;
      if (c >= '0' && c <= '9') v = c - '0';
      else if (hex && lower(c) >= 'a' && lower(c) <= 'f') v = lower(c) - 'a' + 10;
      if (v < 0) return 0;
      cp = cp * (hex ? 16 : 10) + static_cast<char32_t>(v);
      if (cp > 0x10FFFF) return 0;
    }
    // Browsers read &#128;..&#159; as windows-1252, and so did the spammers who wrote them.
    if (cp >= 0x80 && cp < 0xA0)
      out += charset_to_utf8(std::string(1, static_cast<char>(cp)), "windows-1252");
    else if (cp == '\t' || cp == '\n' || cp == '\r' || cp == 0xA0)
      out.push_back(' ');
    else if (cp >= 0x20)
      append_utf8(out, cp);
    return semi - pos + 1;
  }
  const auto& table = named_entities();
  const auto it = table.find(std::string(name));
  if (it == table.end()) return 0;
  append_utf8(out, it->second);
  return semi - pos + 1;
}

// Tags whose content is not shown; skipped with their content when closed.
bool is_hidden_container(const std::string& tag) {
  return tag == "script" || tag == "style" || tag == "head" || tag == "title" ||
         tag == "xml" || tag == "noscript";
}

// Line breaks a tag contributes to the rendered text.
const char* tag_break(const std::string& tag) {
  static const char* const kParagraph[] = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "table",
                                           "blockquote", "ul", "ol"};
  static const char* const kLine[] = {"br", "div", "tr", "li", "hr", "center", "pre", "dl",
                                      "dt", "dd", "form", "address", "tbody", "body", "html"};
  for (const char* t : kParagraph)
    if (tag == t) return "\n\n";
  for (const char* t : kLine)
    if (tag == t) return "\n";
  if (tag == "td" || tag == "th") return " ";
  return "";
}

// End of a tag starting at html[pos] == '<', honouring quoted attribute values.
size_t tag_end(std::string_view html, size_t pos) {
  char quote = 0;
  for (size_t i = pos + 1; i < html.size(); ++i) {
    const char c = html[i];
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      // Only a quote right after '=' opens a value; stray quotes in broken HTML do not.
      size_t k = i;
      while (k > pos && is_space(html[k - 1])) --k;
      if (k > pos && html[k - 1] == '=') quote = c;
    } else if (c == '>') {
      return i;
    }
  }
  return std::string_view::npos;
}

}  // namespace

std::string decode_html_entities(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '&') {
      const size_t used = decode_entity(text, i, out);
      if (used > 0) {
        i += used - 1;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

bool looks_like_html(std::string_view text) {
  const std::string_view head = text.substr(0, 2048);
  return find_ci(head, "<html", 0) != std::string_view::npos ||
         find_ci(head, "<body", 0) != std::string_view::npos ||
         find_ci(head, "<!doctype html", 0) != std::string_view::npos;
}

std::string html_meta_charset(std::string_view html) {
  const std::string_view head = html.substr(0, 8192);
  size_t meta = find_ci(head, "<meta", 0);
  while (meta != std::string_view::npos) {
    const size_t end = head.find('>', meta);
    const std::string_view tag = head.substr(meta, end == std::string_view::npos ? end : end - meta);
    const size_t at = find_ci(tag, "charset=", 0);
    if (at != std::string_view::npos) {
      std::string label;
      for (size_t i = at + 8; i < tag.size(); ++i) {
        const char c = tag[i];
        if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == ':' || c == '.')
          label.push_back(c);
        else if (!(label.empty() && (c == '"' || c == '\'')))
          break;
      }
      if (!label.empty()) return label;
    }
    meta = find_ci(head, "<meta", meta + 5);
  }
  return "";
}

std::string html_to_text(std::string_view html) {
  std::string out;
  out.reserve(html.size() / 2);
  std::string text_run;  // raw text between tags, entity-decoded when flushed
  auto flush = [&] {
    if (text_run.empty()) return;
    const std::string decoded = decode_html_entities(text_run);
    for (char c : decoded) {
      if (is_space(c)) {
        if (!out.empty() && out.back() != ' ' && out.back() != '\n') out.push_back(' ');
      } else {
        out.push_back(c);
      }
    }
    text_run.clear();
  };
  size_t i = 0;
  while (i < html.size()) {
    const char c = html[i];
    if (c != '<') {
      text_run.push_back(c);
      ++i;
      continue;
    }
    if (html.compare(i, 4, "<!--") == 0) {
      const size_t close = html.find("-->", i + 4);
      i = close == std::string_view::npos ? html.size() : close + 3;
      continue;
    }
    const size_t next = i + 1 < html.size() ? i + 1 : i;
    const char n = html[next];
    if (!(std::isalpha(static_cast<unsigned char>(n)) || n == '/' || n == '!' || n == '?')) {
      text_run.push_back(c);  // a literal '<' as in "a < b"
      ++i;
      continue;
    }
    const size_t end = tag_end(html, i);
    if (end == std::string_view::npos) {
      text_run.push_back(c);
      ++i;
      continue;
    }
    flush();
    size_t k = i + 1;
    const bool closing = html[k] == '/';
    if (closing) ++k;
    std::string tag;
    while (k < end && (std::isalnum(static_cast<unsigned char>(html[k])))) tag.push_back(lower(html[k++]));
    i = end + 1;
    if (!closing && is_hidden_container(tag)) {
      const size_t close = find_ci(html, "</" + tag, i);
      if (close != std::string_view::npos) {
        const size_t close_end = html.find('>', close);
        i = close_end == std::string_view::npos ? html.size() : close_end + 1;
        continue;
      }
    }
    const char* brk = tag_break(tag);
    if (*brk == ' ') {
      if (!out.empty() && out.back() != ' ' && out.back() != '\n') out.push_back(' ');
    } else if (*brk) {
      while (!out.empty() && out.back() == ' ') out.pop_back();
      out += brk;
    }
  }
  flush();
  return out;
}

}  // namespace qzo

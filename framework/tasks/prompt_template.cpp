// Prompt templates: parsing "{field|filter:arg}" placeholders and rendering them over JSON
// records. The filters reproduce the small text fix-ups of the MeZO templates (BoolQ's
// capitalised question with a '?', COPA's premise without its final period, ...).
#include "framework/tasks/prompt_template.h"

#include <nlohmann/json.hpp>
#include <utf8proc.h>

#include "framework/core/error.h"

namespace qzo {
namespace {

const char* const kBuiltinFilters[] = {"strip",         "lower",       "upper_first", "lower_first_word",
                                       "question_mark", "drop_period", "replace",     "fill"};

bool is_builtin(const std::string& name) {
  for (const char* f : kBuiltinFilters)
    if (name == f) return true;
  return false;
}

bool is_path_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == '-';
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string strip(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && is_space(s[b])) ++b;
  while (e > b && is_space(s[e - 1])) --e;
  return s.substr(b, e - b);
}

// Maps every code point of `s` (valid UTF-8 from the JSON parser) through `f`.
std::string map_code_points(const std::string& s, utf8proc_int32_t (*f)(utf8proc_int32_t),
                            size_t limit_bytes) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    utf8proc_int32_t cp;
    const auto n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(s.data() + i),
                                    static_cast<utf8proc_ssize_t>(s.size() - i), &cp);
    if (n <= 0) {  // not UTF-8: keep the byte
      out += s[i++];
      continue;
    }
    if (i >= limit_bytes) {
      out.append(s, i, std::string::npos);
      break;
    }
    utf8proc_uint8_t buf[4];
    const auto m = utf8proc_encode_char(f(cp), buf);
    out.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(m));
    i += static_cast<size_t>(n);
  }
  return out;
}

std::string json_kind(const nlohmann::json& v) {
  if (v.is_array()) return "a list";
  if (v.is_object()) return "an object";
  if (v.is_null()) return "null";
  return "a value";
}

}  // namespace

const nlohmann::json* find_field(const nlohmann::json& record, const std::string& path) {
  const nlohmann::json* node = &record;
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    const std::string key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!node->is_object()) return nullptr;
    const auto it = node->find(key);
    if (it == node->end()) return nullptr;
    node = &*it;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return node->is_null() ? nullptr : node;
}

std::string field_text(const nlohmann::json& value, const std::string& record_where,
                       const std::string& path) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number() || value.is_boolean()) return value.dump();
  fail(record_where + ": field '" + path + "' is " + json_kind(value) + ", expected text");
}

PromptTemplate PromptTemplate::parse(const std::string& text, const std::string& where, const ValueMaps& maps,
                                     bool allow_candidate) {
  PromptTemplate t;
  t.text_ = text;
  t.maps_ = maps;
  const auto bad = [&](const std::string& why) { fail(where + ": template \"" + text + "\": " + why); };
  std::string literal;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '}') {
      if (i + 1 < text.size() && text[i + 1] == '}') {
        literal += '}';
        i += 2;
        continue;
      }
      bad("unmatched '}' (write '}}' for a literal brace)");
    }
    if (c != '{') {
      literal += c;
      ++i;
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '{') {
      literal += '{';
      i += 2;
      continue;
    }
    const size_t close = text.find('}', i);
    if (close == std::string::npos) bad("unclosed '{' (write '{{' for a literal brace)");
    const std::string inside = text.substr(i + 1, close - i - 1);
    i = close + 1;

    Piece piece;
    size_t bar = inside.find('|');
    piece.path = inside.substr(0, bar);
    if (piece.path.empty()) bad("empty placeholder '{" + inside + "}'");
    for (char pc : piece.path)
      if (!is_path_char(pc)) bad("placeholder '{" + inside + "}' is not a field path");
    if (piece.path == "candidate" && !allow_candidate)
      bad("{candidate} is only available in candidate_template");
    while (bar != std::string::npos) {
      const size_t next = inside.find('|', bar + 1);
      const std::string spec =
          inside.substr(bar + 1, next == std::string::npos ? std::string::npos : next - bar - 1);
      bar = next;
      Filter f;
      const size_t colon = spec.find(':');
      f.name = spec.substr(0, colon);
      const std::string arg = colon == std::string::npos ? "" : spec.substr(colon + 1);
      if (!is_builtin(f.name) && !maps.count(f.name))
        bad("unknown filter '" + f.name +
            "' (built-in: strip, lower, upper_first, lower_first_word, question_mark, drop_period, "
            "replace:FROM=>TO, fill:TOKEN, or a name under maps:)");
      if (f.name == "replace") {
        const size_t arrow = arg.find("=>");
        if (arrow == std::string::npos || arrow == 0)
          bad("filter 'replace' expects 'replace:FROM=>TO', got '" + spec + "'");
        f.arg = arg.substr(0, arrow);
        f.arg2 = arg.substr(arrow + 2);
      } else if (f.name == "fill") {
        if (!allow_candidate) bad("filter 'fill' is only available in candidate_template");
        if (arg.empty()) bad("filter 'fill' expects 'fill:TOKEN', the text the candidate replaces");
        f.arg = arg;
      } else if (colon != std::string::npos) {
        bad("filter '" + f.name + "' takes no argument, got '" + spec + "'");
      }
      piece.filters.push_back(std::move(f));
    }
    if (!literal.empty()) {
      Piece lit;
      lit.literal = std::move(literal);
      literal.clear();
      t.pieces_.push_back(std::move(lit));
    }
    t.pieces_.push_back(std::move(piece));
  }
  if (!literal.empty()) {
    Piece lit;
    lit.literal = std::move(literal);
    t.pieces_.push_back(std::move(lit));
  }
  return t;
}

std::vector<std::string> PromptTemplate::fields() const {
  std::vector<std::string> out;
  for (const Piece& p : pieces_)
    if (!p.path.empty() && p.path != "candidate") out.push_back(p.path);
  return out;
}

std::string PromptTemplate::apply(const Filter& f, std::string v, const std::string& record_where,
                                  const std::string& path, const std::string* candidate) const {
  if (f.name == "strip") return strip(v);
  if (f.name == "lower") return map_code_points(v, utf8proc_tolower, std::string::npos);
  if (f.name == "upper_first") return map_code_points(v, utf8proc_toupper, 1);
  if (f.name == "lower_first_word") {
    // COPA's choices start a clause after "because"/"so"; "I" keeps its capital.
    const size_t end = v.find(' ');
    const std::string first = v.substr(0, end);
    if (first == "I") return v;
    return map_code_points(first, utf8proc_tolower, std::string::npos) +
           (end == std::string::npos ? "" : v.substr(end));
  }
  if (f.name == "question_mark") return !v.empty() && v.back() == '?' ? v : v + "?";
  if (f.name == "drop_period") {
    while (!v.empty() && is_space(v.back())) v.pop_back();
    if (!v.empty() && v.back() == '.') v.pop_back();
    return v;
  }
  if (f.name == "replace" || f.name == "fill") {
    const std::string& from = f.arg;
    const std::string& to = f.name == "fill" ? *candidate : f.arg2;
    std::string out;
    size_t pos = 0;
    for (size_t hit; (hit = v.find(from, pos)) != std::string::npos; pos = hit + from.size())
      out.append(v, pos, hit - pos).append(to);
    return out.append(v, pos, std::string::npos);
  }
  const auto& table = maps_.at(f.name);
  const auto it = table.find(v);
  if (it == table.end())
    fail(record_where + ": field '" + path + "' is '" + v + "', which map '" + f.name + "' does not list");
  return it->second;
}

std::string PromptTemplate::render(const nlohmann::json& record, const std::string& record_where,
                                   const std::string* candidate) const {
  std::string out;
  for (const Piece& p : pieces_) {
    if (p.path.empty()) {
      out += p.literal;
      continue;
    }
    std::string value;
    if (p.path == "candidate") {
      if (!candidate) fail(record_where + ": template \"" + text_ + "\" needs a candidate");
      value = *candidate;
    } else {
      const nlohmann::json* v = find_field(record, p.path);
      if (!v) fail(record_where + ": missing field '" + p.path + "'");
      value = field_text(*v, record_where, p.path);
    }
    for (const Filter& f : p.filters) {
      if (f.name == "fill" && !candidate)
        fail(record_where + ": template \"" + text_ + "\" needs a candidate");
      value = apply(f, std::move(value), record_where, p.path, candidate);
    }
    out += value;
  }
  return out;
}

}  // namespace qzo

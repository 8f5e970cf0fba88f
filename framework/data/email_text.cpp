// Email cleaning for the pretraining corpus. Malformed mail never throws: every fault
// degrades to less text, because one odd spam must not stop loading the corpus.
#include "framework/data/email_text.h"

#include <cctype>
#include <vector>

#include "framework/data/charset.h"
#include "framework/data/html_text.h"
#include "framework/data/mime.h"

namespace qzo {
namespace {

constexpr int kMaxMimeDepth = 12;

struct TextPart {
  std::string text;  // UTF-8; for HTML parts already converted to text
  bool html = false;
};

std::string lower_copy(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string decode_transfer(std::string_view body, const std::vector<HeaderField>& headers) {
  const std::string encoding = lower_copy(header_value(headers, "content-transfer-encoding").value_or(""));
  if (encoding.find("quoted-printable") != std::string::npos) return decode_quoted_printable(body);
  if (encoding.find("base64") != std::string::npos) return decode_base64(body);
  return std::string(body);  // 7bit, 8bit, binary, or unknown
}

bool has_visible_text(std::string_view text) {
  for (char c : text)
    if (!std::isspace(static_cast<unsigned char>(c))) return true;
  return false;
}

// Collects the text leaves of an entity in order. In multipart/alternative only one child
// counts: the first that yields plain text, else the first that yields anything.
// message_charset stands in for a part's missing or unknown charset label.
void collect_text(const MimeEntity& entity, int depth, const std::string& message_charset,
                  std::vector<TextPart>& parts) {
  if (depth > kMaxMimeDepth) return;
  const ContentType ct = parse_content_type(header_value(entity.headers, "content-type").value_or(""));
  const std::string& type = ct.media_type;
  if (type.rfind("multipart/", 0) == 0) {
    const std::vector<std::string_view> children = split_multipart(entity.body, ct.param("boundary"));
    if (children.empty()) {  // a broken multipart: read its body as plain text
      if (has_visible_text(entity.body)) parts.push_back({sanitize_utf8(entity.body), false});
      return;
    }
    if (type == "multipart/alternative") {
      std::vector<TextPart> chosen;
      for (std::string_view child : children) {
        std::vector<TextPart> sub;
        collect_text(parse_mime_entity(child), depth + 1, message_charset, sub);
        if (sub.empty()) continue;
        bool plain = false;
        for (const auto& p : sub) plain |= !p.html;
        if (plain) {
          chosen = std::move(sub);
          break;
        }
        if (chosen.empty()) chosen = std::move(sub);
      }
      for (auto& p : chosen) parts.push_back(std::move(p));
      return;
    }
    for (std::string_view child : children)
      collect_text(parse_mime_entity(child), depth + 1, message_charset, parts);
    return;
  }
  if (type == "message/rfc822") {  // a forwarded message: its body is text too
    const std::string inner = normalize_line_endings(decode_transfer(entity.body, entity.headers));
    collect_text(parse_mime_entity(inner), depth + 1, message_charset, parts);
    return;
  }
  if (type != "text/plain" && type != "text/html") return;  // attachments, signatures, images
  const std::string bytes = normalize_line_endings(decode_transfer(entity.body, entity.headers));
  std::string charset = ct.param("charset");
  if (!is_known_charset(charset)) {
    // Browsers honour <meta charset>; mail readers fall back to the message's charset.
    const std::string meta = type == "text/html" ? html_meta_charset(bytes) : "";
    charset = is_known_charset(meta) ? meta : message_charset;
  }
  const std::string text = charset_to_utf8(bytes, charset);
  if (!has_visible_text(text)) return;
  if (type == "text/html" || looks_like_html(text))
    parts.push_back({html_to_text(text), true});
  else
    parts.push_back({text, false});
}

// Drops PGP armour, which is base64 noise to a language model: signature blocks whole,
// and the "BEGIN PGP SIGNED MESSAGE" line with its armour headers (up to the blank line).
std::string strip_pgp_armour(std::string text) {
  const std::string sig_begin = "-----BEGIN PGP SIGNATURE-----";
  const std::string sig_end = "-----END PGP SIGNATURE-----";
  size_t at = 0;
  while ((at = text.find(sig_begin, at)) != std::string::npos) {
    const size_t stop = text.find(sig_end, at);
    text.erase(at, stop == std::string::npos ? std::string::npos : stop + sig_end.size() - at);
  }
  const std::string signed_begin = "-----BEGIN PGP SIGNED MESSAGE-----";
  at = 0;
  while ((at = text.find(signed_begin, at)) != std::string::npos) {
    const size_t blank = text.find("\n\n", at);
    text.erase(at, blank == std::string::npos ? std::string::npos : blank + 2 - at);
  }
  return text;
}

// Removed: C0 controls other than tab/newline, DEL, C1 controls, the BOM, and the
// replacement character (a byte some earlier tool already lost).
bool is_dropped(std::string_view cp) {
  const auto b0 = static_cast<unsigned char>(cp[0]);
  if (cp.size() == 1) return (b0 < 0x20 && b0 != '\t' && b0 != '\n') || b0 == 0x7F;
  if (cp.size() == 2) return b0 == 0xC2 && static_cast<unsigned char>(cp[1]) < 0xA0;
  return cp == "\xEF\xBB\xBF" || cp == "\xEF\xBF\xBD";
}

bool is_blank(std::string_view cp) { return cp == " " || cp == "\t" || cp == "\xC2\xA0"; }

}  // namespace

std::string normalize_email_text(std::string_view text, size_t max_bytes) {
  std::string out;
  out.reserve(text.size());
  std::string line;
  int pending_blank_lines = 0;
  auto end_line = [&] {
    while (!line.empty() && line.back() == ' ') line.pop_back();
    if (line.empty()) {
      ++pending_blank_lines;
    } else {
      if (!out.empty()) out += pending_blank_lines > 0 ? "\n\n" : "\n";
      out += line;
      pending_blank_lines = 0;
    }
    line.clear();
  };
  std::string stray;  // a byte that is not UTF-8, re-encoded
  size_t i = 0;
  while (i < text.size() && out.size() + line.size() <= max_bytes) {
    size_t n = static_cast<unsigned char>(text[i]) < 0x80 ? 1 : utf8_sequence_length(text.substr(i));
    std::string_view cp = text.substr(i, n);
    if (n == 0) {
      stray = sanitize_utf8(text.substr(i, 1));
      cp = stray;
      n = 1;
    }
    i += n;
    if (cp == "\n" || cp == "\r") {
      end_line();
    } else if (is_blank(cp)) {
      if (!line.empty() && line.back() != ' ') line.push_back(' ');
    } else if (!is_dropped(cp)) {
      line.append(cp);
    }
  }
  end_line();
  if (out.size() > max_bytes) {
    out.resize(truncate_utf8(out, max_bytes).size());
    while (!out.empty() && (out.back() == ' ' || out.back() == '\n')) out.pop_back();
  }
  return out;
}

EmailText clean_email(std::string_view raw_message, size_t max_body_bytes) {
  std::string crlf_free;  // only allocated for messages that need it
  std::string_view message = raw_message;
  if (raw_message.find('\r') != std::string_view::npos) message = crlf_free = normalize_line_endings(raw_message);
  const MimeEntity root = parse_mime_entity(message);
  EmailText email;
  const std::string raw_subject = header_value(root.headers, "subject").value_or("");
  // The charset to assume where a part or the Subject declares none it can be read in.
  std::string message_charset =
      parse_content_type(header_value(root.headers, "content-type").value_or("")).param("charset");
  if (!is_known_charset(message_charset)) message_charset = encoded_word_charset(raw_subject);
  if (!is_known_charset(message_charset)) message_charset.clear();

  std::string subject = decode_rfc2047(raw_subject, message_charset);
  for (char& c : subject)
    if (c == '\n' || c == '\r') c = ' ';
  email.subject = normalize_email_text(subject);

  std::vector<TextPart> parts;
  collect_text(root, 0, message_charset, parts);
  bool any_plain = false;
  for (const auto& p : parts) any_plain |= !p.html;
  std::string body;
  for (const auto& p : parts) {
    if (any_plain && p.html) continue;
    if (!body.empty()) body += "\n\n";
    body += p.text;
  }
  email.body = normalize_email_text(strip_pgp_armour(std::move(body)), max_body_bytes);
  return email;
}

}  // namespace qzo

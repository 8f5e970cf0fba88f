// The readable text of an HTML email part: what a mail reader would show, with markup,
// comments, scripts and styles removed and character references decoded.
#pragma once
#include <string>
#include <string_view>

namespace qzo {

// Input and output are UTF-8. Source whitespace collapses to single spaces as a browser
// renders it; block-level tags (br, p, div, tr, li, headings, ...) become line breaks.
std::string html_to_text(std::string_view html);

// Decodes &name; (the common named references) and &#NN; / &#xHH; inside text.
std::string decode_html_entities(std::string_view text);

// The charset named by a <meta ... charset=...> near the top, "" when there is none.
std::string html_meta_charset(std::string_view html);

// True when a part labelled text/plain is really an HTML document, as much spam is.
bool looks_like_html(std::string_view text);

}  // namespace qzo

// "Did you mean ...?" for mistyped names: the candidate nearest by edit distance, counting a
// swap of two neighbouring letters as one edit (optimal string alignment distance).
#pragma once
#include <string>
#include <vector>

namespace qzo {

size_t edit_distance(const std::string& a, const std::string& b);
// Nearest candidate within a distance that scales with the word's length (at most 1 edit for
// words of up to 5 letters, then a third of the length, and never the whole word); "" when
// none is that close.
std::string closest_match(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace qzo

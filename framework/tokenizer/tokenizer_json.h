// Parsing tokenizer.json. The BPE vocabulary and merges are most of a 10 MB file; they are
// pulled out while parsing (SAX) instead of becoming a JSON tree, which makes loading several
// times faster. Everything else becomes an ordinary nlohmann::json document.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace qzo::tok {

struct BpeParts {
  std::vector<std::pair<std::string, int64_t>> vocab;           // token -> id, in file order
  std::vector<std::pair<std::string, std::string>> merges;      // (left, right), by rank
};

struct TokenizerJson {
  nlohmann::json document;  // model.vocab and model.merges are left null here
  BpeParts bpe;
};

// Errors name the file: "<path>: invalid JSON: ...", "<path>: model.merges[3]: ...".
TokenizerJson parse_tokenizer_json(const std::string& path);

// The same parts read from an already parsed model object (tests, small files).
BpeParts bpe_parts_from_json(const nlohmann::json& model, const std::string& where);

// "left right" (the format before tokenizers 0.20) -> (left, right); false unless it holds
// exactly one space.
bool split_merge_string(const std::string& merge, std::pair<std::string, std::string>& pair);

}  // namespace qzo::tok

// Normalizers of tokenizer.json (Sequence, Prepend, Replace, NFC/NFD/NFKC/NFKD, Lowercase,
// Strip): text -> text, applied to each stretch of text between added tokens.
#pragma once
#include <memory>
#include <string>

#include "framework/tokenizer/json_fields.h"

namespace qzo::tok {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(std::string& text) const = 0;
};

// nullptr for a JSON null (no normalizer).
std::unique_ptr<Normalizer> make_normalizer(const json& config, const JsonPlace& place);

}  // namespace qzo::tok

// Decoders of tokenizer.json (ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip,
// BPEDecoder, Sequence): token strings -> text, each step rewriting the list of strings.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "framework/tokenizer/json_fields.h"

namespace qzo::tok {

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
};

// nullptr for a JSON null (tokens are joined with spaces, as Hugging Face does).
std::unique_ptr<Decoder> make_decoder(const json& config, const JsonPlace& place);

}  // namespace qzo::tok

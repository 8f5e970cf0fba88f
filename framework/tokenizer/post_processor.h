// Post-processors of tokenizer.json (TemplateProcessing, ByteLevel, Sequence, BertProcessing,
// RobertaProcessing) for single sequences: where special tokens such as BOS go around the ids.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "framework/tokenizer/json_fields.h"

namespace qzo::tok {

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  // Adds nothing when add_special_tokens is false, as in Hugging Face.
  virtual void process(std::vector<int32_t>& ids, bool add_special_tokens) const = 0;
};

// nullptr for a JSON null.
std::unique_ptr<PostProcessor> make_post_processor(const json& config, const JsonPlace& place);

}  // namespace qzo::tok

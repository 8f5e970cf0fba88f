// The Llama-2 shapes the at-scale benchmarks build (HF config.json of meta-llama/Llama-2-7b-hf
// and -13b-hf), and a tiny one of the same family for quick checks.
#pragma once
#include <optional>
#include <string>

#include "framework/model/config.h"

namespace qzo::bench {

// "7b", "13b" or "tiny"; nullopt for another name (the caller says what it accepts).
std::optional<ModelConfig> llama2_shape(const std::string& name);
// "llama-2-7b", "llama-2-13b", "tiny".
std::string llama2_shape_label(const std::string& name);

}  // namespace qzo::bench

// Turns what a user wrote for one key — a YAML node in a file, or the text after '=' in
// `--set key=value` — into a Value of the key's type, or throws a one-line qzo::Error.
#pragma once
#include <string>

#include <yaml-cpp/yaml.h>

#include "framework/config/schema.h"
#include "framework/core/quote.h"

namespace qzo {

// `where` prefixes every message: "configs/x.yaml:7" or "--set optim.lr=abc". Items of a
// block list are reported at their own line of `file`.
// Throws e.g. "configs/x.yaml:7: key 'optim.steps' expects an integer, got 'abc'".
Value value_from_yaml(const KeySpec& spec, const YAML::Node& node, const std::string& file,
                      int line);
// Lists are written in YAML flow style ("[0.9, 0.999]") or comma separated ("0.9,0.999").
Value value_from_text(const KeySpec& spec, const std::string& text, const std::string& where);


}  // namespace qzo

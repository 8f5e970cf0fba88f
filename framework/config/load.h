// Reading a run's YAML file against a Schema: `base:` inheritance, unknown/mistyped keys
// reported with file and line, then `--set key=value` overrides, then required-key checks.
#pragma once
#include <string>
#include <vector>

#include "framework/config/config.h"

namespace qzo {

// `overrides` are "key=value" strings from --set, applied in order after the file.
// Throws qzo::Error with one line such as
//   "configs/x.yaml:12: unknown key 'optim.lrr' (did you mean 'optim.lr'?)".
Config load_config(const std::string& path, const Schema& schema,
                   const std::vector<std::string>& overrides = {});
// The same from YAML text (e.g. a config stored in a run log); `name` stands for the file in
// messages, and a `base:` in it is resolved relative to name's folder.
Config load_config_text(const std::string& yaml, const std::string& name, const Schema& schema,
                        const std::vector<std::string>& overrides = {});
// Applies "key=value" overrides to a loaded config; errors read "--set key=value: ...".
void apply_overrides(Config& config, const std::vector<std::string>& overrides);

}  // namespace qzo

// Reading the JSON records that reports are generated from (memory records, perplexity
// records): typed fields with one-line errors naming the record and the key, and printf-style
// number formatting for the tables.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace qzo {

// printf(f, v) into a string ("%.2f", "%+.1f%%", ...).
std::string format_number(const char* f, double v);

// j[name], or "<origin>: key '<name>' is missing".
const nlohmann::json& record_key(const nlohmann::json& j, const std::string& name, const std::string& origin);
// j[name] as a number / a string, or "<origin>: key '<name>' must be a number / a string".
double record_number(const nlohmann::json& j, const std::string& name, const std::string& origin);
std::string record_text(const nlohmann::json& j, const std::string& name, const std::string& origin);

}  // namespace qzo

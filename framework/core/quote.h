// What an input said, made fit for a one-line message: a newline as \n (YAML and JSON strings
// hold any character, and library messages quote them), control bytes as \xNN, long text cut
// short at 200 bytes. quote_value() also puts it in single quotes.
#pragma once
#include <string>

namespace qzo {

std::string escape_for_message(const std::string& text);
std::string quote_value(const std::string& text);

}  // namespace qzo

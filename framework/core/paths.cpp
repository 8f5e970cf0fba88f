#include "framework/core/paths.h"

#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

#include "framework/core/error.h"

namespace qzo {

std::string cache_dir() {
  if (const char* c = std::getenv("QZO_CACHE"); c && *c) return c;
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : "/tmp") + "/.cache/qzo";
}

std::string npm_package_dir(const std::string& package) {
  std::string flat = package;
  if (!flat.empty() && flat[0] == '@') flat.erase(0, 1);
  for (char& c : flat)
    if (c == '/') c = '-';
  const std::string dir = cache_dir() + "/npm/" + flat + "/package";
  if (!file_exists(dir + "/package.json"))
    fail("npm package " + package + " is not installed under " + dir + " (run launch/setup.sh)");
  return dir;
}

bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path + ": cannot read file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace qzo

namespace qzo {

void write_text_file_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) fail(path + ": cannot write");
    out << text;
    if (!out.flush()) fail(path + ": write failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail(path + ": cannot rename " + tmp + " into place");
}

}  // namespace qzo

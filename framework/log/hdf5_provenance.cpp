// Git commit and time stamps for run-log provenance (see hdf5_provenance.h).
#include "framework/log/hdf5_provenance.h"

#include <cctype>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace qzo {

namespace fs = std::filesystem;

namespace {

std::string first_line(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

bool is_commit_hash(const std::string& s) {
  if (s.size() != 40 && s.size() != 64) return false;
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

// A ref such as "refs/heads/main": a loose file first, then the packed-refs table.
std::string resolve_ref(const fs::path& git_dir, const fs::path& common_dir, const std::string& ref) {
  for (const fs::path& dir : {git_dir, common_dir}) {
    const std::string loose = first_line(dir / ref);
    if (is_commit_hash(loose)) return loose;
  }
  std::ifstream packed(common_dir / "packed-refs");
  std::string line;
  while (std::getline(packed, line)) {
    std::istringstream fields(line);
    std::string hash, name;
    if (fields >> hash >> name && name == ref && is_commit_hash(hash)) return hash;
  }
  return "unknown";
}

}  // namespace

std::string source_git_commit(const std::string& source_dir) {
  fs::path git_dir = fs::path(source_dir) / ".git";
  std::error_code ec;
  if (fs::is_regular_file(git_dir, ec)) {  // a worktree or submodule: "gitdir: <path>"
    const std::string pointer = first_line(git_dir);
    if (pointer.rfind("gitdir: ", 0) != 0) return "unknown";
    fs::path target = pointer.substr(8);
    git_dir = target.is_absolute() ? target : fs::path(source_dir) / target;
  }
  if (!fs::is_directory(git_dir, ec)) return "unknown";
  fs::path common_dir = git_dir;
  const std::string common = first_line(git_dir / "commondir");
  if (!common.empty()) common_dir = fs::path(common).is_absolute() ? fs::path(common) : git_dir / common;
  const std::string head = first_line(git_dir / "HEAD");
  if (is_commit_hash(head)) return head;  // detached HEAD
  if (head.rfind("ref: ", 0) == 0) return resolve_ref(git_dir, common_dir, head.substr(5));
  return "unknown";
}

std::string utc_timestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

}  // namespace qzo

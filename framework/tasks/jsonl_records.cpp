// Reading a task's JSONL split: one JSON object per line, each remembered with its line so
// that later errors (a missing field, an unknown label) can point at it.
#include <fstream>

#include "framework/core/error.h"
#include "framework/tasks/task_sources.h"

namespace qzo {

std::vector<TaskRecord> read_jsonl_records(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path + ": cannot read task data file");
  std::vector<TaskRecord> records;
  std::string line;
  for (size_t number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(number);
    nlohmann::json value;
    try {
      value = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {  // parse_error, and out_of_range for 1e999
      std::string why = e.what();
      const size_t bracket = why.find("] ");  // drop nlohmann's "[json.exception...] " tag
      if (why.rfind("[json.exception", 0) == 0 && bracket != std::string::npos) why.erase(0, bracket + 2);
      fail(where + ": invalid JSON: " + why);
    }
    if (!value.is_object()) fail(where + ": expected one JSON object per line");
    records.push_back({std::move(value), where});
  }
  return records;
}

}  // namespace qzo

// Where task records come from: JSONL files (one JSON object a line, errors located by
// file:line) and the held-out SpamAssassin emails. Internal to framework/tasks.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "framework/tasks/task.h"

namespace qzo {

struct TaskRecord {
  nlohmann::json value;
  std::string where;  // "<path>:<line>" or "spam-assassin <key>"
};

// Blank lines are skipped; a line that is not a JSON object throws "<path>:<line>: ...".
std::vector<TaskRecord> read_jsonl_records(const std::string& path);

// The spam_assassin source of load_task.
TaskData load_spam_task(const TaskSpec& spec, int n_train, int n_dev, int n_eval, uint64_t seed);

}  // namespace qzo

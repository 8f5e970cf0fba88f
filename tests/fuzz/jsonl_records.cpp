// Fuzzes the JSONL task file reader (one JSON object a line, errors located by file:line).
#include "framework/tasks/task_sources.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = (qzo::fuzz::work_dir() / "train.jsonl").string();
  qzo::fuzz::write_file(path, data, size);
  try {
    for (const qzo::TaskRecord& record : qzo::read_jsonl_records(path)) {
      (void)record.value.dump();
      if (record.where.find(path) != 0) std::abort();
    }
    qzo::fuzz::note_accepted();
  } catch (const qzo::Error& e) {
    qzo::fuzz::check_rejection(e, path);
  }
  return 0;
}

// A RunLog that keeps what rank 0 logs in memory: the tests of the trainer read its step rows
// and final status.
#pragma once
#include <string>
#include <vector>

#include "framework/log/run_log.h"

namespace qzo::testing {

class RecordingLog final : public RunLog {
 public:
  void begin(const RunInfo&) override {}
  void step(const StepRecord& r) override { steps.push_back(r); }
  void eval(const EvalRecord&) override {}
  void finish(const nlohmann::json&, const std::string& s) override { status = s; }
  std::vector<StepRecord> steps;
  std::string status;
};

}  // namespace qzo::testing

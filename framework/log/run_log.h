// What a training run reports while it runs, independent of where it lands: the trainer
// calls these on rank 0 only; the HDF5 log (hdf5_run_log.h) is the implementation that
// sweeps and `qzo train --log-h5` use. Records are plain values so a log never sees the
// model or the communicator.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace qzo {

struct RunInfo {
  std::string name;
  std::string config_yaml;  // the full resolved config
  std::string method, quantizer, task, metric, backend;
  int world_size = 1;
  uint64_t seed = 0;
  std::vector<std::string> hosts;  // one per rank, in rank order
  uint64_t config_hash = 0;
  // > 0 when the run continues from a checkpoint taken before this step: a log that holds
  // the run keeps its rows before this step and appends after them.
  int64_t resume_step = 0;
};

// One row per (step, perturbation k).
struct StepRecord {
  int64_t step = 0;
  int perturbation = 0;
  double loss_plus = 0, loss_minus = 0;
  double proj_grad_raw = 0, proj_grad_clipped = 0;
  bool clipped = false;
  double lr = 0;
  int64_t tokens = 0;        // global tokens this step
  double wall_s = 0;         // seconds since training began
  int64_t skipped_steps = 0; // non-finite steps skipped so far
};

struct EvalRecord {
  int64_t step = 0;
  std::string split;   // "zero_shot", "dev", "eval"
  std::string metric;  // "accuracy", "f1", "em"
  double value = 0;
};

class RunLog {
 public:
  virtual ~RunLog() = default;
  virtual void begin(const RunInfo& info) = 0;
  virtual void step(const StepRecord& record) = 0;
  virtual void eval(const EvalRecord& record) = 0;
  // Puts everything logged so far on disk (written, flushed and fsynced): the trainer calls it
  // before writing a checkpoint, so that the rows a resume keeps survive a crash of the machine.
  virtual void sync() {}
  // The run's summary (see run_training): final metric, memory, bytes per step, timings.
  // status is "finished" or "failed: <message>".
  virtual void finish(const nlohmann::json& summary, const std::string& status) = 0;
};

}  // namespace qzo

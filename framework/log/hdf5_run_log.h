// The HDF5 RunLog (schema: docs/hdf5-log.md): one log per sweep, an index file linking one
// file per run (hdf5_run_files.h), each holding /runs/<name> with its config and provenance,
// per-step and eval columns appended while it trains under SWMR (a killed run leaves a readable
// file holding every row up to the last flush), and memory, communication and summary
// attributes once it finishes. Begin and finish metadata are written into a new copy of the
// run's file that is renamed into place, so a kill never leaves any file half-written.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "framework/log/run_log.h"

namespace qzo {

namespace h5 {
class WriterLock;
}

class Hdf5RunLog : public RunLog {
 public:
  // `flush_every`: step rows buffered between flushes to disk.
  explicit Hdf5RunLog(std::string path, int flush_every = 10);
  ~Hdf5RunLog() override;  // a run that never finished keeps status "running"
  Hdf5RunLog(const Hdf5RunLog&) = delete;
  Hdf5RunLog& operator=(const Hdf5RunLog&) = delete;

  // What distinguishes this run within its sweep ({"method.clip_threshold": "25", ...}),
  // stored as the run's `labels` attribute; call before begin().
  void set_labels(const nlohmann::json& labels) { labels_ = labels; }
  // The run's position in its sweep file (reports list rows in sweep order); -1: none.
  void set_sweep_index(int index) { sweep_index_ = index; }

  // Replaces any earlier file of the same run name, unless info.resume_step > 0: then the
  // earlier run is continued, keeping its rows before the checkpoint. Other runs' files are
  // never opened.
  void begin(const RunInfo& info) override;
  void step(const StepRecord& record) override;
  void eval(const EvalRecord& record) override;
  void sync() override;  // flushes buffered steps, then fsyncs the run's file
  void finish(const nlohmann::json& summary, const std::string& status) override;

  const std::string& path() const { return path_; }  // the index
  std::string run_path() const;                      // this run's own file

  struct Columns;  // the step and eval datasets

 private:
  struct Live;  // the open file, run group and columns between begin() and finish()
  void flush_steps();
  void close_live() noexcept;

  std::string path_;
  int flush_every_;
  nlohmann::json labels_ = nlohmann::json::object();
  int sweep_index_ = -1;
  std::string run_name_;
  std::unique_ptr<h5::WriterLock> lock_;  // held from begin() to the end of finish()
  std::unique_ptr<Live> live_;
  std::vector<StepRecord> pending_;
};

// Records the sweep a log belongs to in the index's /sweep (name, source file, its YAML text).
void write_sweep_info(const std::string& path, const std::string& name, const std::string& sweep_file,
                      const std::string& sweep_text);

}  // namespace qzo

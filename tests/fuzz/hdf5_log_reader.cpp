// Fuzzes the HDF5 run-log reader behind `qzo report`: read_run_log with and without columns.
#include "framework/log/hdf5_log_reader.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = (qzo::fuzz::work_dir() / "runs.h5").string();
  qzo::fuzz::write_file(path, data, size);
  for (bool with_columns : {false, true}) {
    try {
      for (const qzo::LoggedRun& run : qzo::read_run_log(path, with_columns)) {
        (void)run.summary.dump();
        (void)run.labels.dump();
      }
      qzo::fuzz::note_accepted();
    } catch (const qzo::Error& e) {
      qzo::fuzz::check_rejection(e, path);
    }
  }
  return 0;
}

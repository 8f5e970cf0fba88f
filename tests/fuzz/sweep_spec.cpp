// Fuzzes the sweep file reader: load_sweep then expand_sweep against train_schema(). The input
// lies in sweep/ beside a valid configs/quickstart.yaml (fuzz_common.h), so
// `base: ../configs/quickstart.yaml` (as in experiments/*.yaml) resolves.
#include "framework/sweep/sweep_spec.h"
#include "framework/train/zo_trainer.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  qzo::fuzz::write_base_configs();
  const std::string path = (qzo::fuzz::work_dir() / "sweep" / "sweep.yaml").string();
  qzo::fuzz::write_file(path, data, size);
  try {
    const qzo::SweepSpec spec = qzo::load_sweep(path, qzo::train_schema());
    const std::vector<qzo::SweepRun> runs = qzo::expand_sweep(spec, qzo::train_schema());
    for (const qzo::SweepRun& run : runs) (void)run.config.to_yaml();
    qzo::fuzz::note_accepted();
  } catch (const qzo::Error& e) {
    // Errors in the base config name it (under the same work folder); the rest name the sweep.
    qzo::fuzz::check_rejection(e, qzo::fuzz::work_dir().string());
  }
  return 0;
}

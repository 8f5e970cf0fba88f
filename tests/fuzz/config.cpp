// Fuzzes the YAML run-config reader on the path a `qzo train` config takes: load_config
// against train_schema(), then to_yaml(), which must load back to the same config.
#include <cstdlib>

#include "framework/config/load.h"
#include "framework/train/zo_trainer.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  qzo::fuzz::write_base_configs();  // `base: base.yaml` resolves
  const std::string path = (qzo::fuzz::work_dir() / "configs" / "run.yaml").string();
  qzo::fuzz::write_file(path, data, size);
  std::string yaml;
  try {
    yaml = qzo::load_config(path, qzo::train_schema()).to_yaml();
  } catch (const qzo::Error& e) {
    // An error in a `base:` file names that file, which lies in the work folder too.
    qzo::fuzz::check_rejection(e, qzo::fuzz::work_dir().string());
    return 0;
  }
  // A loaded config written out must read back unchanged.
  try {
    if (qzo::load_config_text(yaml, path, qzo::train_schema()).to_yaml() != yaml) {
      std::fprintf(stderr, "fuzz finding: to_yaml() does not round-trip:\n%s\n", yaml.c_str());
      std::abort();
    }
    qzo::fuzz::note_accepted();
  } catch (const qzo::Error& e) {
    std::fprintf(stderr, "fuzz finding: to_yaml() output rejected: %s\n%s\n", e.what(), yaml.c_str());
    std::abort();
  }
  return 0;
}

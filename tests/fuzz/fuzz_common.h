// Shared by the fuzz harnesses: the input goes to a temp file (the readers take paths), and a
// rejection must be a qzo::Error of one line that names that file. Anything else -- another
// exception type, a crash, a sanitizer report, a multi-line message -- is a finding.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "framework/core/error.h"

namespace qzo::fuzz {

// A folder of this process's own under the temp dir, created once.
inline const std::filesystem::path& work_dir() {
  static const std::filesystem::path dir = [] {
    std::filesystem::path d = std::filesystem::temp_directory_path() /
                              ("qzo-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

inline void write_file(const std::filesystem::path& path, const uint8_t* data, size_t size) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out) {
    std::fprintf(stderr, "fuzz: cannot write %s\n", path.c_str());
    std::abort();
  }
}

inline void write_file(const std::filesystem::path& path, const std::string& text) {
  write_file(path, reinterpret_cast<const uint8_t*>(text.data()), text.size());
}

// QZO_FUZZ_VERBOSE=1 prints each input's outcome (accepted, or the rejection's message).
inline bool verbose() {
  static const bool on = std::getenv("QZO_FUZZ_VERBOSE") != nullptr;
  return on;
}

inline void note_accepted() {
  if (verbose()) std::fprintf(stderr, "  accepted\n");
}

// The expected rejection: one line, naming `file`. Otherwise abort so the fuzzer records it.
inline void check_rejection(const Error& e, const std::string& file) {
  const std::string message = e.what();
  if (verbose()) std::fprintf(stderr, "  rejected: %s\n", message.c_str());
  if (message.find('\n') != std::string::npos || message.find('\r') != std::string::npos) {
    std::fprintf(stderr, "fuzz finding: multi-line error message:\n%s\n", message.c_str());
    std::abort();
  }
  if (message.find(file) == std::string::npos) {
    std::fprintf(stderr, "fuzz finding: error does not name the file %s: %s\n", file.c_str(),
                 message.c_str());
    std::abort();
  }
}

// A valid run config, written beside the inputs as configs/base.yaml and
// configs/quickstart.yaml so that `base:` references in the corpus resolve.
inline void write_base_configs() {
  static const bool written = [] {
    const std::string text =
        "seed: 0\n"
        "model:\n  path: models/qzo-tiny\n"
        "quant:\n  method: rtn\n  bits: 4\n  group_size: 32\n"
        "method:\n  name: qzo\n  eps: 1.0e-3\n"
        "task:\n  name: spam\n"
        "optim:\n  steps: 10\n  lr: 3.0e-5\n";
    write_file(work_dir() / "configs" / "base.yaml", text);
    write_file(work_dir() / "configs" / "quickstart.yaml", text);
    return true;
  }();
  (void)written;
}

}  // namespace qzo::fuzz

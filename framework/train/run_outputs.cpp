// Writability probe and the no-silent-overwrite rule of a run directory (run_outputs.h).
#include "framework/train/run_outputs.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "framework/core/error.h"
#include "framework/core/paths.h"
#include "framework/train/checkpoint.h"

namespace qzo {

namespace fs = std::filesystem;

void require_writable_directory(const std::string& dir, const std::string& what) {
  const std::string expected = " (" + what + " must be a writable directory with free space)";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail(dir + ": cannot create the directory: " + ec.message() + expected);
  const std::string probe = (fs::path(dir) / ".qzo-write-probe").string();
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(dir + ": cannot write in the directory: " + std::strerror(errno) + expected);
  // 64 KiB, so that a full file system refuses it (a few bytes may still fit in a block).
  const std::string block(64 * 1024, 'q');
  int err = 0;
  if (::write(fd, block.data(), block.size()) != static_cast<ssize_t>(block.size())) err = errno ? errno : ENOSPC;
  if (!err && ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && !err) err = errno;
  ::unlink(probe.c_str());
  if (err) fail(dir + ": cannot write in the directory: " + std::strerror(err) + expected);
}

namespace {

// The stored config of summary.json, or "" when it has none.
std::string summary_config(const std::string& path) {
  try {
    const nlohmann::json j = nlohmann::json::parse(read_text_file(path));
    return j.contains("config") && j["config"].is_string() ? j["config"].get<std::string>() : "";
  } catch (const nlohmann::json::exception&) {
    return "";
  }
}

void remove_outputs(const std::string& checkpoint, const std::string& summary) {
  std::error_code ignored;
  fs::remove(checkpoint, ignored);
  fs::remove(summary, ignored);
}

}  // namespace

ExistingRun claim_run_directory(const std::string& run_dir, const Config& config, const RunOptions& options) {
  const std::string checkpoint_path = run_dir + "/checkpoint.safetensors", summary_path = run_dir + "/summary.json";
  const bool has_checkpoint = file_exists(checkpoint_path), has_summary = file_exists(summary_path);
  if (!has_checkpoint && !has_summary) return ExistingRun::none;

  // An unfinished run (its checkpoint) speaks for the directory; else the finished one.
  std::string stored, difference;
  if (has_checkpoint) {
    stored = load_checkpoint(checkpoint_path)->config_yaml;
    difference = first_trajectory_difference(stored, checkpoint_path, config);
  } else {
    stored = summary_config(summary_path);
    difference = stored.empty() ? "no config in its summary.json"
                                : first_trajectory_difference(stored, summary_path, config);
  }
  if (!difference.empty()) {
    if (!options.overwrite)
      fail(run_dir + (has_checkpoint ? " holds an unfinished run" : " holds a run") + " of another config (" +
           difference + "); pass --overwrite to replace it, or choose another log.name");
    remove_outputs(checkpoint_path, summary_path);
    return ExistingRun::replace;
  }
  if (has_checkpoint) return config.get<bool>("log.resume") ? ExistingRun::resumable : ExistingRun::replace;
  if (!options.overwrite && !options.rerun_finished)
    fail(run_dir + " already holds a finished run of this config; pass --overwrite to rerun it");
  remove_outputs(checkpoint_path, summary_path);
  return ExistingRun::replace;
}

}  // namespace qzo

// Where a run log lives on disk (docs/hdf5-log.md): the file the user names (`runs/x.h5`) is a
// small index of HDF5 external links to one file per run in a folder beside it
// (`runs/x.runs/<run>.h5`). A writer only ever writes its own run's file, and every change to a
// file outside an SWMR session is made on a new file that is fsynced and renamed over the old,
// so a kill at any moment leaves every other run's file, and the index, as they were.
#pragma once
#include <optional>
#include <string>
#include <vector>

namespace qzo::h5 {

// `runs/x.runs` for `runs/x.h5`.
std::string runs_dir(const std::string& index_path);
// `runs/x.runs/<run>.h5`: holds /runs/<run>, so it is itself a one-run log.
std::string run_file(const std::string& index_path, const std::string& run_name);
// The runs that have a file in runs_dir (temporary files left by a kill excluded), name order.
std::vector<std::string> runs_with_files(const std::string& index_path);

// The /sweep group of a log: which sweep file it came from.
struct SweepHeader {
  std::string name, file, text;
};

// True when `path` is an HDF5 file that is not an index: a log in the single-file layout that
// came before per-run files (every run a group in it). Throws naming the file when it exists
// and is not HDF5.
bool is_single_file_log(const std::string& path);
// Moves every run of a single-file log into a file of its own (runs that already have one keep
// it), then replaces the log by an index of them. Each step is a rename, so a kill midway
// leaves the old file or the index, never a damaged one. No-op unless is_single_file_log.
void split_single_file_log(const std::string& path);
// Rewrites the index at `path` to link every run file in runs_dir; `sweep` replaces its /sweep
// group, otherwise the index's own is kept. Written whole to a new file, then renamed.
void write_index(const std::string& path, const std::optional<SweepHeader>& sweep = std::nullopt);

// Makes `tmp` durable and atomically the file at `path`: fsync, rename, fsync of the folder.
void replace_file(const std::string& tmp, const std::string& path);
// fsync of an open descriptor or a path; throws naming the file.
void sync_descriptor(int fd, const std::string& path);

// Test hook: SIGKILLs this process when QZO_TEST_KILL_AT names `moment` ("begin": midway
// through a run's begin metadata; "index": an index written but not yet in place; "finish":
// midway through a run's summary).
void kill_point_for_tests(const char* moment);

}  // namespace qzo::h5

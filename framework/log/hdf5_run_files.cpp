// The per-run file layout of a run log: paths, the index of external links, the split of a
// single-file log, and the write-new-then-rename updates (see hdf5_run_files.h).
#include "framework/log/hdf5_run_files.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>

#include <H5Cpp.h>

#include "framework/core/error.h"
#include "framework/log/hdf5_file.h"

namespace qzo::h5 {

namespace fs = std::filesystem;

namespace {

constexpr const char* kLayout = "index";  // root attribute `layout` of an index file
constexpr const char* kRunSuffix = ".h5";

std::string folder_of(const std::string& path) {
  const fs::path parent = fs::path(path).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

// The folder's name as the index records it, relative to the index's own folder.
std::string runs_dir_name(const std::string& index_path) {
  return fs::path(index_path).stem().string() + ".runs";
}

std::optional<SweepHeader> read_sweep_header(const H5::H5File& file) {
  if (!file.nameExists("sweep")) return std::nullopt;
  const H5::Group sweep = file.openGroup("sweep");
  return SweepHeader{read_string_attr(sweep, "name").value_or(""), read_string_attr(sweep, "file").value_or(""),
                     read_string_attr(sweep, "text").value_or("")};
}

bool is_index_file(const H5::H5File& file) { return read_string_attr(file, "layout").value_or("") == kLayout; }

}  // namespace

std::string runs_dir(const std::string& index_path) {
  return (fs::path(folder_of(index_path)) / runs_dir_name(index_path)).string();
}

std::string run_file(const std::string& index_path, const std::string& run_name) {
  return (fs::path(runs_dir(index_path)) / (run_name + kRunSuffix)).string();
}

std::vector<std::string> runs_with_files(const std::string& index_path) {
  std::set<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(runs_dir(index_path), ec)) {
    const std::string file = entry.path().filename().string();
    const size_t n = std::strlen(kRunSuffix);
    if (entry.is_regular_file() && file.size() > n && file.compare(file.size() - n, n, kRunSuffix) == 0)
      names.insert(file.substr(0, file.size() - n));
  }
  return {names.begin(), names.end()};
}

bool is_single_file_log(const std::string& path) {
  if (!fs::exists(path)) return false;
  const H5::H5File file = open_for_reading(path);  // throws "not an HDF5 file"
  return !is_index_file(file);
}

void split_single_file_log(const std::string& path) {
  if (!is_single_file_log(path)) return;
  fs::create_directories(runs_dir(path));
  std::optional<SweepHeader> sweep;
  try {
    const H5::H5File old = open_for_reading(path);
    sweep = read_sweep_header(old);
    if (old.nameExists("runs")) {
      const H5::Group runs = old.openGroup("runs");
      for (hsize_t i = 0; i < runs.getNumObjs(); ++i) {
        const std::string name = runs.getObjnameByIdx(i);
        const std::string target = run_file(path, name), tmp = target + ".tmp";
        if (fs::exists(target)) continue;  // moved by an earlier, interrupted split
        {
          const H5::H5File one = create_file(tmp);
          copy_group(runs.openGroup(name), one.createGroup("runs").createGroup(name));
        }
        replace_file(tmp, target);
      }
    }
  } catch (const H5::Exception& e) {
    fail(path + ": cannot move the runs of this single-file log into " + runs_dir(path) + " (" + e.getDetailMsg() + ")");
  }
  write_index(path, sweep);
}

void write_index(const std::string& path, const std::optional<SweepHeader>& sweep) {
  std::optional<SweepHeader> header = sweep;
  if (!header && fs::exists(path)) {
    try {
      header = read_sweep_header(open_for_reading(path));
    } catch (const H5::Exception& e) {
      fail(path + ": cannot read the index (" + e.getDetailMsg() + ")");
    }
  }
  const std::string tmp = path + ".tmp", dir_name = runs_dir_name(path);
  try {
    const H5::H5File index = create_file(tmp);
    write_attr(index, "layout", std::string(kLayout));
    write_attr(index, "runs_dir", dir_name);
    if (header) {
      const H5::Group group = index.createGroup("sweep");
      write_attr(group, "name", header->name);
      write_attr(group, "file", header->file);
      write_attr(group, "text", header->text);
    }
    const H5::Group runs = index.createGroup("runs");
    // Relative targets resolve against the index's folder (HDF5 and h5py both follow them).
    for (const std::string& name : runs_with_files(path)) {
      const std::string target = dir_name + "/" + name + kRunSuffix, object = "/runs/" + name;
      if (H5Lcreate_external(target.c_str(), object.c_str(), runs.getId(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT) < 0)
        fail(path + ": cannot link run '" + name + "' into the index");
    }
  } catch (const H5::Exception& e) {
    fs::remove(tmp);
    fail(path + ": cannot write the index (" + e.getDetailMsg() + ")");
  }
  kill_point_for_tests("index");
  replace_file(tmp, path);
}

void sync_descriptor(int fd, const std::string& path) {
  if (::fsync(fd) != 0) fail(path + ": cannot fsync (" + std::strerror(errno) + ")");
}

namespace {

void sync_path(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) fail(path + ": cannot open to fsync (" + std::strerror(errno) + ")");
  const int rc = ::fsync(fd), err = errno;
  ::close(fd);
  if (rc != 0) fail(path + ": cannot fsync (" + std::strerror(err) + ")");
}

}  // namespace

void replace_file(const std::string& tmp, const std::string& path) {
  sync_path(tmp, O_RDONLY);
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) fail(path + ": cannot move " + tmp + " into place (" + ec.message() + ")");
  sync_path(folder_of(path), O_RDONLY | O_DIRECTORY);  // the rename itself survives a crash
}

void kill_point_for_tests(const char* moment) {
  const char* at = std::getenv("QZO_TEST_KILL_AT");
  if (at && std::strcmp(at, moment) == 0) ::raise(SIGKILL);
}

}  // namespace qzo::h5

// Small RAII-friendly helpers over the HDF5 C++ API shared by the run-log writer and reader:
// opening and creating log files, copying a run group, scalar attributes, and 1-D chunked
// datasets that grow by appending.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <H5Cpp.h>

namespace qzo::h5 {

// Turns off HDF5's own error-stack printing: failures surface as one-line qzo::Errors.
void quiet_errors();

// An exclusive lock on `<path>.lock` held while one process writes the log at `path`. A live
// SWMR writer holds no lock on the HDF5 file itself, and a second writer would take its file
// for one left by a killed writer and rebuild it under the live one; every writer takes this
// lock first, so the second fails at once, naming the file. Released at destruction or when
// the process dies (kill -9 included).
class WriterLock {
 public:
  explicit WriterLock(const std::string& path);
  ~WriterLock();
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  int fd_ = -1;
};

// File access in the latest file format (checksummed metadata, extensible-array chunk indexes),
// which SWMR writing needs; every file the log creates or writes uses it.
H5::FileAccPropList latest_format();
// Creates (or truncates) `path` in the latest format.
H5::H5File create_file(const std::string& path);
// Copies the attributes and 1-D datasets of `src` into `dst`, recursively: everything a run
// group holds. Works on a file a killed SWMR writer left open (opened for reading). (H5Ocopy
// crashes HDF5 1.10.8 on variable-length string attributes in dense storage.)
void copy_group(const H5::Group& src, const H5::Group& dst);
// Opens `path` read-only; readable while a writer is live and after it was killed (SWMR read).
H5::H5File open_for_reading(const std::string& path);

// Scalar attributes; writing replaces an attribute of the same name.
void write_attr(const H5::H5Object& obj, const std::string& name, const std::string& value);
void write_attr(const H5::H5Object& obj, const std::string& name, double value);
void write_attr(const H5::H5Object& obj, const std::string& name, int64_t value);
void write_attr(const H5::H5Object& obj, const std::string& name, uint64_t value);
std::optional<std::string> read_string_attr(const H5::H5Object& obj, const std::string& name);
std::optional<double> read_double_attr(const H5::H5Object& obj, const std::string& name);
std::optional<int64_t> read_int_attr(const H5::H5Object& obj, const std::string& name);
std::optional<uint64_t> read_uint_attr(const H5::H5Object& obj, const std::string& name);

// Fixed-length text cells of eval rows (variable-length data cannot be appended under SWMR).
inline constexpr size_t kTextCell = 32;

// A 1-D dataset of unlimited length, created empty and chunked so that rows can be appended.
H5::DataSet create_column(const H5::Group& group, const std::string& name, const H5::DataType& type,
                          hsize_t chunk_rows);
// Appends `count` rows held in `data` (memory layout of `mem_type`) after the current end.
void append_rows(const H5::DataSet& column, const H5::DataType& mem_type, const void* data, size_t count);

// Shrinks a column to its first `rows` rows.
void keep_rows(const H5::DataSet& column, size_t rows);

// Whole columns read back, converted by HDF5 to the requested element type.
std::vector<double> read_doubles(const H5::Group& group, const std::string& name);
std::vector<int64_t> read_ints(const H5::Group& group, const std::string& name);
std::vector<std::string> read_texts(const H5::Group& group, const std::string& name);

}  // namespace qzo::h5

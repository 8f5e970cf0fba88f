// HDF5 plumbing for the run log: file opening, group copies, attributes, appendable columns.
#include "framework/log/hdf5_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>

#include "framework/core/error.h"

namespace qzo::h5 {

namespace {

// Copies scalar attributes of `src` onto `dst`: every type a run log writes.
void copy_attributes(const H5::H5Object& src, const H5::H5Object& dst) {
  for (int i = 0; i < src.getNumAttrs(); ++i) {
    const H5::Attribute attr = src.openAttribute(static_cast<unsigned>(i));
    const std::string name = attr.getName();
    switch (attr.getTypeClass()) {
      case H5T_STRING: write_attr(dst, name, *read_string_attr(src, name)); break;
      case H5T_FLOAT: write_attr(dst, name, *read_double_attr(src, name)); break;
      case H5T_INTEGER:
        if (attr.getIntType().getSign() == H5T_SGN_NONE) write_attr(dst, name, *read_uint_attr(src, name));
        else write_attr(dst, name, *read_int_attr(src, name));
        break;
      default: fail(src.getObjName() + ": attribute '" + name + "' has a type a run log never writes");
    }
  }
}

}  // namespace

WriterLock::WriterLock(const std::string& path) {
  const std::string lock_path = path + ".lock";
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) fail(path + ": cannot create the writer lock " + lock_path);
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd_);
    fail(path + ": another process is writing this run log (it holds " + lock_path +
         "); wait for it to finish or write to another file");
  }
}

WriterLock::~WriterLock() { ::close(fd_); }  // closing the descriptor releases the lock

void quiet_errors() {
  static const bool once = [] {
    H5::Exception::dontPrint();
    return true;
  }();
  (void)once;
}

H5::FileAccPropList latest_format() {
  H5::FileAccPropList fapl;
  fapl.setLibverBounds(H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
  return fapl;
}

H5::H5File create_file(const std::string& path) {
  quiet_errors();
  try {
    return H5::H5File(path, H5F_ACC_TRUNC, H5::FileCreatPropList::DEFAULT, latest_format());
  } catch (const H5::Exception& e) {
    fail(path + ": cannot create (" + e.getDetailMsg() + ")");
  }
}

void copy_group(const H5::Group& src, const H5::Group& dst) {
  copy_attributes(src, dst);
  for (hsize_t i = 0; i < src.getNumObjs(); ++i) {
    const std::string name = src.getObjnameByIdx(i);
    if (src.childObjType(name) == H5O_TYPE_GROUP) {
      copy_group(src.openGroup(name), dst.createGroup(name));
      continue;
    }
    const H5::DataSet column = src.openDataSet(name);
    const H5::DataType type = column.getDataType();
    const size_t rows = static_cast<size_t>(column.getSpace().getSimpleExtentNpoints());
    std::vector<char> bytes(rows * type.getSize());
    if (rows) column.read(bytes.data(), type);
    const H5::DataSet copy = create_column(dst, name, type, 1024);
    append_rows(copy, type, bytes.data(), rows);
    copy_attributes(column, copy);
  }
}

H5::H5File open_for_reading(const std::string& path) {
  quiet_errors();
  if (!std::filesystem::exists(path)) fail(path + ": no such run log");
  if (H5Fis_hdf5(path.c_str()) <= 0) fail(path + ": not an HDF5 file");
  try {
    // SWMR readers retry a metadata read whose checksum fails (a writer may be mid-flush),
    // 100 times by default with sleeps in between: minutes on a corrupt file (found by the
    // fuzzer). A few attempts still ride out a live writer's flush.
    H5::FileAccPropList access;
    H5Pset_metadata_read_attempts(access.getId(), 4);
    return H5::H5File(path, H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, H5::FileCreatPropList::DEFAULT, access);
  } catch (const H5::Exception&) {
    // Files in the pre-1.10 format cannot be opened for SWMR reading; no writer uses them.
  }
  try {
    return H5::H5File(path, H5F_ACC_RDONLY);
  } catch (const H5::Exception& e) {
    fail(path + ": cannot open the run log (" + e.getDetailMsg() + ")");
  }
}

namespace {

H5::Attribute fresh_attr(const H5::H5Object& obj, const std::string& name, const H5::DataType& type) {
  if (obj.attrExists(name)) obj.removeAttr(name);
  return obj.createAttribute(name, type, H5::DataSpace(H5S_SCALAR));
}

std::optional<H5::Attribute> find_attr(const H5::H5Object& obj, const std::string& name) {
  if (!obj.attrExists(name)) return std::nullopt;
  return obj.openAttribute(name);
}

template <typename T>
std::optional<T> read_number(const H5::H5Object& obj, const std::string& name, const H5::PredType& type) {
  const auto attr = find_attr(obj, name);
  if (!attr) return std::nullopt;
  const H5T_class_t cls = attr->getTypeClass();
  if (cls != H5T_INTEGER && cls != H5T_FLOAT) return std::nullopt;
  T value{};
  attr->read(type, &value);
  return value;
}

}  // namespace

void write_attr(const H5::H5Object& obj, const std::string& name, const std::string& value) {
  H5::StrType type(H5::PredType::C_S1, H5T_VARIABLE);
  type.setCset(H5T_CSET_UTF8);
  fresh_attr(obj, name, type).write(type, value);
}

void write_attr(const H5::H5Object& obj, const std::string& name, double value) {
  fresh_attr(obj, name, H5::PredType::IEEE_F64LE).write(H5::PredType::NATIVE_DOUBLE, &value);
}

void write_attr(const H5::H5Object& obj, const std::string& name, int64_t value) {
  fresh_attr(obj, name, H5::PredType::STD_I64LE).write(H5::PredType::NATIVE_INT64, &value);
}

void write_attr(const H5::H5Object& obj, const std::string& name, uint64_t value) {
  fresh_attr(obj, name, H5::PredType::STD_U64LE).write(H5::PredType::NATIVE_UINT64, &value);
}

std::optional<std::string> read_string_attr(const H5::H5Object& obj, const std::string& name) {
  const auto attr = find_attr(obj, name);
  if (!attr || attr->getTypeClass() != H5T_STRING) return std::nullopt;
  std::string value;
  attr->read(attr->getStrType(), value);
  return value;
}

std::optional<double> read_double_attr(const H5::H5Object& obj, const std::string& name) {
  return read_number<double>(obj, name, H5::PredType::NATIVE_DOUBLE);
}

std::optional<int64_t> read_int_attr(const H5::H5Object& obj, const std::string& name) {
  return read_number<int64_t>(obj, name, H5::PredType::NATIVE_INT64);
}

std::optional<uint64_t> read_uint_attr(const H5::H5Object& obj, const std::string& name) {
  return read_number<uint64_t>(obj, name, H5::PredType::NATIVE_UINT64);
}

H5::DataSet create_column(const H5::Group& group, const std::string& name, const H5::DataType& type,
                          hsize_t chunk_rows) {
  const hsize_t start = 0, unlimited = H5S_UNLIMITED;
  H5::DSetCreatPropList props;
  props.setChunk(1, &chunk_rows);
  return group.createDataSet(name, type, H5::DataSpace(1, &start, &unlimited), props);
}

void append_rows(const H5::DataSet& column, const H5::DataType& mem_type, const void* data, size_t count) {
  if (count == 0) return;
  hsize_t offset = static_cast<hsize_t>(column.getSpace().getSimpleExtentNpoints());
  const hsize_t rows = count, new_size = offset + rows;
  column.extend(&new_size);
  H5::DataSpace file_space = column.getSpace();
  file_space.selectHyperslab(H5S_SELECT_SET, &rows, &offset);
  column.write(data, mem_type, H5::DataSpace(1, &rows), file_space);
}

void keep_rows(const H5::DataSet& column, size_t rows) {
  const hsize_t size = rows;
  if (H5Dset_extent(column.getId(), &size) < 0) fail(column.getObjName() + ": cannot truncate to " + std::to_string(rows) + " rows");
}

std::vector<double> read_doubles(const H5::Group& group, const std::string& name) {
  const H5::DataSet ds = group.openDataSet(name);
  std::vector<double> out(static_cast<size_t>(ds.getSpace().getSimpleExtentNpoints()));
  if (!out.empty()) ds.read(out.data(), H5::PredType::NATIVE_DOUBLE);
  return out;
}

std::vector<int64_t> read_ints(const H5::Group& group, const std::string& name) {
  const H5::DataSet ds = group.openDataSet(name);
  std::vector<int64_t> out(static_cast<size_t>(ds.getSpace().getSimpleExtentNpoints()));
  if (!out.empty()) ds.read(out.data(), H5::PredType::NATIVE_INT64);
  return out;
}

std::vector<std::string> read_texts(const H5::Group& group, const std::string& name) {
  const H5::DataSet ds = group.openDataSet(name);
  const size_t n = static_cast<size_t>(ds.getSpace().getSimpleExtentNpoints());
  const H5::StrType type = ds.getStrType();
  const size_t width = type.getSize();
  std::vector<char> buffer(n * width);
  if (n) ds.read(buffer.data(), type);
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) {
    const char* cell = buffer.data() + i * width;
    size_t len = 0;
    while (len < width && cell[len] != '\0') ++len;
    out.emplace_back(cell, len);
  }
  return out;
}

}  // namespace qzo::h5

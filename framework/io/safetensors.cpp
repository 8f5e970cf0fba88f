// safetensors reader: maps each file once, validates the JSON header against the file
// (dtype, shape, offsets in range, non-overlapping, sized numel * dtype size) and hands out
// views into the mapping. Sharded checkpoints are followed through their index JSON.
#include "framework/io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <utility>

#include <nlohmann/json.hpp>

#include "framework/core/error.h"
#include "framework/core/paths.h"

namespace qzo {

namespace {

// The reference implementation refuses headers above 100 MB; so do we, before parsing.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

// nlohmann messages quote the offending input, which may hold newlines.
std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

// A read-only private mapping of a whole file; owns the descriptor and the mapping.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) fail(path + ": cannot open safetensors file (" + std::strerror(errno) + ")");
    struct stat st;
    if (::fstat(fd_, &st) != 0) {
      const int err = errno;
      ::close(fd_);
      fail(path + ": cannot stat (" + std::strerror(err) + ")");
    }
    size_ = static_cast<size_t>(st.st_size);
    if (size_ == 0) return;  // mmap refuses empty files; the header check reports it
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
    if (p == MAP_FAILED) {
      const int err = errno;
      ::close(fd_);
      fail(path + ": cannot map " + std::to_string(size_) + " bytes (" + std::strerror(err) + ")");
    }
    data_ = static_cast<const uint8_t*>(p);
  }
  ~MappedFile() {
    if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
    if (fd_ >= 0) ::close(fd_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::string& path() const { return path_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  std::string path_;
  int fd_ = -1;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

struct Entry {
  TensorView view;
  size_t file = 0;  // index into Impl::files
};

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Parses and validates one file's header; appends its tensors to `out`.
void parse_file(const MappedFile& file, size_t file_index, std::map<std::string, Entry>& out,
                std::map<std::string, std::string>& metadata) {
  const std::string& path = file.path();
  if (file.size() < 8)
    fail(path + ": corrupt safetensors header: file has " + std::to_string(file.size()) +
         " bytes, fewer than the 8-byte header length");
  const uint64_t header_len = read_u64_le(file.data());
  if (header_len > kMaxHeaderBytes)
    fail(path + ": corrupt safetensors header: header length " + std::to_string(header_len) +
         " exceeds the " + std::to_string(kMaxHeaderBytes) + "-byte limit");
  if (header_len > file.size() - 8)
    fail(path + ": corrupt safetensors header: header length " + std::to_string(header_len) +
         " runs past the end of the " + std::to_string(file.size()) + "-byte file");
  const char* header = reinterpret_cast<const char*>(file.data() + 8);
  if (header_len < 2 || header[0] != '{')
    fail(path + ": corrupt safetensors header: expected a JSON object starting with '{'");

  nlohmann::json j;
  try {
    j = nlohmann::json::parse(header, header + header_len);
  } catch (const nlohmann::json::exception& e) {  // parse_error, and out_of_range for 1e999
    fail(path + ": invalid JSON in safetensors header: " + one_line(e.what()));
  }
  if (!j.is_object()) fail(path + ": invalid safetensors header: expected a JSON object");

  const uint8_t* data_start = file.data() + 8 + header_len;
  const uint64_t data_size = file.size() - 8 - header_len;
  struct Span {
    uint64_t begin, end;
    std::string name;
  };
  std::vector<Span> spans;

  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& name = it.key();
    const nlohmann::json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) fail(path + ": __metadata__ must be an object of strings");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string())
          fail(path + ": __metadata__ key '" + m.key() + "' must be a string");
        metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string where = path + ": tensor '" + name + "'";
    if (!v.is_object()) fail(where + ": header entry must be an object");
    if (!v.contains("dtype") || !v["dtype"].is_string())
      fail(where + ": missing string 'dtype'");
    if (!v.contains("shape") || !v["shape"].is_array()) fail(where + ": missing array 'shape'");
    if (!v.contains("data_offsets") || !v["data_offsets"].is_array() || v["data_offsets"].size() != 2)
      fail(where + ": 'data_offsets' must be an array [begin, end]");

    DType dtype;
    try {
      dtype = dtype_from_name(v["dtype"].get<std::string>());
    } catch (const Error& e) {
      fail(where + ": " + e.what());
    }

    TensorView view;
    view.name = name;
    view.dtype = dtype;
    // The product in TensorView::numel()'s order and type: an absurd shape must fail here, not
    // wrap around -- a partial product past int64 counts even when a later 0 makes it empty.
    int64_t numel = 1;
    bool too_large = false;
    for (const auto& d : v["shape"]) {
      if (!d.is_number_unsigned() || d.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max()))
        fail(where + ": shape entries must be non-negative integers, got " + one_line(d.dump()));
      const int64_t dim = static_cast<int64_t>(d.get<uint64_t>());
      view.shape.push_back(dim);
      too_large |= __builtin_mul_overflow(numel, dim, &numel);
    }
    uint64_t expected = 0;
    if (too_large || __builtin_mul_overflow(uint64_t(numel), uint64_t(dtype_size(dtype)), &expected))
      fail(where + ": shape " + shape_string(view.shape) + " is too large (element count overflows 64 bits)");
    for (const auto& o : v["data_offsets"])
      if (!o.is_number_unsigned()) fail(where + ": data_offsets must be non-negative integers");
    const uint64_t begin = v["data_offsets"][0].get<uint64_t>();
    const uint64_t end = v["data_offsets"][1].get<uint64_t>();
    if (end < begin)
      fail(where + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
           "] end before begin");
    if (end > data_size)
      fail(where + ": truncated data: data_offsets end " + std::to_string(end) +
           " is past the " + std::to_string(data_size) + " data bytes in the file");
    if (end - begin != expected)
      fail(where + ": data_offsets span " + std::to_string(end - begin) + " bytes, expected " +
           std::to_string(expected) + " for " + dtype_name(dtype) + " " + shape_string(view.shape));
    view.data = data_start + begin;
    view.nbytes = static_cast<size_t>(end - begin);
    spans.push_back({begin, end, name});
    out[name] = Entry{std::move(view), file_index};
  }

  std::sort(spans.begin(), spans.end(),
            [](const Span& a, const Span& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
  for (size_t i = 1; i < spans.size(); ++i)
    if (spans[i].begin < spans[i - 1].end)
      fail(path + ": tensor '" + spans[i].name + "' data [" + std::to_string(spans[i].begin) + ", " +
           std::to_string(spans[i].end) + ") overlaps tensor '" + spans[i - 1].name + "' [" +
           std::to_string(spans[i - 1].begin) + ", " + std::to_string(spans[i - 1].end) + ")");
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_directory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

int64_t TensorView::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

struct SafetensorsReader::Impl {
  std::string origin;  // the file or index the caller opened; named when a tensor is absent
  std::vector<std::unique_ptr<MappedFile>> files;
  std::map<std::string, Entry> tensors;
  std::map<std::string, std::string> metadata;

  void open_single(const std::string& path) {
    files.push_back(std::make_unique<MappedFile>(path));
    parse_file(*files.back(), 0, tensors, metadata);
  }

  void open_index(const std::string& index_path) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(read_text_file(index_path));
    } catch (const nlohmann::json::exception& e) {  // parse_error, and out_of_range for 1e999
      fail(index_path + ": invalid JSON: " + one_line(e.what()));
    }
    if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
      fail(index_path + ": expected an object with key 'weight_map' {tensor: shard file}");
    const std::string dir = std::filesystem::path(index_path).parent_path().string();
    const std::map<std::string, std::string> weight_map = [&] {
      std::map<std::string, std::string> m;
      for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
        if (!it.value().is_string())
          fail(index_path + ": weight_map entry for tensor '" + it.key() + "' must be a file name");
        m[it.key()] = it.value().get<std::string>();
      }
      return m;
    }();
    if (weight_map.empty()) fail(index_path + ": weight_map lists no tensors");

    // Each shard is mapped once, in name order so that metadata() is the first shard's.
    std::map<std::string, std::string> first_tensor_of;  // shard -> a tensor it should hold
    for (const auto& [name, shard] : weight_map) first_tensor_of.emplace(shard, name);
    std::map<std::string, std::map<std::string, Entry>> shard_tensors;
    for (const auto& [shard, example] : first_tensor_of) {
      const std::string shard_path = dir.empty() ? shard : dir + "/" + shard;
      if (!file_exists(shard_path))
        fail(index_path + ": shard '" + shard + "' (holding tensor '" + example +
             "') is missing: " + shard_path + " does not exist");
      const size_t idx = files.size();
      files.push_back(std::make_unique<MappedFile>(shard_path));
      std::map<std::string, std::string> shard_meta;
      parse_file(*files.back(), idx, shard_tensors[shard], shard_meta);
      if (idx == 0) metadata = shard_meta;
    }
    // The index is the table of contents: a listed tensor must be where it says.
    for (const auto& [name, shard] : weight_map) {
      const auto& held = shard_tensors.at(shard);
      auto it = held.find(name);
      if (it == held.end())
        fail(index_path + ": tensor '" + name + "' is listed in shard '" + shard +
             "' but that shard does not hold it");
      tensors[name] = it->second;
    }
  }

  const Entry& entry(const std::string& name) const {
    auto it = tensors.find(name);
    if (it == tensors.end()) fail(origin + ": tensor '" + name + "' not found");
    return it->second;
  }
};

SafetensorsReader::SafetensorsReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SafetensorsReader::~SafetensorsReader() = default;
SafetensorsReader::SafetensorsReader(SafetensorsReader&&) noexcept = default;
SafetensorsReader& SafetensorsReader::operator=(SafetensorsReader&&) noexcept = default;

SafetensorsReader SafetensorsReader::open(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  std::string target = path;
  if (is_directory(path)) {
    if (file_exists(path + "/model.safetensors"))
      target = path + "/model.safetensors";
    else if (file_exists(path + "/model.safetensors.index.json"))
      target = path + "/model.safetensors.index.json";
    else
      fail(path + ": folder holds neither model.safetensors nor model.safetensors.index.json");
  }
  impl->origin = target;
  if (ends_with(target, ".json"))
    impl->open_index(target);
  else
    impl->open_single(target);
  return SafetensorsReader(std::move(impl));
}

bool SafetensorsReader::has(const std::string& name) const { return impl_->tensors.count(name) > 0; }

std::vector<std::string> SafetensorsReader::names() const {
  std::vector<std::string> out;
  out.reserve(impl_->tensors.size());
  for (const auto& kv : impl_->tensors) out.push_back(kv.first);
  return out;
}

const TensorView& SafetensorsReader::get(const std::string& name) const { return impl_->entry(name).view; }

const TensorView& SafetensorsReader::get(const std::string& name,
                                         const std::vector<int64_t>& expected_shape) const {
  const Entry& e = impl_->entry(name);
  if (e.view.shape != expected_shape)
    fail(impl_->files[e.file]->path() + ": tensor '" + name + "' has shape " + shape_string(e.view.shape) +
         ", expected " + shape_string(expected_shape));
  return e.view;
}

std::vector<float> SafetensorsReader::read_f32(const std::string& name,
                                               const std::vector<int64_t>& expected_shape) const {
  const TensorView& v = get(name, expected_shape);
  if (v.dtype != DType::F32 && v.dtype != DType::F16 && v.dtype != DType::BF16)
    fail(file_of(name) + ": tensor '" + name + "' has dtype " + dtype_name(v.dtype) +
         ", expected F32, F16 or BF16");
  const size_t n = static_cast<size_t>(v.numel());
  std::vector<float> out(n);
  const auto addr = reinterpret_cast<uintptr_t>(v.data);
  if (addr % dtype_size(v.dtype) == 0) {
    convert_to_f32(v.dtype, v.data, out.data(), n);
  } else {
    // Writers that do not pad the header leave data unaligned; convert from an aligned copy.
    std::vector<uint32_t> aligned((v.nbytes + 3) / 4);
    std::memcpy(aligned.data(), v.data, v.nbytes);
    convert_to_f32(v.dtype, aligned.data(), out.data(), n);
  }
  return out;
}

const std::map<std::string, std::string>& SafetensorsReader::metadata() const { return impl_->metadata; }

std::string SafetensorsReader::file_of(const std::string& name) const {
  return impl_->files[impl_->entry(name).file]->path();
}

}  // namespace qzo

// safetensors writer: single files written atomically (temp + fsync + rename) and HF-style
// sharded checkpoints (model-0000k-of-0000n.safetensors + model.safetensors.index.json,
// the index written last so that a crash never leaves an index pointing at missing shards).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>

#include "framework/core/error.h"
#include "framework/io/safetensors.h"

namespace qzo {

namespace {

// Owns a file descriptor for the duration of a write.
class FileDescriptor {
 public:
  FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  // Closes now so that the caller sees close() errors (deferred write-back failures).
  int close() {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

void write_all(int fd, const void* data, size_t n, const std::string& path) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, std::min<size_t>(n, size_t(1) << 30));
    if (w < 0) {
      if (errno == EINTR) continue;
      fail(path + ": write failed (" + std::strerror(errno) + ")");
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

// Writes `chunks` to path + ".tmp", flushes it to disk, then renames it over `path`.
void write_file_atomically(const std::string& path, const std::vector<std::pair<const void*, size_t>>& chunks) {
  const std::string tmp = path + ".tmp";
  FileDescriptor fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (fd.get() < 0) fail(tmp + ": cannot create (" + std::strerror(errno) + ")");
  try {
    for (const auto& [data, n] : chunks) write_all(fd.get(), data, n, tmp);
    if (::fsync(fd.get()) != 0) fail(tmp + ": fsync failed (" + std::strerror(errno) + ")");
    if (fd.close() != 0) fail(tmp + ": close failed (" + std::strerror(errno) + ")");
    if (::rename(tmp.c_str(), path.c_str()) != 0)
      fail(path + ": cannot rename " + tmp + " into place (" + std::strerror(errno) + ")");
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  // Persist the rename itself; failure here leaves a complete file, so it is not fatal.
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  FileDescriptor dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.get() >= 0) ::fsync(dfd.get());
}

void check_tensors(const std::string& path, const std::vector<TensorView>& tensors) {
  std::set<std::string> seen;
  for (const TensorView& t : tensors) {
    if (t.name.empty() || t.name == "__metadata__")
      fail(path + ": tensor name '" + t.name + "' is not allowed");
    if (!seen.insert(t.name).second) fail(path + ": tensor '" + t.name + "' given twice");
    for (int64_t d : t.shape)
      if (d < 0) fail(path + ": tensor '" + t.name + "' has negative shape " + shape_string(t.shape));
    const size_t expected = static_cast<size_t>(t.numel()) * dtype_size(t.dtype);
    if (t.nbytes != expected)
      fail(path + ": tensor '" + t.name + "' has " + std::to_string(t.nbytes) + " bytes, expected " +
           std::to_string(expected) + " for " + dtype_name(t.dtype) + " " + shape_string(t.shape));
    if (t.nbytes > 0 && t.data == nullptr) fail(path + ": tensor '" + t.name + "' has no data");
  }
}

std::vector<const TensorView*> sorted_by_name(const std::vector<TensorView>& tensors) {
  std::vector<const TensorView*> out;
  for (const TensorView& t : tensors) out.push_back(&t);
  std::sort(out.begin(), out.end(), [](const TensorView* a, const TensorView* b) { return a->name < b->name; });
  return out;
}

void write_sorted(const std::string& path, const std::vector<const TensorView*>& tensors,
                  const std::map<std::string, std::string>& metadata) {
  // nlohmann's object is an std::map, so the header lists tensors in name order too.
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const TensorView* t : tensors) {
    header[t->name] = {{"dtype", dtype_name(t->dtype)},
                       {"shape", t->shape},
                       {"data_offsets", {offset, offset + t->nbytes}}};
    offset += t->nbytes;
  }
  std::string text = header.dump();
  // Pad with spaces so that the data section starts 8-byte aligned.
  text.append((8 - (8 + text.size()) % 8) % 8, ' ');
  uint8_t len_le[8];
  uint64_t len = text.size();
  for (int i = 0; i < 8; ++i) len_le[i] = static_cast<uint8_t>(len >> (8 * i));

  std::vector<std::pair<const void*, size_t>> chunks = {{len_le, 8}, {text.data(), text.size()}};
  for (const TensorView* t : tensors)
    if (t->nbytes) chunks.push_back({t->data, t->nbytes});
  write_file_atomically(path, chunks);
}

std::string shard_name(size_t k, size_t n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "model-%05zu-of-%05zu.safetensors", k, n);
  return buf;
}

}  // namespace

void write_safetensors(const std::string& path, const std::vector<TensorView>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  check_tensors(path, tensors);
  write_sorted(path, sorted_by_name(tensors), metadata);
}

void write_safetensors_sharded(const std::string& dir, const std::vector<TensorView>& tensors,
                               size_t max_shard_bytes,
                               const std::map<std::string, std::string>& metadata) {
  const std::string index_path = dir + "/model.safetensors.index.json";
  check_tensors(index_path, tensors);
  if (tensors.empty()) fail(index_path + ": a sharded checkpoint needs at least one tensor");
  if (max_shard_bytes == 0) fail(index_path + ": max_shard_bytes must be positive");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) fail(dir + ": cannot create folder (" + ec.message() + ")");

  // Greedy packing in name order; a tensor larger than the limit gets a shard of its own.
  std::vector<std::vector<const TensorView*>> shards(1);
  size_t shard_bytes = 0;
  uint64_t total_size = 0;
  for (const TensorView* t : sorted_by_name(tensors)) {
    if (!shards.back().empty() && shard_bytes + t->nbytes > max_shard_bytes) {
      shards.emplace_back();
      shard_bytes = 0;
    }
    shards.back().push_back(t);
    shard_bytes += t->nbytes;
    total_size += t->nbytes;
  }

  nlohmann::json weight_map = nlohmann::json::object();
  for (size_t k = 0; k < shards.size(); ++k) {
    const std::string name = shard_name(k + 1, shards.size());
    write_sorted(dir + "/" + name, shards[k], metadata);
    for (const TensorView* t : shards[k]) weight_map[t->name] = name;
  }
  const nlohmann::json index = {{"metadata", {{"total_size", total_size}}}, {"weight_map", weight_map}};
  const std::string text = index.dump(2) + "\n";
  write_file_atomically(index_path, {{text.data(), text.size()}});
}

}  // namespace qzo

// safetensors read (memory-mapped; single file or sharded with model.safetensors.index.json)
// and write (single file or sharded). Every malformed input is reported in one line that
// names the file and, where it applies, the tensor.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "framework/core/dtype.h"

namespace qzo {

// A tensor's bytes in memory (a mapped file region or caller-owned storage). Not owning.
struct TensorView {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const void* data = nullptr;
  size_t nbytes = 0;
  int64_t numel() const;
};

std::string shape_string(const std::vector<int64_t>& shape);  // "[4, 8]"

class SafetensorsReader {
 public:
  // `path` is a .safetensors file, a model.safetensors.index.json, or a folder holding
  // either (model.safetensors preferred, else model.safetensors.index.json).
  static SafetensorsReader open(const std::string& path);
  ~SafetensorsReader();
  SafetensorsReader(SafetensorsReader&&) noexcept;
  SafetensorsReader& operator=(SafetensorsReader&&) noexcept;

  bool has(const std::string& name) const;
  std::vector<std::string> names() const;  // sorted
  // Throws "<file>: tensor '<name>' not found" when absent.
  const TensorView& get(const std::string& name) const;
  // As get(), and also checks the shape: "<file>: tensor '<name>' has shape [a, b], expected [c, d]".
  const TensorView& get(const std::string& name, const std::vector<int64_t>& expected_shape) const;
  // Reads a F32/F16/BF16 tensor of the expected shape into fp32.
  std::vector<float> read_f32(const std::string& name, const std::vector<int64_t>& expected_shape) const;
  const std::map<std::string, std::string>& metadata() const;  // __metadata__ of the (first) file
  std::string file_of(const std::string& name) const;           // which shard holds it

 private:
  struct Impl;
  explicit SafetensorsReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Writes one .safetensors file atomically (temp file + rename): a crash never leaves a
// truncated file under the final name.
void write_safetensors(const std::string& path, const std::vector<TensorView>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// Writes model-0000k-of-0000n.safetensors shards of at most max_shard_bytes each plus
// model.safetensors.index.json into `dir` (HF layout).
void write_safetensors_sharded(const std::string& dir, const std::vector<TensorView>& tensors,
                               size_t max_shard_bytes,
                               const std::map<std::string, std::string>& metadata = {});

}  // namespace qzo

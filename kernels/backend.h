// The compute seam: a Backend owns a device's memory (move-only RAII Buffers, each tagged
// with the memory component it counts against), its stream and BLAS handle, and a
// Workspace arena for per-pass scratch. Every op in kernels/ops.h takes a Backend& first and
// pointers in that backend's memory; a run's peak bytes per component come from here.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace qzo {

enum class BackendKind { Cpu, Cuda };

// What a byte of memory is for: the memory table of a run reports the peak of each.
enum class MemoryComponent { Weights, Trainable, Optimizer, Gradients, Activations, Workspace };
constexpr int kMemoryComponents = 6;
const char* memory_component_name(MemoryComponent c);

// Current and peak bytes per component, as the allocator sees them.
struct MemoryStats {
  std::array<size_t, kMemoryComponents> current{}, peak{};
  size_t current_total = 0, peak_total = 0;  // peak_total: the peak of the sum, not the sum of peaks
  void on_alloc(MemoryComponent c, size_t bytes);
  void on_free(MemoryComponent c, size_t bytes);
  // A run starts its own accounting: peaks drop to what is allocated now.
  void reset_peaks();
  size_t peak_of(MemoryComponent c) const { return peak[static_cast<int>(c)]; }
};

class Backend;

// Memory on one backend; freed by the backend that made it. Empty when default-constructed.
class Buffer {
 public:
  Buffer() = default;
  Buffer(Buffer&& other) noexcept;
  Buffer& operator=(Buffer&& other) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer();

  void* data() { return ptr_; }
  const void* data() const { return ptr_; }
  template <typename T>
  T* as() {
    return static_cast<T*>(ptr_);
  }
  template <typename T>
  const T* as() const {
    return static_cast<const T*>(ptr_);
  }
  size_t bytes() const { return bytes_; }
  bool empty() const { return bytes_ == 0; }
  MemoryComponent component() const { return component_; }
  Backend* backend() const { return owner_; }
  void reset();  // frees now
  // Counts the bytes against another component from now on (MeZO trains the weights).
  void retag(MemoryComponent component);

 private:
  friend class Backend;
  Backend* owner_ = nullptr;
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
  MemoryComponent component_ = MemoryComponent::Workspace;
};

// A bump allocator over backend memory for one pass's scratch: take<T>(n) hands out
// 256-byte-aligned slices that stay valid until reset(). When a pass needs more than the
// arena holds, it adds a block of just what is missing; reset() then folds the blocks into
// one of the high-water size, so that from the second pass on a pass allocates nothing and
// the allocator's peak is the largest pass's real need.
class Workspace {
 public:
  Workspace(Backend& backend, MemoryComponent component) : backend_(&backend), component_(component) {}
  Workspace(Workspace&&) noexcept = default;
  Workspace& operator=(Workspace&&) noexcept = default;

  template <typename T>
  T* take(size_t n) {
    return static_cast<T*>(take_bytes(n * sizeof(T)));
  }
  void* take_bytes(size_t bytes);
  void reserve(size_t bytes);  // one block of at least `bytes`, when nothing is taken
  void reset();
  size_t capacity() const;
  size_t in_use() const { return in_use_; }

 private:
  Backend* backend_;
  MemoryComponent component_;
  std::vector<Buffer> blocks_;
  size_t offset_ = 0;      // into blocks_.back()
  size_t in_use_ = 0;      // bytes taken since reset (with alignment)
  size_t high_water_ = 0;  // the most any pass has taken
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual BackendKind kind() const = 0;
  // "cpu (2 threads)", "cuda:0 NVIDIA H200": for logs and errors.
  virtual std::string name() const = 0;
  virtual int device() const { return -1; }
  bool is_host() const { return kind() == BackendKind::Cpu; }
  // Native handles for the backend's own kernels (cudaStream_t, cublasHandle_t); null on the CPU.
  virtual void* stream() const { return nullptr; }
  virtual void* blas_handle() const { return nullptr; }

  Buffer alloc(size_t bytes, MemoryComponent component);
  // Host <-> backend copies (plain memcpy on the CPU) and copies within the backend.
  virtual void upload(void* dst, const void* host_src, size_t bytes) = 0;
  virtual void download(void* host_dst, const void* src, size_t bytes) = 0;
  virtual void copy(void* dst, const void* src, size_t bytes) = 0;
  virtual void fill_zero(void* dst, size_t bytes) = 0;
  virtual void synchronize() = 0;

  MemoryStats& memory() { return memory_; }
  const MemoryStats& memory() const { return memory_; }

 protected:
  virtual void* raw_alloc(size_t bytes) = 0;
  virtual void raw_free(void* ptr) = 0;

 private:
  friend class Buffer;
  void release(Buffer& b);
  MemoryStats memory_;
};

// A buffer holding a copy of host data.
Buffer upload_buffer(Backend& backend, const void* host_src, size_t bytes, MemoryComponent component);
// A host copy of a buffer's bytes (save, hash, snapshot).
std::vector<uint8_t> download_bytes(Backend& backend, const Buffer& buffer);
template <typename T>
std::vector<T> download_vector(Backend& backend, const T* src, size_t n) {
  std::vector<T> out(n);
  if (n) backend.download(out.data(), src, n * sizeof(T));
  return out;
}

// "cpu", "cuda" or "auto" (CUDA when this build has it and a device answers, else the CPU).
// CUDA uses device local_rank mod the host's device count. `cuda` without a usable device
// fails in one line saying why. Throws std::runtime_error.
std::unique_ptr<Backend> make_backend(const std::string& kind, int local_rank = 0);
// What make_backend(kind) would pick, without making it (throws on an unknown kind).
BackendKind resolve_backend_kind(const std::string& kind);
// The process-wide CPU backend (models that are not given one run here).
Backend& cpu_backend();

}  // namespace qzo

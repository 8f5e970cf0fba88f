// Backend-independent parts of the seam: buffers, the workspace arena, memory accounting,
// and make_backend's choice between the CPU and a CUDA device.
#include "kernels/backend.h"

#include <algorithm>
#include <stdexcept>

#include "kernels/device.h"
#if defined(QZO_HAVE_CUDA)
#include "kernels/cuda/cuda_ops.h"
#endif

namespace qzo {

std::unique_ptr<Backend> make_cpu_backend();  // kernels/cpu/cpu_backend.cpp

const char* memory_component_name(MemoryComponent c) {
  switch (c) {
    case MemoryComponent::Weights: return "weights";
    case MemoryComponent::Trainable: return "trainable";
    case MemoryComponent::Optimizer: return "optimizer";
    case MemoryComponent::Gradients: return "gradients";
    case MemoryComponent::Activations: return "activations";
    case MemoryComponent::Workspace: return "workspace";
  }
  return "?";
}

void MemoryStats::on_alloc(MemoryComponent c, size_t bytes) {
  const int i = static_cast<int>(c);
  current[i] += bytes;
  peak[i] = std::max(peak[i], current[i]);
  current_total += bytes;
  peak_total = std::max(peak_total, current_total);
}

void MemoryStats::on_free(MemoryComponent c, size_t bytes) {
  current[static_cast<int>(c)] -= bytes;
  current_total -= bytes;
}

void MemoryStats::reset_peaks() {
  peak = current;
  peak_total = current_total;
}

Buffer::Buffer(Buffer&& other) noexcept
    : owner_(other.owner_), ptr_(other.ptr_), bytes_(other.bytes_), component_(other.component_) {
  other.owner_ = nullptr;
  other.ptr_ = nullptr;
  other.bytes_ = 0;
}

Buffer& Buffer::operator=(Buffer&& other) noexcept {
  if (this != &other) {
    reset();
    owner_ = other.owner_;
    ptr_ = other.ptr_;
    bytes_ = other.bytes_;
    component_ = other.component_;
    other.owner_ = nullptr;
    other.ptr_ = nullptr;
    other.bytes_ = 0;
  }
  return *this;
}

Buffer::~Buffer() { reset(); }

void Buffer::reset() {
  if (owner_) owner_->release(*this);
  owner_ = nullptr;
  ptr_ = nullptr;
  bytes_ = 0;
}

void Buffer::retag(MemoryComponent component) {
  if (owner_) {
    owner_->memory_.on_free(component_, bytes_);
    owner_->memory_.on_alloc(component, bytes_);
  }
  component_ = component;
}

Buffer Backend::alloc(size_t bytes, MemoryComponent component) {
  Buffer b;
  b.component_ = component;
  if (bytes == 0) return b;
  b.ptr_ = raw_alloc(bytes);
  b.owner_ = this;
  b.bytes_ = bytes;
  memory_.on_alloc(component, bytes);
  return b;
}

void Backend::release(Buffer& b) {
  raw_free(b.ptr_);
  memory_.on_free(b.component_, b.bytes_);
}

Buffer upload_buffer(Backend& backend, const void* host_src, size_t bytes, MemoryComponent component) {
  Buffer b = backend.alloc(bytes, component);
  if (bytes) backend.upload(b.data(), host_src, bytes);
  return b;
}

std::vector<uint8_t> download_bytes(Backend& backend, const Buffer& buffer) {
  std::vector<uint8_t> out(buffer.bytes());
  if (!out.empty()) backend.download(out.data(), buffer.data(), out.size());
  return out;
}

namespace {

constexpr size_t kAlignment = 256;  // cuBLAS and vector loads want aligned slices

size_t aligned(size_t n) { return (n + kAlignment - 1) / kAlignment * kAlignment; }

}  // namespace

void* Workspace::take_bytes(size_t bytes) {
  const size_t n = aligned(std::max<size_t>(bytes, 1));
  if (blocks_.empty() || offset_ + n > blocks_.back().bytes()) {
    // Nothing is taken from a block too small for a pass's first slice: free it before the
    // larger one is allocated, so that the pass never holds both (one weight read at a time).
    if (in_use_ == 0) blocks_.clear();
    // A new block; the old ones stay alive (their slices are in use) until reset(). It holds
    // this slice, or what earlier passes are known to need beyond this point: no more, so
    // that the allocator's peak is what the pass really needs.
    blocks_.push_back(backend_->alloc(std::max(n, high_water_ > in_use_ ? high_water_ - in_use_ : 0), component_));
    offset_ = 0;
  }
  void* p = static_cast<char*>(blocks_.back().data()) + offset_;
  offset_ += n;
  in_use_ += n;
  high_water_ = std::max(high_water_, in_use_);
  return p;
}

void Workspace::reserve(size_t bytes) {
  if (in_use_ != 0) throw std::logic_error("Workspace::reserve while slices are taken");
  high_water_ = std::max(high_water_, aligned(bytes));
  reset();
}

void Workspace::reset() {
  if (blocks_.size() > 1 || (!blocks_.empty() && blocks_.back().bytes() < high_water_)) {
    blocks_.clear();
    blocks_.push_back(backend_->alloc(high_water_, component_));
  } else if (blocks_.empty() && high_water_ > 0) {
    blocks_.push_back(backend_->alloc(high_water_, component_));
  }
  offset_ = 0;
  in_use_ = 0;
}

size_t Workspace::capacity() const {
  size_t n = 0;
  for (const Buffer& b : blocks_) n += b.bytes();
  return n;
}

std::unique_ptr<Backend> make_backend(const std::string& kind, int local_rank) {
  if (kind == "cpu") return make_cpu_backend();
  if (kind != "cuda" && kind != "auto")
    throw std::invalid_argument("backend '" + kind + "' is not one of cpu, cuda, auto");
  std::string why;
  const int devices = cuda_device_count(&why);
  if (devices == 0) {
    if (kind == "auto") return make_cpu_backend();
    throw std::runtime_error("backend cuda: " + why);
  }
#if defined(QZO_HAVE_CUDA)
  return cuda::make_cuda_backend(std::max(0, local_rank) % devices);
#else
  return make_cpu_backend();  // unreachable: a build without CUDA counts no devices
#endif
}

BackendKind resolve_backend_kind(const std::string& kind) {
  if (kind == "cpu") return BackendKind::Cpu;
  if (kind == "cuda") return BackendKind::Cuda;
  if (kind != "auto") throw std::invalid_argument("backend '" + kind + "' is not one of cpu, cuda, auto");
  return cuda_device_count() > 0 ? BackendKind::Cuda : BackendKind::Cpu;
}

Backend& cpu_backend() {
  static const std::unique_ptr<Backend> backend = make_cpu_backend();
  return *backend;
}

}  // namespace qzo

// The CPU backend: host memory (256-byte aligned, as cudaMalloc gives, so that workspace
// slices are aligned alike on every backend), copies are memcpy,
// and the op queue is the calling thread, so synchronize has nothing to wait for.
#include <omp.h>

#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "kernels/backend.h"

namespace qzo {

namespace {

class CpuBackend final : public Backend {
 public:
  BackendKind kind() const override { return BackendKind::Cpu; }
  std::string name() const override {
    const int threads = omp_get_max_threads();
    return "cpu (" + std::to_string(threads) + (threads == 1 ? " thread)" : " threads)");
  }
  void upload(void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
  void download(void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
  void copy(void* dst, const void* src, size_t bytes) override { std::memmove(dst, src, bytes); }
  void fill_zero(void* dst, size_t bytes) override { std::memset(dst, 0, bytes); }
  void synchronize() override {}

 protected:
  void* raw_alloc(size_t bytes) override {
    void* p = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
    if (!p) throw std::bad_alloc();
    return p;
  }
  void raw_free(void* p) override { std::free(p); }
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend() { return std::make_unique<CpuBackend>(); }

}  // namespace qzo

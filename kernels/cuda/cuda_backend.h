// The CUDA backend's class, for the .cu files that need more than the Backend interface
// (the matmul precision of linear_forward). Everything else sees a plain Backend.
#pragma once
#include <memory>
#include <string>

#include "kernels/backend.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_ops.h"

namespace qzo::cuda {

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(int device);

  BackendKind kind() const override { return BackendKind::Cuda; }
  std::string name() const override { return name_; }
  int device() const override { return device_; }
  void* stream() const override { return stream_.get(); }
  void* blas_handle() const override { return blas_.get(); }

  void upload(void* dst, const void* host_src, size_t bytes) override;
  void download(void* host_dst, const void* src, size_t bytes) override;
  void copy(void* dst, const void* src, size_t bytes) override;
  void fill_zero(void* dst, size_t bytes) override;
  void synchronize() override;

  CudaMatmulPrecision matmul_precision() const { return precision_; }
  void set_matmul_precision(CudaMatmulPrecision p) { precision_ = p; }

 protected:
  void* raw_alloc(size_t bytes) override;
  void raw_free(void* ptr) override;

 private:
  struct StreamDeleter {
    void operator()(cudaStream_t s) const { cudaStreamDestroy(s); }
  };
  struct BlasDeleter {
    void operator()(cublasHandle_t h) const { cublasDestroy(h); }
  };
  int device_;
  std::string name_;
  CudaMatmulPrecision precision_;
  std::unique_ptr<CUstream_st, StreamDeleter> stream_;
  std::unique_ptr<cublasContext, BlasDeleter> blas_;
};

// The CudaBackend behind `be`; throws when `be` is another kind.
CudaBackend& as_cuda(Backend& be);

}  // namespace qzo::cuda

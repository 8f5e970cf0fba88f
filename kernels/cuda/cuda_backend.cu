// The CUDA backend: one device, one stream, one cuBLAS handle on that stream. Memory comes
// from the stream-ordered allocator, so freeing a workspace block never stalls the device;
// every copy is queued on the stream and download() waits for it.
#include "kernels/cuda/cuda_backend.h"

#include <cstdlib>
#include <cstring>
#include "kernels/error.h"

#include "kernels/device.h"

namespace qzo::cuda {

namespace {

// QZO_CUDA_FP32=1 starts a backend with every linear in fp32 (parity runs against the CPU).
CudaMatmulPrecision default_precision() {
  const char* env = std::getenv("QZO_CUDA_FP32");
  return env && std::strcmp(env, "1") == 0 ? CudaMatmulPrecision::Fp32 : CudaMatmulPrecision::Mixed;
}

}  // namespace

CudaBackend::CudaBackend(int device) : device_(device), precision_(default_precision()) {
  cuda_check(cudaSetDevice(device));
  cudaDeviceProp prop{};
  cuda_check(cudaGetDeviceProperties(&prop, device));
  name_ = "cuda:" + std::to_string(device) + " " + prop.name;
  cudaStream_t stream = nullptr;
  cuda_check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  stream_.reset(stream);
  cublasHandle_t handle = nullptr;
  cublas_check(cublasCreate(&handle));
  blas_.reset(handle);
  cublas_check(cublasSetStream(handle, stream));
}

void* CudaBackend::raw_alloc(size_t bytes) {
  if (bytes == 0) return nullptr;
  void* ptr = nullptr;
  cuda_check(cudaMallocAsync(&ptr, bytes, stream_.get()));
  return ptr;
}

void CudaBackend::raw_free(void* ptr) {
  if (ptr) cuda_check(cudaFreeAsync(ptr, stream_.get()));
}

void CudaBackend::upload(void* dst, const void* host_src, size_t bytes) {
  // From pageable memory the call returns once the source is staged, so the caller may reuse it.
  if (bytes) cuda_check(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, stream_.get()));
}

void CudaBackend::download(void* host_dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  cuda_check(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, stream_.get()));
  cuda_check(cudaStreamSynchronize(stream_.get()));
}

void CudaBackend::copy(void* dst, const void* src, size_t bytes) {
  if (bytes) cuda_check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_.get()));
}

void CudaBackend::fill_zero(void* dst, size_t bytes) {
  if (bytes) cuda_check(cudaMemsetAsync(dst, 0, bytes, stream_.get()));
}

void CudaBackend::synchronize() { cuda_check(cudaStreamSynchronize(stream_.get())); }

CudaBackend& as_cuda(Backend& be) {
  auto* cuda = dynamic_cast<CudaBackend*>(&be);
  if (!cuda) fail("backend " + be.name() + " is not a CUDA backend");
  return *cuda;
}

std::unique_ptr<Backend> make_cuda_backend(int device) {
  std::string why;
  const int count = cuda_device_count(&why);
  if (count == 0) fail("backend cuda: " + why);
  if (device < 0 || device >= count)
    fail("backend cuda: device " + std::to_string(device) + " requested, " +
                             std::to_string(count) + " present");
  return std::make_unique<CudaBackend>(device);
}

void set_cuda_matmul_precision(Backend& be, CudaMatmulPrecision precision) {
  as_cuda(be).set_matmul_precision(precision);
}

}  // namespace qzo::cuda

// What every launch wrapper needs: the backend's native stream and cuBLAS handle, and
// grid sizes for grid-stride loops (a grid is capped, the loop covers the rest).
#pragma once
#include <algorithm>
#include <cstdint>

#include "kernels/backend.h"
#include "kernels/cuda/cuda_check.h"

namespace qzo::cuda {

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = int64_t(1) << 16;  // enough to fill an H200 many times over

inline unsigned grid_for(int64_t work_items, int threads = kThreads) {
  return unsigned(std::clamp<int64_t>((work_items + threads - 1) / threads, 1, kMaxBlocks));
}

inline cudaStream_t stream_of(const Backend& be) { return static_cast<cudaStream_t>(be.stream()); }
inline cublasHandle_t blas_of(const Backend& be) { return static_cast<cublasHandle_t>(be.blas_handle()); }

// Grid-stride loop index helpers, so kernels read `for (int64_t i = first_thread(); i < n; i += thread_stride())`.
__device__ inline int64_t first_thread() { return int64_t(blockIdx.x) * blockDim.x + threadIdx.x; }
__device__ inline int64_t thread_stride() { return int64_t(gridDim.x) * blockDim.x; }

}  // namespace qzo::cuda

// Loud, located errors for every CUDA runtime and cuBLAS call (llm.c's cudaCheck): the
// macros throw std::runtime_error naming file:line, the failed expression and the library's
// own message. After each kernel launch: cuda_check(cudaGetLastError()).
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace qzo::cuda {

inline void check_cuda(cudaError_t status, const char* expr, const char* file, int line) {
  if (status == cudaSuccess) return;
  throw std::runtime_error(std::string(file) + ":" + std::to_string(line) + ": " + expr + ": " +
                           cudaGetErrorName(status) + " (" + cudaGetErrorString(status) + ")");
}

inline void check_cublas(cublasStatus_t status, const char* expr, const char* file, int line) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  throw std::runtime_error(std::string(file) + ":" + std::to_string(line) + ": " + expr + ": " +
                           cublasGetStatusName(status) + " (" + cublasGetStatusString(status) + ")");
}

}  // namespace qzo::cuda

#define cuda_check(expr) ::qzo::cuda::check_cuda((expr), #expr, __FILE__, __LINE__)
#define cublas_check(expr) ::qzo::cuda::check_cublas((expr), #expr, __FILE__, __LINE__)

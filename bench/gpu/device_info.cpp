// Device name, driver, memory in use and the measured dense peak, for bench_gpu's table.
#include "bench/gpu/device_info.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "kernels/dtype.h"
#include "kernels/ops.h"

#if defined(QZO_HAVE_CUDA)
#include <cublas_v2.h>
#include <cuda_runtime.h>
#endif

namespace qzo::bench {

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "cpu";
}

// Random values in [-1, 1) as bf16 bits: GEMM inputs that are neither zero nor NaN.
std::vector<uint16_t> random_bf16(size_t n) {
  std::vector<uint16_t> v(n);
  uint64_t s = 12345;
  for (uint16_t& x : v) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    x = f32_to_bf16(float(s >> 40) * (2.0f / 16777216.0f) - 1.0f);
  }
  return v;
}

PeakMeasure cpu_peak(Backend& be, int n, int reps) {
  std::vector<float> a(size_t(n) * n), b(size_t(n) * n), c(size_t(n) * n);
  const std::vector<uint16_t> r = random_bf16(a.size());
  for (size_t i = 0; i < a.size(); ++i) a[i] = b[i] = bf16_to_f32(r[i]);
  ops::matmul_forward(be, c.data(), a.data(), b.data(), nullptr, n, n, n);  // warm-up
  std::vector<double> s;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    ops::matmul_forward(be, c.data(), a.data(), b.data(), nullptr, n, n, n);
    s.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  const int64_t N = n;
  return {2.0 * N * N * N / median(s) / 1e12,
          "fp32 CPU matmul " + std::to_string(n) + "^3, median of " + std::to_string(reps)};
}

#if defined(QZO_HAVE_CUDA)

void cuda_check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string("bench: ") + what + ": " + cudaGetErrorString(e));
}
void cublas_check(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS)
    throw std::runtime_error(std::string("bench: ") + what + ": cuBLAS status " + std::to_string(int(s)));
}

std::string nvidia_driver_version() {
  std::ifstream in("/proc/driver/nvidia/version");
  std::string line;
  if (!std::getline(in, line)) return "?";
  const size_t at = line.find("Kernel Module");
  if (at == std::string::npos) return "?";
  std::istringstream rest(line.substr(at + 13));
  std::string version;
  rest >> version;
  return version.empty() ? "?" : version;
}

std::string cuda_version(int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); }

PeakMeasure cuda_peak(Backend& be, int n, int reps) {
  cuda_check(cudaSetDevice(be.device()), "cudaSetDevice");
  const size_t elems = size_t(n) * n, bytes = elems * sizeof(uint16_t);
  void *a = nullptr, *b = nullptr, *c = nullptr;
  cuda_check(cudaMalloc(&a, bytes), "cudaMalloc");
  cuda_check(cudaMalloc(&b, bytes), "cudaMalloc");
  cuda_check(cudaMalloc(&c, bytes), "cudaMalloc");
  const std::vector<uint16_t> host = random_bf16(elems);
  cuda_check(cudaMemcpy(a, host.data(), bytes, cudaMemcpyHostToDevice), "cudaMemcpy");
  cuda_check(cudaMemcpy(b, host.data(), bytes, cudaMemcpyHostToDevice), "cudaMemcpy");
  cudaStream_t stream = static_cast<cudaStream_t>(be.stream());
  cublasHandle_t handle = nullptr;
  cublas_check(cublasCreate(&handle), "cublasCreate");
  cublas_check(cublasSetStream(handle, stream), "cublasSetStream");
  const float alpha = 1.0f, beta = 0.0f;
  auto gemm = [&] {
    cublas_check(cublasGemmEx(handle, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &alpha, a, CUDA_R_16BF, n, b, CUDA_R_16BF,
                              n, &beta, c, CUDA_R_16BF, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                 "cublasGemmEx");
  };
  for (int i = 0; i < 3; ++i) gemm();
  cudaEvent_t start, stop;
  cuda_check(cudaEventCreate(&start), "cudaEventCreate");
  cuda_check(cudaEventCreate(&stop), "cudaEventCreate");
  std::vector<double> s;
  for (int i = 0; i < reps; ++i) {
    cuda_check(cudaEventRecord(start, stream), "cudaEventRecord");
    gemm();
    cuda_check(cudaEventRecord(stop, stream), "cudaEventRecord");
    cuda_check(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float ms = 0;
    cuda_check(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
    s.push_back(ms * 1e-3);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  cublasDestroy(handle);
  cudaFree(a);
  cudaFree(b);
  cudaFree(c);
  const int64_t N = n;
  return {2.0 * N * N * N / median(s) / 1e12, "cuBLAS bf16 GEMM " + std::to_string(n) +
                                                  "^3 (fp32 accumulate), median of " + std::to_string(reps)};
}

#endif

}  // namespace

DeviceInfo device_info(const Backend& be) {
  DeviceInfo info;
#if defined(QZO_HAVE_CUDA)
  if (be.kind() == BackendKind::Cuda) {
    cudaDeviceProp prop{};
    cuda_check(cudaGetDeviceProperties(&prop, be.device()), "cudaGetDeviceProperties");
    int driver = 0, runtime = 0;
    cudaDriverGetVersion(&driver);
    cudaRuntimeGetVersion(&runtime);
    info.name = prop.name;
    info.driver = nvidia_driver_version() + " (CUDA driver " + cuda_version(driver) + ", runtime " +
                  cuda_version(runtime) + ")";
    info.total_bytes = prop.totalGlobalMem;
    return info;
  }
#endif
  info.name = cpu_model_name() + " (" + be.name() + ")";
  info.driver = "-";
  return info;
}

size_t device_used_bytes(const Backend& be) {
#if defined(QZO_HAVE_CUDA)
  if (be.kind() == BackendKind::Cuda) {
    size_t free_bytes = 0, total = 0;
    cuda_check(cudaSetDevice(be.device()), "cudaSetDevice");
    cuda_check(cudaMemGetInfo(&free_bytes, &total), "cudaMemGetInfo");
    return total - free_bytes;
  }
#endif
  (void)be;
  return 0;
}

PeakMeasure measure_peak(Backend& be, int n, int reps) {
#if defined(QZO_HAVE_CUDA)
  if (be.kind() == BackendKind::Cuda) return cuda_peak(be, n, reps);
#endif
  return cpu_peak(be, n, reps);
}

}  // namespace qzo::bench

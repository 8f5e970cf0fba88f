// What a benchmark table says about the machine: the device's name and driver, its memory in
// use, and its dense peak measured in the same run (a large bf16 cuBLAS GEMM on CUDA, an fp32
// GEMM through the CPU backend's matmul otherwise), which MFU is quoted against.
#pragma once
#include <cstddef>
#include <string>

#include "kernels/backend.h"

namespace qzo::bench {

struct DeviceInfo {
  std::string name;     // "NVIDIA H200" or the CPU's model name
  std::string driver;   // "580.65.06 (CUDA driver 13.0, runtime 13.0)", or "-" on the CPU
  size_t total_bytes = 0;
};
DeviceInfo device_info(const Backend& backend);

// Bytes in use on the device as the driver sees them (context, library workspaces and every
// allocator included); 0 on the CPU.
size_t device_used_bytes(const Backend& backend);

struct PeakMeasure {
  double tflops = 0;
  std::string what;  // "cuBLAS bf16 GEMM 8192^3, fp32 accumulate, median of 20"
};
// An n x n x n GEMM timed `reps` times after a warm-up; its buffers are freed on return and
// are not counted by the backend's memory statistics.
PeakMeasure measure_peak(Backend& backend, int n, int reps);

}  // namespace qzo::bench

// Device discovery for the CUDA backend. cudaGetDeviceCount returns an error (not zero
// devices) on machines with the toolkit but no driver/GPU; that is reported as zero.
#include <cuda_runtime.h>

#include "kernels/device.h"

namespace qzo {

int cuda_device_count(std::string* why) {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    if (why) *why = std::string("no CUDA device available (") + cudaGetErrorString(status) + ")";
    cudaGetLastError();  // clear the sticky error so later CUDA calls start clean
    return 0;
  }
  if (count == 0 && why) *why = "no CUDA device available";
  return count;
}

}  // namespace qzo

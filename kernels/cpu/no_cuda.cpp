// Device discovery in a build without the CUDA backend.
#include "kernels/device.h"

#ifndef QZO_HAVE_CUDA
namespace qzo {

int cuda_device_count(std::string* why) {
  if (why) *why = "qzo was built without the CUDA backend (nvcc not found)";
  return 0;
}

}  // namespace qzo
#endif

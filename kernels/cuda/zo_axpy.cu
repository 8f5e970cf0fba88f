// MeZO's in-place update w ← keep·w + step·z on fp32 values, z regenerated from
// (seed, stream): one thread per Philox counter block.
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/z_inplace.cuh"
#include "kernels/cuda/zo_update_math.h"

namespace qzo::cuda {

namespace {

struct AxpyStep {
  float keep, step;
  __device__ float operator()(float w, float z) const { return zo_axpy_element(w, keep, step, z); }
};

}  // namespace

void zo_axpy(Backend& be, float* w, int64_t n, uint64_t seed, uint32_t stream, float keep, float step) {
  launch_z_inplace(be, w, n, seed, stream, AxpyStep{keep, step});
}

}  // namespace qzo::cuda

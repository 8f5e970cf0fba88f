// Block-wide reductions for the one-block-per-row kernels (rmsnorm, softmax, cross-entropy):
// warp shuffles, then one value per warp through shared memory. Every thread gets the result.
#pragma once
#include <cuda_runtime.h>

namespace qzo::cuda {

constexpr int kWarp = 32;

template <typename T, typename Op>
__device__ inline T warp_reduce(T x, Op op) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2) x = op(x, __shfl_xor_sync(0xffffffffu, x, offset));
  return x;
}

// blockDim.x must be a multiple of 32 (at most 1024). `identity` fills the missing warps.
template <typename T, typename Op>
__device__ inline T block_reduce(T x, Op op, T identity) {
  __shared__ T partial[kWarp];
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp;
  x = warp_reduce(x, op);
  __syncthreads();  // `partial` may still be read by a previous reduction
  if (lane == 0) partial[warp] = x;
  __syncthreads();
  x = lane < int(blockDim.x / kWarp) ? partial[lane] : identity;
  return warp_reduce(x, op);
}

struct Sum {
  template <typename T>
  __device__ T operator()(T a, T b) const { return a + b; }
};
struct Max {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

}  // namespace qzo::cuda

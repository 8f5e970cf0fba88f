// Softmax cross-entropy over the vocabulary, one thread block per row: max and Σ exp by block
// reduction (the sum in double, as the CPU), optionally overwriting the logits with their
// gradient scaled per row.
#include "kernels/cuda/block_reduce.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/forward_math.h"
#include "kernels/cuda/launch.h"

namespace qzo::cuda {

namespace {

__global__ void cross_entropy_kernel(float* loss, float* logits, const int32_t* targets, int V,
                                     const float* dlogits_scale) {
  float* z = logits + int64_t(blockIdx.x) * V;
  const int target = targets[blockIdx.x];
  const float target_logit = z[target];  // read before any thread overwrites the row
  float max_z = -INFINITY;
  for (int i = threadIdx.x; i < V; i += blockDim.x) max_z = fmaxf(max_z, z[i]);
  max_z = block_reduce(max_z, Max{}, -INFINITY);
  double sum = 0.0;
  for (int i = threadIdx.x; i < V; i += blockDim.x) sum += double(expf(z[i] - max_z));
  const double log_sum = log(block_reduce(sum, Sum{}, 0.0)) + double(max_z);
  if (threadIdx.x == 0) loss[blockIdx.x] = float(log_sum - double(target_logit));
  if (!dlogits_scale) return;
  const float scale = dlogits_scale[blockIdx.x], log_sum_f = float(log_sum);
  for (int i = threadIdx.x; i < V; i += blockDim.x) z[i] = cross_entropy_dlogit(z[i], log_sum_f, scale, i == target);
}

__global__ void candidate_logprobs_kernel(float* out, const float* logits, const float* loss, const int32_t* targets,
                                          const int32_t* candidates, int64_t R, int V, int C) {
  for (int64_t i = first_thread(); i < R * C; i += thread_stride()) {
    const int64_t r = i / C;
    const float* z = logits + r * V;
    out[i] = candidate_logprob(z[candidates[i % C]], z[targets[r]], loss[r]);
  }
}

}  // namespace

void cross_entropy_forward_backward(Backend& be, float* loss, float* logits, const int32_t* targets, int rows, int V,
                                    const float* dlogits_scale) {
  if (rows == 0) return;
  cross_entropy_kernel<<<rows, kThreads, 0, stream_of(be)>>>(loss, logits, targets, V, dlogits_scale);
  cuda_check(cudaGetLastError());
}

void candidate_logprobs(Backend& be, float* out, const float* logits, const float* loss, const int32_t* targets,
                        const int32_t* candidates, int R, int V, int C) {
  const int64_t n = int64_t(R) * C;
  if (n == 0) return;
  candidate_logprobs_kernel<<<grid_for(n), kThreads, 0, stream_of(be)>>>(out, logits, loss, targets, candidates, R,
                                                                          V, C);
  cuda_check(cudaGetLastError());
}

}  // namespace qzo::cuda

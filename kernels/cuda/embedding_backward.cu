// Embedding backward, the scatter-add dtable[tokens[i]] += dout[i]: one thread per feature d,
// adding the looked-up rows in token order. Repeated tokens never race and there are no
// atomics, so the sum is deterministic and equal to the CPU's bit for bit (data-parallel
// replicas stay identical).
#include "kernels/cuda/backward_math.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/launch.h"

namespace qzo::cuda {

namespace {

__global__ void embedding_backward_kernel(float* dtable, const float* dout, const int32_t* tokens, int n, int D) {
  for (int64_t d = first_thread(); d < D; d += thread_stride())
    embedding_backward_feature(dtable, dout, tokens, n, D, int(d));
}

}  // namespace

void embedding_backward(Backend& be, float* dtable, const float* dout, const int32_t* tokens, int n, int D) {
  if (n == 0 || D == 0) return;
  embedding_backward_kernel<<<grid_for(D), kThreads, 0, stream_of(be)>>>(dtable, dout, tokens, n, D);
  cuda_check(cudaGetLastError());
}

}  // namespace qzo::cuda

// AdamW with decoupled weight decay, elementwise over one parameter tensor in place.
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/zo_update_math.h"

namespace qzo::cuda {

namespace {

__global__ void adamw_kernel(float* w, const float* g, float* m, float* v, int64_t n, ops::AdamWStep s) {
  for (int64_t i = first_thread(); i < n; i += thread_stride()) {
    AdamWMoments mv{m[i], v[i]};
    w[i] = adamw_element(w[i], g[i], mv, s.lr, s.beta1, s.beta2, s.eps, s.weight_decay, s.bias_correction1,
                         s.bias_correction2);
    m[i] = mv.m;
    v[i] = mv.v;
  }
}

}  // namespace

void adamw_update(Backend& be, float* w, const float* g, float* m, float* v, int64_t n, const ops::AdamWStep& s) {
  if (n <= 0) return;
  adamw_kernel<<<grid_for(n), kThreads, 0, stream_of(be)>>>(w, g, m, v, n, s);
  cuda_check(cudaGetLastError());
}

}  // namespace qzo::cuda

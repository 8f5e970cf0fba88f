// LoRA's inverted dropout: one thread per Philox block, i.e. elements 4b .. 4b+3, drawing the
// CPU's bits (philox_dropout_bits4), so the mask is the CPU's bit for bit and the backward
// regenerates it. out may equal inp.
#include "kernels/cuda/backward_math.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/launch.h"
#include "kernels/philox.h"

namespace qzo::cuda {

namespace {

__global__ void lora_dropout_kernel(float* out, const float* inp, int64_t n, uint64_t seed, uint32_t stream,
                                    float p, float keep_scale) {
  const int64_t blocks = (n + 3) / 4;
  for (int64_t b = first_thread(); b < blocks; b += thread_stride()) {
    const PhiloxCounter draws = philox_dropout_bits4(seed, stream, uint64_t(b));
    const int64_t end = 4 * b + 4 < n ? 4 * b + 4 : n;
    for (int64_t i = 4 * b; i < end; ++i) out[i] = dropout_element(inp[i], draws.w[i % 4], p, keep_scale);
  }
}

}  // namespace

void lora_dropout(Backend& be, float* out, const float* inp, int64_t n, uint64_t seed, uint32_t stream, float p) {
  if (n <= 0) return;
  const float keep_scale = 1.0f / (1.0f - p);  // on the host, as the CPU computes it
  lora_dropout_kernel<<<grid_for((n + 3) / 4), kThreads, 0, stream_of(be)>>>(out, inp, n, seed, stream, p,
                                                                             keep_scale);
  cuda_check(cudaGetLastError());
}

}  // namespace qzo::cuda

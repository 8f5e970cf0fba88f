// MeZO's perturbed read of a dense weight: out[i] = fp32(values[i]) (+ ε·z_i), into fp32 or
// bf16. One thread per Philox counter block when perturbed (z drawn once per element).
#include "kernels/error.h"

#include "kernels/cuda/cuda_internal.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/dense_read_math.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/philox_blocks.h"

namespace qzo::cuda {

namespace {

template <typename Out>
__global__ void dense_convert_kernel(Out* out, DenseWeightView w) {
  for (int64_t i = first_thread(); i < int64_t(w.numel); i += thread_stride())
    store_element(out, i, load_weight_f32(w.dtype, w.values, i));
}

template <typename Out>
__global__ void dense_perturbed_kernel(Out* out, DenseWeightView w, ZoPerturbation p) {
  const PhiloxKey key = philox_key(p.seed);
  const int64_t blocks = int64_t(philox_block_count(0, w.numel));
  for (int64_t b = first_thread(); b < blocks; b += thread_stride())
    philox_block_normals(key, p.stream, uint64_t(b), 0, w.numel, [&](uint64_t i, float z) {
      store_element(out, int64_t(i), perturbed_weight(load_weight_f32(w.dtype, w.values, int64_t(i)), p.signed_eps, z));
    });
}

template <typename Out>
void launch_dense_read(Backend& be, Out* out, const DenseWeightView& w, const ZoPerturbation* perturbation) {
  if (w.dtype != DType::F32 && w.dtype != DType::BF16 && w.dtype != DType::F16)
    fail("cuda dense_read: weights must be stored as F32, BF16 or F16");
  if (w.numel == 0) return;
  if (perturbation) {
    dense_perturbed_kernel<<<grid_for(int64_t(philox_block_count(0, w.numel))), kThreads, 0, stream_of(be)>>>(
        out, w, *perturbation);
  } else {
    dense_convert_kernel<<<grid_for(int64_t(w.numel)), kThreads, 0, stream_of(be)>>>(out, w);
  }
  cuda_check(cudaGetLastError());
}

}  // namespace

void dense_read_into(Backend& be, float* out, const DenseWeightView& w, const ZoPerturbation* perturbation) {
  launch_dense_read(be, out, w, perturbation);
}
void dense_read_into(Backend& be, uint16_t* bf16_out, const DenseWeightView& w, const ZoPerturbation* perturbation) {
  launch_dense_read(be, bf16_out, w, perturbation);
}

void dense_read(Backend& be, float* out, const DenseWeightView& w, const ZoPerturbation* perturbation) {
  launch_dense_read(be, out, w, perturbation);
}

}  // namespace qzo::cuda

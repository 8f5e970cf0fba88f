// MeZO's two element-wise ops on the CPU: the perturbed read w + ε·z into scratch and the
// update w ← keep·w + step·z, with z regenerated in chunks. Both are written with explicit
// fma so that every machine (and the CUDA twin) rounds them the same way.
#include <cmath>

#include "kernels/cpu/cpu_ops.h"
#include "kernels/cpu/z_chunks.h"
#include "kernels/philox.h"

namespace qzo::cpu {

void philox_normal_fill(float* out, uint64_t seed, uint32_t stream, uint64_t first_index, int64_t n) {
  qzo::philox_normal_fill(seed, stream, first_index, size_t(n), out);
}

void dense_read(float* out, const DenseWeightView& w, const ZoPerturbation* perturbation) {
  convert_to_f32(w.dtype, w.values, out, w.numel);
  if (!perturbation) return;
  const float e = perturbation->signed_eps;
  over_z_chunks(int64_t(w.numel), perturbation->seed, perturbation->stream,
                [&](int64_t begin, int64_t count, const float* z) {
                  float* o = out + begin;
                  for (int64_t i = 0; i < count; ++i) o[i] = std::fma(e, z[i], o[i]);
                });
}

void zo_axpy(float* w, int64_t n, uint64_t seed, uint32_t stream, float keep, float step) {
  over_z_chunks(n, seed, stream, [&](int64_t begin, int64_t count, const float* z) {
    float* v = w + begin;
    for (int64_t i = 0; i < count; ++i) {
      // A zero step·z keeps keep·w's sign: fma(1, −0, +0) would turn −0 into +0 at lr = 0.
      const float moved = step * z[i];
      v[i] = moved == 0.0f ? keep * v[i] : std::fma(keep, v[i], moved);
    }
  });
}

}  // namespace qzo::cpu

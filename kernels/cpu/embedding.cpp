// Token embedding lookup (from an fp32 table, or through a dense operand of any stored dtype,
// perturbed or not) and its scatter-add backward.
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/cpu/cpu_ops.h"
#include "kernels/error.h"
#include "kernels/philox.h"

namespace qzo::cpu {

void embedding_forward(float* out, const int32_t* tokens, const float* table, int n, int D) {
#pragma omp parallel for schedule(static)
  for (int i = 0; i < n; ++i)
    std::memcpy(out + static_cast<int64_t>(i) * D, table + static_cast<int64_t>(tokens[i]) * D, sizeof(float) * D);
}

void embedding_lookup(float* out, const int32_t* tokens, const WeightOperand& table, int n, int D) {
  if (table.kind != WeightOperand::Kind::Dense) fail("embedding_lookup: the embedding table must be dense");
  const DenseWeightView& w = table.dense;
  if (table.is_plain_f32()) return embedding_forward(out, tokens, static_cast<const float*>(w.values), n, D);
  const size_t row_bytes = size_t(D) * dtype_size(w.dtype);
#pragma omp parallel
  {
    std::vector<float> z(table.perturbed ? D : 0);
#pragma omp for schedule(static)
    for (int i = 0; i < n; ++i) {
      const uint64_t first = uint64_t(tokens[i]) * uint64_t(D);
      float* o = out + static_cast<int64_t>(i) * D;
      convert_to_f32(w.dtype, static_cast<const char*>(w.values) + first / D * row_bytes, o, size_t(D));
      if (!table.perturbed) continue;
      const ZoPerturbation& p = table.perturbation;
      qzo::philox_normal_fill(p.seed, p.stream, first, size_t(D), z.data());
      for (int d = 0; d < D; ++d) o[d] = std::fma(p.signed_eps, z[d], o[d]);  // as dense_read rounds it
    }
  }
}

void embedding_backward(float* dtable, const float* dout, const int32_t* tokens, int n, int D) {
  // Parallel over features, so that repeated tokens never race.
#pragma omp parallel for schedule(static)
  for (int d = 0; d < D; ++d)
    for (int i = 0; i < n; ++i)
      dtable[static_cast<int64_t>(tokens[i]) * D + d] += dout[static_cast<int64_t>(i) * D + d];
}

}  // namespace qzo::cpu

// Bulk dtype conversion on the host (loading, saving, and the CPU backend's reads).
#include <string>

#include "kernels/dtype.h"
#include "kernels/error.h"
#include "kernels/philox.h"

namespace qzo {

void convert_to_f32(DType from, const void* src, float* dst, size_t n) {
  switch (from) {
    case DType::F32: std::memcpy(dst, src, n * 4); return;
    case DType::BF16: {
      const auto* s = static_cast<const uint16_t*>(src);
      for (size_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(s[i]);
      return;
    }
    case DType::F16: {
      const auto* s = static_cast<const uint16_t*>(src);
      for (size_t i = 0; i < n; ++i) dst[i] = f16_to_f32(s[i]);
      return;
    }
    case DType::I64: { const auto* s = static_cast<const int64_t*>(src); for (size_t i = 0; i < n; ++i) dst[i] = float(s[i]); return; }
    case DType::I32: { const auto* s = static_cast<const int32_t*>(src); for (size_t i = 0; i < n; ++i) dst[i] = float(s[i]); return; }
    case DType::I16: { const auto* s = static_cast<const int16_t*>(src); for (size_t i = 0; i < n; ++i) dst[i] = float(s[i]); return; }
    case DType::I8: { const auto* s = static_cast<const int8_t*>(src); for (size_t i = 0; i < n; ++i) dst[i] = float(s[i]); return; }
    case DType::U8: case DType::BOOL: { const auto* s = static_cast<const uint8_t*>(src); for (size_t i = 0; i < n; ++i) dst[i] = float(s[i]); return; }
  }
}

void convert_from_f32(DType to, const float* src, void* dst, size_t n) {
  switch (to) {
    case DType::F32: std::memcpy(dst, src, n * 4); return;
    case DType::BF16: { auto* d = static_cast<uint16_t*>(dst); for (size_t i = 0; i < n; ++i) d[i] = f32_to_bf16(src[i]); return; }
    case DType::F16: { auto* d = static_cast<uint16_t*>(dst); for (size_t i = 0; i < n; ++i) d[i] = f32_to_f16(src[i]); return; }
    default: fail("cannot store fp32 values as " + dtype_name(to) + " (expected F32, F16 or BF16)");
  }
}

namespace {

// One Philox block of rounding bits serves four consecutive elements; blocks run on OpenMP
// threads (each element's bits depend only on its index, so the split changes nothing).
template <uint16_t (*Round)(float, uint32_t)>
void round_stochastically(const float* src, uint16_t* dst, size_t n, uint64_t seed, uint32_t stream) {
  const int64_t blocks = int64_t((n + 3) / 4);
#pragma omp parallel for schedule(static) if (blocks > 4096)
  for (int64_t b = 0; b < blocks; ++b) {
    const PhiloxCounter bits = philox_rounding_bits4(seed, stream, uint64_t(b));
    for (size_t lane = 0, i = size_t(b) * 4; lane < 4 && i < n; ++lane, ++i) dst[i] = Round(src[i], bits.w[lane]);
  }
}

}  // namespace

void convert_from_f32_stochastic(DType to, const float* src, void* dst, size_t n, uint64_t seed, uint32_t stream) {
  switch (to) {
    case DType::F32: std::memcpy(dst, src, n * 4); return;
    case DType::BF16: round_stochastically<f32_to_bf16_stochastic>(src, static_cast<uint16_t*>(dst), n, seed, stream); return;
    case DType::F16: round_stochastically<f32_to_f16_stochastic>(src, static_cast<uint16_t*>(dst), n, seed, stream); return;
    default: fail("cannot store fp32 values as " + dtype_name(to) + " (expected F32, F16 or BF16)");
  }
}

}  // namespace qzo

// QuantizedLinear's dequantization, the hot path of QZO (every layer, twice per step).
// Per group, the 2^k possible weights s * (q - z) or s * C[q] go into a 16-entry table, and
// codes index it: one permute per 16 weights with AVX-512, a two-table blend with AVX2.
// Every path computes each weight with the same single rounding as the naive formula.
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "framework/core/philox.h"
#include "framework/quant/packing.h"
#include "framework/quant/quantized_linear.h"
#include "framework/quant/quantizer.h"

#if defined(__AVX2__) || defined(__AVX512F__)
// GCC 12 flags the self-initialized placeholders inside its AVX-512 headers (a false positive).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#endif

namespace qzo {

struct QuantizedLinear::Scratch {
  std::vector<uint8_t> codes;   // one unpacked row (generic path)
  std::vector<float> offsets;   // one row's scale offsets (fused perturbation)
};

namespace {

// table[q] = s * (q - zero) for scalar codes, s * C[q] for NF4.
inline void group_table(bool nf4, float s, float zero, float* table) {
  if (nf4) {
    for (int q = 0; q < 16; ++q) table[q] = s * kNf4Codebook[q];
  } else {
    for (int q = 0; q < 16; ++q) table[q] = s * (float(q) - zero);
  }
}

// 4-bit codes of n weights (n a multiple of 16 where vectorized) through one group's table.
inline void decode4(const uint8_t* packed, int n, const float* table, float* out) {
  int i = 0;
#if defined(__AVX512F__)
  const __m512 t = _mm512_loadu_ps(table);
  for (; i + 16 <= n; i += 16) {
    uint64_t bytes;
    std::memcpy(&bytes, packed + i / 2, 8);
    const __m128i v = _mm_cvtsi64_si128(int64_t(bytes));
    const __m128i nib = _mm_set1_epi8(0x0F);
    const __m128i lo = _mm_and_si128(v, nib), hi = _mm_and_si128(_mm_srli_epi16(v, 4), nib);
    const __m512i idx = _mm512_cvtepu8_epi32(_mm_unpacklo_epi8(lo, hi));
    _mm512_storeu_ps(out + i, _mm512_permutexvar_ps(idx, t));
  }
#elif defined(__AVX2__)
  const __m256 t_lo = _mm256_loadu_ps(table), t_hi = _mm256_loadu_ps(table + 8);
  for (; i + 8 <= n; i += 8) {
    uint32_t bytes;
    std::memcpy(&bytes, packed + i / 2, 4);
    const __m128i v = _mm_cvtsi32_si128(int32_t(bytes));
    const __m128i nib = _mm_set1_epi8(0x0F);
    const __m128i lo = _mm_and_si128(v, nib), hi = _mm_and_si128(_mm_srli_epi16(v, 4), nib);
    const __m256i idx = _mm256_cvtepu8_epi32(_mm_unpacklo_epi8(lo, hi));
    const __m256 a = _mm256_permutevar8x32_ps(t_lo, idx), b = _mm256_permutevar8x32_ps(t_hi, idx);
    // Bit 3 of the code picks the upper table: move it to the sign bit for blendv.
    _mm256_storeu_ps(out + i, _mm256_blendv_ps(a, b, _mm256_castsi256_ps(_mm256_slli_epi32(idx, 28))));
  }
#endif
  for (; i + 1 < n; i += 2) {
    const uint8_t b = packed[i / 2];
    out[i] = table[b & 0xF];
    out[i + 1] = table[b >> 4];
  }
}

// Layers smaller than this dequantize on the calling thread: forking costs more.
constexpr size_t kParallelWeights = size_t(1) << 15;

}  // namespace

void QuantizedLinear::dequantize_row(int row, const float* row_offsets, float* out,
                                     Scratch& scratch) const {
  const int g = spec_.group_size, groups = groups_per_row(), bits = spec_.bits;
  const bool nf4 = spec_.method == QuantMethod::Nf4;
  const size_t base = size_t(row) * size_t(groups);
  const float* S = scales_.data() + base;
  const uint8_t* Z = nf4 ? nullptr : zero_points_.data() + base;
  const uint8_t* packed = packed_codes_.data() + size_t(row) * row_bytes_;
  auto scale = [&](int k) { return row_offsets ? S[k] + row_offsets[k] : S[k]; };

  if (bits == 4 && g % 2 == 0) {  // groups start on byte boundaries
    alignas(64) float table[16];
    for (int k = 0; k < groups; ++k) {
      group_table(nf4, scale(k), Z ? float(Z[k]) : 0.0f, table);
      decode4(packed + size_t(k) * g / 2, g, table, out + size_t(k) * g);
    }
    return;
  }
  if (bits == 8) {
    for (int k = 0; k < groups; ++k) {
      const float s = scale(k), zero = float(Z[k]);
      const uint8_t* q = packed + size_t(k) * g;
      float* o = out + size_t(k) * g;
      for (int i = 0; i < g; ++i) o[i] = s * (float(q[i]) - zero);
    }
    return;
  }
  // 2 and 3 bits (and odd 4-bit groups): unpack the row, then look codes up per group.
  scratch.codes.resize(size_t(in_features_));
  unpack_codes(packed, size_t(in_features_), bits, scratch.codes.data());
  float table[16];
  for (int k = 0; k < groups; ++k) {
    group_table(nf4, scale(k), Z ? float(Z[k]) : 0.0f, table);
    const uint8_t* q = scratch.codes.data() + size_t(k) * g;
    float* o = out + size_t(k) * g;
    for (int i = 0; i < g; ++i) o[i] = table[q[i]];
  }
}

void QuantizedLinear::dequantize(float* W_out) const { dequantize_perturbed(W_out, nullptr); }

void QuantizedLinear::dequantize_perturbed(float* W_out, const float* scale_offsets) const {
  const int groups = groups_per_row();
#pragma omp parallel if (size_t(out_features_) * size_t(in_features_) >= kParallelWeights)
  {
    Scratch scratch;
#pragma omp for schedule(static)
    for (int r = 0; r < out_features_; ++r)
      dequantize_row(r, scale_offsets ? scale_offsets + size_t(r) * size_t(groups) : nullptr,
                     W_out + size_t(r) * size_t(in_features_), scratch);
  }
}

void QuantizedLinear::dequantize_perturbed(float* W_out, uint64_t seed, uint32_t stream,
                                           float signed_eps) const {
  const int groups = groups_per_row();
#pragma omp parallel if (size_t(out_features_) * size_t(in_features_) >= kParallelWeights)
  {
    Scratch scratch;
    scratch.offsets.resize(size_t(groups));
    float* off = scratch.offsets.data();
#pragma omp for schedule(static)
    for (int r = 0; r < out_features_; ++r) {
      const uint64_t first = uint64_t(r) * uint64_t(groups);
      philox_normal_fill(seed, stream, first, size_t(groups), off);
      // Rounded product first, then the sum in dequantize_row: the buffered path's order.
      for (int k = 0; k < groups; ++k) off[k] = signed_eps * off[k];
      dequantize_row(r, off, W_out + size_t(r) * size_t(in_features_), scratch);
    }
  }
}

}  // namespace qzo

// Dequantization of a QuantizedWeightView, the hot path of QZO (every layer, twice per step).
// Per group, the 2^k possible weights s * (q - z) or s * C[q] go into a 16-entry table, and
// codes index it: one permute per 16 weights with AVX-512, a two-table blend with AVX2.
// Every path computes each weight with the same single rounding as the naive formula.
// Double-quantized NF4 (bitsandbytes' layout) decodes each block's absmax first.
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/cpu/cpu_ops.h"
#include "kernels/cpu/simd.h"
#include "kernels/double_quant.h"
#include "kernels/nf4.h"
#include "kernels/packing.h"
#include "kernels/philox.h"
#include "kernels/scale_perturbation.h"

namespace qzo::cpu {

namespace {

struct Scratch {
  std::vector<uint8_t> codes;   // one unpacked row (generic path)
  std::vector<float> offsets;   // a tile of rows' scale offsets or factors (fused perturbation)
  std::vector<float> scales;    // one act-order row's scales
};

// table[q] = s * (q - zero) for scalar codes, s * levels[q] for NF4 and codebooks (2^bits
// levels; the rest of the 16 entries are 0 so that vector permutes read defined values).
// With AVX-512 the table is one 64-byte store, which the decoder's 64-byte load of it can be
// forwarded from: a table written piecewise stalls that load on every group (measured 2.7×
// slower dequantization). Every entry is the same single rounding either way.
inline void group_table(const float* levels, int bits, float s, float zero, float* table) {
#if defined(__AVX512F__)
  const __m512 values =
      levels ? _mm512_maskz_loadu_ps(__mmask16((1u << (1 << bits)) - 1u), levels)
             : _mm512_sub_ps(_mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_ps(zero));
  _mm512_store_ps(table, _mm512_mul_ps(_mm512_set1_ps(s), values));
#else
  if (levels) {
    const int n = 1 << bits;
    for (int q = 0; q < 16; ++q) table[q] = q < n ? s * levels[q] : 0.0f;
  } else {
    for (int q = 0; q < 16; ++q) table[q] = s * (float(q) - zero);
  }
#endif
}

// 4-bit codes of n weights (n even; 16 or 8 at a time where vectorized) through one
// group's table. HighFirst: the first of two codes sits in the high nibble (bitsandbytes).
template <bool HighFirst>
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
    const __m512i idx = _mm512_cvtepu8_epi32(HighFirst ? _mm_unpacklo_epi8(hi, lo) : _mm_unpacklo_epi8(lo, hi));
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
    const __m256i idx = _mm256_cvtepu8_epi32(HighFirst ? _mm_unpacklo_epi8(hi, lo) : _mm_unpacklo_epi8(lo, hi));
    const __m256 a = _mm256_permutevar8x32_ps(t_lo, idx), b = _mm256_permutevar8x32_ps(t_hi, idx);
    // Bit 3 of the code picks the upper table: move it to the sign bit for blendv.
    _mm256_storeu_ps(out + i, _mm256_blendv_ps(a, b, _mm256_castsi256_ps(_mm256_slli_epi32(idx, 28))));
  }
#endif
  for (; i + 1 < n; i += 2) {
    const uint8_t b = packed[i / 2];
    out[i] = table[HighFirst ? b >> 4 : b & 0xF];
    out[i + 1] = table[HighFirst ? b & 0xF : b >> 4];
  }
}

// Unpacked codes (one per byte, < 16) of n weights through one group's table.
inline void decode_bytes(const uint8_t* codes, int n, const float* table, float* out) {
  int i = 0;
#if defined(__AVX512F__)
  const __m512 t = _mm512_loadu_ps(table);
  for (; i + 16 <= n; i += 16) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(codes + i));
    _mm512_storeu_ps(out + i, _mm512_permutexvar_ps(_mm512_cvtepu8_epi32(bytes), t));
  }
#endif
  for (; i < n; ++i) out[i] = table[codes[i]];
}

#if defined(__AVX512F__)
// 2- or 3-bit codes of n weights (n % 16 == 0, starting on a byte boundary) through one
// group's table: 16 codes span 4 or 6 bytes; broadcast them, shift each lane to its code.
template <int Bits>
inline void decode_narrow16(const uint8_t* packed, int n, const float* table, float* out) {
  static_assert(Bits == 2 || Bits == 3, "2 or 3 bits");
  const __m512 t = _mm512_loadu_ps(table);
  const __m512i mask = _mm512_set1_epi32((1 << Bits) - 1);
  for (int i = 0; i < n; i += 16) {
    __m512i words, shifts;
    if (Bits == 2) {
      uint32_t w;
      std::memcpy(&w, packed + i / 4, 4);
      words = _mm512_set1_epi32(int32_t(w));
      shifts = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    } else {
      // Two register loads: a 6-byte memcpy goes through the stack and stalls.
      uint32_t lo;
      uint16_t hi;
      std::memcpy(&lo, packed + i / 8 * 3, 4);
      std::memcpy(&hi, packed + i / 8 * 3 + 4, 2);
      const uint64_t w = uint64_t(lo) | uint64_t(hi) << 32;
      // Codes 0-7 in the low 24 bits, 8-15 in the next 24.
      words = _mm512_mask_mov_epi32(_mm512_set1_epi32(int32_t(w & 0xFFFFFF)), 0xFF00,
                                    _mm512_set1_epi32(int32_t(w >> 24)));
      shifts = _mm512_setr_epi32(0, 3, 6, 9, 12, 15, 18, 21, 0, 3, 6, 9, 12, 15, 18, 21);
    }
    const __m512i idx = _mm512_and_si512(_mm512_srlv_epi32(words, shifts), mask);
    _mm512_storeu_ps(out + i, _mm512_permutexvar_ps(idx, t));
  }
}
#endif

// Layers smaller than this dequantize on the calling thread: forking costs more.
constexpr size_t kParallelWeights = size_t(1) << 15;

// Scale j as stored: fp32, or a double-quantized absmax decoded through the dynamic map.
inline float stored_scale(const QuantizedWeightView& w, size_t j) {
  if (!w.double_quantized()) return w.scales[j];
  const DoubleQuantizedScales& d = w.double_quant;
  return double_quant_absmax(kSignedDynamicMap.value[d.absmax_codes[j]], d.absmax2[j / kDoubleQuantBlock], d.offset);
}

// How a row reads its scales: as stored, or perturbed by per-scale values that are added
// (S + ε·z) or multiplied (S · exp(ε·z)).
struct RowScales {
  const float* perturbation = nullptr;
  bool multiplicative = false;
};

// Act-order rows (GPTQ desc_act): every column looks its group up in g_idx.
void dequantize_act_order_row(const QuantizedWeightView& w, int row, const std::vector<float>& scales,
                              const uint8_t* Z, const float* levels, float* out, Scratch& scratch) {
  scratch.codes.resize(size_t(w.in_features));
  unpack_codes(w.packed_codes + size_t(row) * w.row_bytes, size_t(w.in_features), w.bits, scratch.codes.data(),
               w.nibble_order);
  for (int c = 0; c < w.in_features; ++c) {
    const int k = w.g_idx[c];
    const float q = float(scratch.codes[size_t(c)]);
    out[c] = levels ? scales[size_t(k)] * levels[scratch.codes[size_t(c)]] : scales[size_t(k)] * (q - float(Z[k]));
  }
}

void dequantize_row(const QuantizedWeightView& w, int row, RowScales read, float* out, Scratch& scratch) {
  const int g = w.group_size, groups = w.groups_per_row(), bits = w.bits;
  const float* levels = w.row_levels(row, kNf4Codebook);
  const size_t base = size_t(row) * size_t(groups);
  const uint8_t* Z = levels ? nullptr : w.zero_points + base;
  const uint8_t* packed = w.packed_codes + size_t(row) * w.row_bytes;
  auto scale = [&](int k) {
    const float s = stored_scale(w, base + size_t(k));
    if (!read.perturbation) return s;
    return apply_scale_perturbation(s, read.perturbation[k], read.multiplicative);
  };
  if (w.g_idx) {
    scratch.scales.resize(size_t(groups));
    for (int k = 0; k < groups; ++k) scratch.scales[size_t(k)] = scale(k);
    dequantize_act_order_row(w, row, scratch.scales, Z, levels, out, scratch);
    return;
  }

  if (bits == 4 && g % 2 == 0) {  // groups start on byte boundaries
    const bool high_first = w.nibble_order == NibbleOrder::HighFirst;
    alignas(64) float table[16];
    for (int k = 0; k < groups; ++k) {
      group_table(levels, bits, scale(k), Z ? float(Z[k]) : 0.0f, table);
      const uint8_t* p = packed + size_t(k) * g / 2;
      if (high_first) decode4<true>(p, g, table, out + size_t(k) * g);
      else decode4<false>(p, g, table, out + size_t(k) * g);
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
#if defined(__AVX512F__)
  if ((bits == 2 || bits == 3) && g % 16 == 0) {
    alignas(64) float table[16];
    for (int k = 0; k < groups; ++k) {
      group_table(levels, bits, scale(k), Z ? float(Z[k]) : 0.0f, table);
      const uint8_t* p = packed + size_t(k) * size_t(g) * size_t(bits) / 8;
      if (bits == 2) decode_narrow16<2>(p, g, table, out + size_t(k) * g);
      else decode_narrow16<3>(p, g, table, out + size_t(k) * g);
    }
    return;
  }
#endif
  // Other 2/3-bit and odd 4-bit groups: unpack the row, then look codes up per group.
  scratch.codes.resize(size_t(w.in_features));
  unpack_codes(packed, size_t(w.in_features), bits, scratch.codes.data(), w.nibble_order);
  alignas(64) float table[16];
  for (int k = 0; k < groups; ++k) {
    group_table(levels, bits, scale(k), Z ? float(Z[k]) : 0.0f, table);
    decode_bytes(scratch.codes.data() + size_t(k) * g, g, table, out + size_t(k) * g);
  }
}

}  // namespace

void dequantize_with_offsets(float* W_out, const QuantizedWeightView& w, const float* scale_offsets) {
  refuse_perturbed_double_quant(w, scale_offsets != nullptr, "dequantize");
  const int groups = w.groups_per_row();
#pragma omp parallel if (w.numel() >= kParallelWeights)
  {
    Scratch scratch;
#pragma omp for schedule(static)
    for (int r = 0; r < w.out_features; ++r)
      dequantize_row(w, r, RowScales{scale_offsets ? scale_offsets + size_t(r) * size_t(groups) : nullptr},
                     W_out + size_t(r) * size_t(w.in_features), scratch);
  }
}

namespace {

// Scale offsets signed_eps * z (or factors exp(signed_eps * z)) drawn per tile of rows on the
// fly: bit for bit what filling a buffer of offsets and calling dequantize_with_offsets gives.
void dequantize_perturbed(float* W_out, const QuantizedWeightView& w, const ZoPerturbation& p) {
  const int groups = w.groups_per_row();
  // Rows are drawn in tiles of >= 256 scales: Philox works in chunks of 64 normals.
  const int tile_rows = std::max(1, 256 / groups);
  const int tiles = (w.out_features + tile_rows - 1) / tile_rows;
#pragma omp parallel if (w.numel() >= kParallelWeights)
  {
    Scratch scratch;
    scratch.offsets.resize(size_t(tile_rows) * size_t(groups));
    float* off = scratch.offsets.data();
#pragma omp for schedule(static)
    for (int t = 0; t < tiles; ++t) {
      const int r0 = t * tile_rows, r1 = std::min(w.out_features, r0 + tile_rows);
      const size_t n = size_t(r1 - r0) * size_t(groups);
      qzo::philox_normal_fill(p.seed, p.stream, uint64_t(r0) * uint64_t(groups), n, off);
      // Rounded product first, then the sum (or product) in dequantize_row: the buffered
      // path's order, and the one perturbed_scale in kernels/cuda/dequantize_math.h keeps.
      for (size_t j = 0; j < n; ++j) off[j] = scale_perturbation(p.signed_eps, off[j], p.multiplicative);
      for (int r = r0; r < r1; ++r)
        dequantize_row(w, r, RowScales{off + size_t(r - r0) * size_t(groups), p.multiplicative},
                       W_out + size_t(r) * size_t(w.in_features), scratch);
    }
  }
}

}  // namespace

void dequantize(float* W_out, const QuantizedWeightView& w, const ZoPerturbation* perturbation) {
  refuse_perturbed_double_quant(w, perturbation != nullptr, "dequantize");
  if (perturbation)
    dequantize_perturbed(W_out, w, *perturbation);
  else
    dequantize_with_offsets(W_out, w, nullptr);
}

}  // namespace qzo::cpu

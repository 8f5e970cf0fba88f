// Scalar and bulk Gaussian draws from Philox-4x32-10. The bulk path runs the same element
// math as philox.h over structure-of-arrays chunks of counter blocks, so that the compiler
// vectorizes across blocks while every element stays bit-identical to the scalar draw.
#include "kernels/philox.h"

#include <omp.h>
#include "kernels/cpu/simd.h"

#include <algorithm>
#include <cmath>

namespace qzo {
namespace {

constexpr int kChunkBlocks = 16;  // 64 normals: one AVX-512 vector per counter word

// Ten Philox rounds over kChunkBlocks counters held as four word arrays. Compilers do not
// vectorize the 32x32->64 high multiply well, so the wide paths spell it out.
#if defined(__AVX512F__)
inline void philox_rounds(uint32_t* x0, uint32_t* x1, uint32_t* x2, uint32_t* x3, PhiloxKey key) {
  __m512i c0 = _mm512_loadu_si512(x0), c1 = _mm512_loadu_si512(x1);
  __m512i c2 = _mm512_loadu_si512(x2), c3 = _mm512_loadu_si512(x3);
  __m512i k0 = _mm512_set1_epi32(int(key.w[0])), k1 = _mm512_set1_epi32(int(key.w[1]));
  const __m512i m0 = _mm512_set1_epi64(kPhiloxM0), m1 = _mm512_set1_epi64(kPhiloxM1);
  const __m512i w0 = _mm512_set1_epi32(int(kPhiloxW0)), w1 = _mm512_set1_epi32(int(kPhiloxW1));
  const __mmask16 odd = 0xAAAA;
  for (int round = 0; round < kPhiloxRounds; ++round) {
    // Even lanes multiply in place, odd lanes after a 32-bit shift; then split hi/lo.
    const __m512i e0 = _mm512_mul_epu32(c0, m0), o0 = _mm512_mul_epu32(_mm512_srli_epi64(c0, 32), m0);
    const __m512i e1 = _mm512_mul_epu32(c2, m1), o1 = _mm512_mul_epu32(_mm512_srli_epi64(c2, 32), m1);
    const __m512i lo0 = _mm512_mask_blend_epi32(odd, e0, _mm512_slli_epi64(o0, 32));
    const __m512i hi0 = _mm512_mask_blend_epi32(odd, _mm512_srli_epi64(e0, 32), o0);
    const __m512i lo1 = _mm512_mask_blend_epi32(odd, e1, _mm512_slli_epi64(o1, 32));
    const __m512i hi1 = _mm512_mask_blend_epi32(odd, _mm512_srli_epi64(e1, 32), o1);
    c0 = _mm512_xor_si512(_mm512_xor_si512(hi1, c1), k0);
    c2 = _mm512_xor_si512(_mm512_xor_si512(hi0, c3), k1);
    c1 = lo1;
    c3 = lo0;
    k0 = _mm512_add_epi32(k0, w0);
    k1 = _mm512_add_epi32(k1, w1);
  }
  _mm512_storeu_si512(x0, c0);
  _mm512_storeu_si512(x1, c1);
  _mm512_storeu_si512(x2, c2);
  _mm512_storeu_si512(x3, c3);
}
#elif defined(__AVX2__)
inline void philox_rounds(uint32_t* x0, uint32_t* x1, uint32_t* x2, uint32_t* x3, PhiloxKey key) {
  const __m256i m0 = _mm256_set1_epi64x(kPhiloxM0), m1 = _mm256_set1_epi64x(kPhiloxM1);
  const __m256i w0 = _mm256_set1_epi32(int(kPhiloxW0)), w1 = _mm256_set1_epi32(int(kPhiloxW1));
  for (int half = 0; half < kChunkBlocks; half += 8) {
    auto load = [&](const uint32_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + half)); };
    __m256i c0 = load(x0), c1 = load(x1), c2 = load(x2), c3 = load(x3);
    __m256i k0 = _mm256_set1_epi32(int(key.w[0])), k1 = _mm256_set1_epi32(int(key.w[1]));
    for (int round = 0; round < kPhiloxRounds; ++round) {
      const __m256i e0 = _mm256_mul_epu32(c0, m0), o0 = _mm256_mul_epu32(_mm256_srli_epi64(c0, 32), m0);
      const __m256i e1 = _mm256_mul_epu32(c2, m1), o1 = _mm256_mul_epu32(_mm256_srli_epi64(c2, 32), m1);
      const __m256i lo0 = _mm256_blend_epi32(e0, _mm256_slli_epi64(o0, 32), 0xAA);
      const __m256i hi0 = _mm256_blend_epi32(_mm256_srli_epi64(e0, 32), o0, 0xAA);
      const __m256i lo1 = _mm256_blend_epi32(e1, _mm256_slli_epi64(o1, 32), 0xAA);
      const __m256i hi1 = _mm256_blend_epi32(_mm256_srli_epi64(e1, 32), o1, 0xAA);
      c0 = _mm256_xor_si256(_mm256_xor_si256(hi1, c1), k0);
      c2 = _mm256_xor_si256(_mm256_xor_si256(hi0, c3), k1);
      c1 = lo1;
      c3 = lo0;
      k0 = _mm256_add_epi32(k0, w0);
      k1 = _mm256_add_epi32(k1, w1);
    }
    auto store = [&](uint32_t* p, __m256i v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p + half), v); };
    store(x0, c0);
    store(x1, c1);
    store(x2, c2);
    store(x3, c3);
  }
}
#else
inline void philox_rounds(uint32_t* x0, uint32_t* x1, uint32_t* x2, uint32_t* x3, PhiloxKey key) {
  for (int l = 0; l < kChunkBlocks; ++l) {
    const PhiloxCounter c = philox4x32_10({{x0[l], x1[l], x2[l], x3[l]}}, key);
    x0[l] = c.w[0];
    x1[l] = c.w[1];
    x2[l] = c.w[2];
    x3[l] = c.w[3];
  }
}
#endif

// In-place IEEE square root of kChunkBlocks values (correctly rounded, as sqrtf).
inline void sqrt_chunk(float* v) {
#if defined(__AVX512F__)
  _mm512_storeu_ps(v, _mm512_sqrt_ps(_mm512_loadu_ps(v)));
#elif defined(__AVX__)
  for (int i = 0; i < kChunkBlocks; i += 8) _mm256_storeu_ps(v + i, _mm256_sqrt_ps(_mm256_loadu_ps(v + i)));
#else
  for (int i = 0; i < kChunkBlocks; ++i) v[i] = std::sqrt(v[i]);
#endif
}

// Normals of `count` (<= kChunkBlocks) consecutive blocks starting at `first_block`.
void normal_chunk(PhiloxKey key, uint32_t stream, uint64_t first_block, int count,
                  float* out) {
  uint32_t x0[kChunkBlocks], x1[kChunkBlocks], x2[kChunkBlocks], x3[kChunkBlocks];
  for (int l = 0; l < kChunkBlocks; ++l) {
    const uint64_t block = first_block + uint64_t(l);
    x0[l] = uint32_t(block);
    x1[l] = uint32_t(block >> 32);
    x2[l] = stream;
    x3[l] = 0u;
  }
  philox_rounds(x0, x1, x2, x3, key);
  // Box-Muller over the two pairs of every block, lane-major so that it vectorizes. The
  // square root gets its own pass: with errno semantics compilers keep sqrtf scalar.
  float r0[kChunkBlocks], r1[kChunkBlocks];
  for (int l = 0; l < kChunkBlocks; ++l) {
    r0[l] = philox_radius_squared(x0[l]);
    r1[l] = philox_radius_squared(x2[l]);
  }
  sqrt_chunk(r0);
  sqrt_chunk(r1);
  float z0[kChunkBlocks], z1[kChunkBlocks], z2[kChunkBlocks], z3[kChunkBlocks];
  for (int l = 0; l < kChunkBlocks; ++l) {
    float c, s;
    philox_cos_sin_turns(philox_open_uniform(x1[l]), &c, &s);
    z0[l] = r0[l] * c;
    z1[l] = r0[l] * s;
    philox_cos_sin_turns(philox_open_uniform(x3[l]), &c, &s);
    z2[l] = r1[l] * c;
    z3[l] = r1[l] * s;
  }
  for (int l = 0; l < count; ++l) {
    out[4 * l + 0] = z0[l];
    out[4 * l + 1] = z1[l];
    out[4 * l + 2] = z2[l];
    out[4 * l + 3] = z3[l];
  }
}

// Whole blocks [first_block, first_block + blocks) into out (4 * blocks floats).
void fill_blocks(PhiloxKey key, uint32_t stream, uint64_t first_block, uint64_t blocks,
                 float* out) {
  for (uint64_t b = 0; b < blocks; b += kChunkBlocks) {
    const int count = int(std::min<uint64_t>(kChunkBlocks, blocks - b));
    normal_chunk(key, stream, first_block + b, count, out + 4 * b);
  }
}

// Below this many elements the OpenMP fork costs more than it saves.
constexpr size_t kParallelThreshold = size_t(1) << 16;

}  // namespace

float philox_normal(uint64_t seed, uint32_t stream, uint64_t index) {
  float z[4];
  philox_normal4(philox_key(seed), stream, index / 4, z);
  return z[index % 4];
}

void philox_normal_fill(uint64_t seed, uint32_t stream, uint64_t first_index, size_t n,
                        float* out) {
  if (n == 0) return;
  const PhiloxKey key = philox_key(seed);
  // Partial leading block, whole blocks, partial trailing block.
  size_t done = 0;
  uint64_t block = first_index / 4;
  if (first_index % 4 != 0) {
    float z[4];
    philox_normal4(key, stream, block, z);
    const size_t lane = first_index % 4;
    const size_t take = std::min<size_t>(4 - lane, n);
    std::copy(z + lane, z + lane + take, out);
    done = take;
    ++block;
  }
  const uint64_t whole = (n - done) / 4;
  if (whole > 0) {
    float* dst = out + done;
    if (n >= kParallelThreshold && !omp_in_parallel()) {
      const int64_t chunks = int64_t((whole + kChunkBlocks - 1) / kChunkBlocks);
#pragma omp parallel for schedule(static)
      for (int64_t c = 0; c < chunks; ++c) {
        const uint64_t b = uint64_t(c) * kChunkBlocks;
        const int count = int(std::min<uint64_t>(kChunkBlocks, whole - b));
        normal_chunk(key, stream, block + b, count, dst + 4 * b);
      }
    } else {
      fill_blocks(key, stream, block, whole, dst);
    }
    done += 4 * whole;
    block += whole;
  }
  if (done < n) {
    float z[4];
    philox_normal4(key, stream, block, z);
    std::copy(z, z + (n - done), out + done);
  }
}

}  // namespace qzo

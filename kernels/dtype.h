// Element types of stored tensors (the safetensors dtype set) and the per-element
// fp32 <-> bf16/fp16 conversions, shared by the CPU ops and the CUDA kernels.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "kernels/hd.h"

namespace qzo {

enum class DType { F32, F16, BF16, I64, I32, I16, I8, U8, BOOL };

inline size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: case DType::I32: return 4;
    case DType::F16: case DType::BF16: case DType::I16: return 2;
    case DType::I64: return 8;
    case DType::I8: case DType::U8: case DType::BOOL: return 1;
  }
  return 0;
}

// safetensors spelling: "F32", "BF16", ...
inline std::string dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    case DType::I64: return "I64";
    case DType::I32: return "I32";
    case DType::I16: return "I16";
    case DType::I8: return "I8";
    case DType::U8: return "U8";
    case DType::BOOL: return "BOOL";
  }
  return "?";
}

QZO_HD inline float bf16_to_f32(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

// Round-to-nearest-even, NaN kept quiet.
QZO_HD inline uint16_t f32_to_bf16(float f) {
  uint32_t bits;
  memcpy(&bits, &f, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

QZO_HD inline float f16_to_f32(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1fu;
  uint32_t mantissa = h & 0x3ffu;
  uint32_t bits;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent == 0) {
    if (mantissa == 0) {
      bits = sign;
    } else {  // subnormal: renormalize
      exponent = 127 - 15 + 1;
      while ((mantissa & 0x400u) == 0) {
        mantissa <<= 1;
        --exponent;
      }
      bits = sign | (exponent << 23) | ((mantissa & 0x3ffu) << 13);
    }
  } else {
    bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  }
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

QZO_HD inline uint16_t f32_to_f16(float f) {
  uint32_t bits;
  memcpy(&bits, &f, 4);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  const uint32_t abs = bits & 0x7fffffffu;
  if (abs > 0x7f800000u) return sign | 0x7e00u;            // NaN
  if (abs >= 0x477ff000u) return sign | 0x7c00u;           // overflow -> inf (incl. rounding up)
  if (abs < 0x38800000u) {                                 // subnormal or zero in fp16
    if (abs < 0x33000000u) return sign;                    // underflows to zero
    // value = mantissa * 2^(exponent - 150); one fp16 subnormal unit is 2^-24.
    const uint32_t exponent = abs >> 23;
    const uint32_t mantissa = (abs & 0x7fffffu) | 0x800000u;
    const uint32_t rshift = 126 - exponent;  // bits dropped: 14..24
    uint32_t half = mantissa >> rshift;
    const uint32_t rem = mantissa & ((1u << rshift) - 1);
    const uint32_t halfway = 1u << (rshift - 1);
    if (rem > halfway || (rem == halfway && (half & 1u))) ++half;
    return sign | static_cast<uint16_t>(half);
  }
  uint32_t h = ((abs - 0x38000000u) >> 13);                // rebias exponent 127 -> 15
  const uint32_t rem = abs & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;
  return sign | static_cast<uint16_t>(h);
}

// --- Stochastic rounding (MeZO's updates on bf16/fp16 storage) ----------------------------
// Rounds to one of the two representable neighbours of f, the one away from zero with
// probability equal to f's fractional position between them, so that E[round(f)] = f.
// Round-to-nearest would drop every update smaller than half an ulp (at |w| = 0.03 a bf16
// ulp is 1.2e-4; a step lr·d·z at lr 1e-5 is about 3e-5), so MeZO would not move at all; an
// fp32 master copy would cost 4 bytes a weight more. Values the format holds exactly (±0
// included) stay exact whatever the bits. `random_bits`: 32 uniform bits (philox_rounding_bits).

// bf16 keeps the top 16 bits of the fp32 pattern, so the dropped 16 bits are the position:
// adding 16 uniform bits carries into the kept half with exactly that probability (across a
// binade too: the carry increments the exponent). NaN stays quiet; ±inf stays. With all-zero
// bits both formats round toward zero, with all-one bits away from it (unless exact).
QZO_HD inline uint16_t f32_to_bf16_stochastic(float f, uint32_t random_bits) {
  uint32_t bits;
  memcpy(&bits, &f, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return f32_to_bf16(f);
  return static_cast<uint16_t>((bits + (random_bits >> 16)) >> 16);
}

// fp16 drops 13 bits in its normal range and more below it, so the neighbours are found on
// the fp16 grid: `below` is |f| rounded toward zero, `below + 1` the next pattern up (fp16
// patterns grow with magnitude). a − low is exact and the gap a power of two, so `position`
// (where |f| lies, in 2^-24ths of the gap) is exact for every |f| >= 2^-24, fp16's smallest
// subnormal, and truncated below it. Adding 24 uniform bits carries past 2^24 with
// probability position / 2^24, as the bf16 path does with 16. |f| >= 65504 (fp16's largest
// finite), ±inf and NaN convert as f32_to_f16 does.
QZO_HD inline uint16_t f32_to_f16_stochastic(float f, uint32_t random_bits) {
  uint32_t bits;
  memcpy(&bits, &f, 4);
  const uint32_t abs_bits = bits & 0x7fffffffu;
  if (!(abs_bits < 0x477fe000u)) return f32_to_f16(f);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  float a;
  memcpy(&a, &abs_bits, 4);
  uint16_t below = f32_to_f16(a);
  if (f16_to_f32(below) > a) --below;
  const float low = f16_to_f32(below);
  if (low == a) return sign | below;
  const float gap = f16_to_f32(static_cast<uint16_t>(below + 1)) - low;
  const uint32_t position = static_cast<uint32_t>((a - low) / gap * 16777216.0f);
  const bool away = (random_bits >> 8) + position >= (1u << 24);
  return sign | static_cast<uint16_t>(below + (away ? 1 : 0));
}

// Converts n elements of type `from` at host src into fp32 at dst (F32, F16, BF16, integer types).
void convert_to_f32(DType from, const void* src, float* dst, size_t n);
// Converts n fp32 values into `to` (F32, F16, BF16) at dst; throws std::invalid_argument otherwise.
void convert_from_f32(DType to, const float* src, void* dst, size_t n);
// The same with stochastic rounding for F16 and BF16 (F32 is copied): element i rounds with
// philox_rounding_bits(seed, stream, i), so the result is a pure function of the values and
// (seed, stream), bit-identical on every rank and every rerun.
void convert_from_f32_stochastic(DType to, const float* src, void* dst, size_t n, uint64_t seed, uint32_t stream);

}  // namespace qzo

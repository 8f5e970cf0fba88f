#include "framework/core/dtype.h"

#include <cmath>

#include "framework/core/error.h"

namespace qzo {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: case DType::I32: return 4;
    case DType::F16: case DType::BF16: case DType::I16: return 2;
    case DType::I64: return 8;
    case DType::I8: case DType::U8: case DType::BOOL: return 1;
  }
  return 0;
}

std::string dtype_name(DType t) {
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

DType dtype_from_name(const std::string& name) {
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::I64, DType::I32, DType::I16, DType::I8,
                  DType::U8, DType::BOOL})
    if (dtype_name(t) == name) return t;
  fail("unknown dtype '" + name + "' (expected F32, F16, BF16, I64, I32, I16, I8, U8 or BOOL)");
}

DType storage_dtype_from_config(const std::string& name) {
  if (name == "f32" || name == "fp32" || name == "float32") return DType::F32;
  if (name == "bf16" || name == "bfloat16") return DType::BF16;
  if (name == "f16" || name == "fp16" || name == "float16") return DType::F16;
  fail("unknown storage dtype '" + name + "' (expected f32, bf16 or fp16)");
}

float f16_to_f32(uint16_t h) {
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
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t f32_to_f16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
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

}  // namespace qzo

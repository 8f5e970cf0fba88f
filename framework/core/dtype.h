// Element types of stored tensors (the safetensors dtype set) and the fp32 <-> bf16/fp16
// conversions used wherever stored weights are read into fp32 compute.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace qzo {

enum class DType { F32, F16, BF16, I64, I32, I16, I8, U8, BOOL };

size_t dtype_size(DType t);
std::string dtype_name(DType t);            // safetensors spelling: "F32", "BF16", ...
DType dtype_from_name(const std::string& name);  // throws qzo::Error on unknown names
// User-facing spelling in configs ("f32", "bf16", "fp16", "f16") -> DType.
DType storage_dtype_from_config(const std::string& name);

inline float bf16_to_f32(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Round-to-nearest-even, NaN kept quiet.
inline uint16_t f32_to_bf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);

// Converts n elements of type `from` at src into fp32 at dst (F32, F16, BF16, integer types).
void convert_to_f32(DType from, const void* src, float* dst, size_t n);
// Converts n fp32 values into `to` (F32, F16, BF16) at dst.
void convert_from_f32(DType to, const float* src, void* dst, size_t n);

}  // namespace qzo

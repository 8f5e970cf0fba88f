// FNV-1a 64 over bytes, chainable: the cheap, stable hash replicas and configs compare.
#pragma once
#include <cstddef>
#include <cstdint>

namespace qzo {

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ULL;

inline uint64_t fnv1a64_bytes(const void* data, size_t n, uint64_t h = kFnvOffset) {
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ULL;
  return h;
}

}  // namespace qzo

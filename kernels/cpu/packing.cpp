// Pack/unpack of k-bit codes (layout in packing.h).
#include "kernels/packing.h"

#include <cstring>
#include <string>

#include "kernels/error.h"

namespace qzo {
namespace {

void check_bits(int bits) {
  if (bits != 2 && bits != 3 && bits != 4 && bits != 8)
    fail("code packing: bits must be 2, 3, 4 or 8, got " + std::to_string(bits));
}

void check_order(int bits, NibbleOrder order) {
  if (order == NibbleOrder::HighFirst && bits != 4)
    fail("code packing: the high-nibble-first order is for 4-bit codes, got " + std::to_string(bits) + " bits");
}

// bitsandbytes' order: code 2k in the high nibble of byte k, code 2k + 1 in the low one.
void pack_high_first(const uint8_t* codes, size_t n, uint8_t* packed) {
  std::memset(packed, 0, packed_bytes(n, 4));
  for (size_t i = 0; i < n; ++i) packed[i / 2] |= uint8_t((codes[i] & 0xF) << (i % 2 ? 0 : 4));
}

void unpack_high_first(const uint8_t* packed, size_t n, uint8_t* codes) {
  for (size_t i = 0; i < n; ++i) codes[i] = (packed[i / 2] >> (i % 2 ? 0 : 4)) & 0xF;
}

}  // namespace

void pack_codes(const uint8_t* codes, size_t n, int bits, uint8_t* packed, NibbleOrder order) {
  check_bits(bits);
  check_order(bits, order);
  if (order == NibbleOrder::HighFirst) {
    pack_high_first(codes, n, packed);
    return;
  }
  if (bits == 8) {
    std::memcpy(packed, codes, n);
    return;
  }
  std::memset(packed, 0, packed_bytes(n, bits));
  const uint32_t mask = (1u << bits) - 1u;
  for (size_t i = 0; i < n; ++i) {
    const size_t bit = i * size_t(bits);
    // A 3-bit code may straddle two bytes; write through a 16-bit window.
    const uint32_t v = (uint32_t(codes[i]) & mask) << (bit % 8);
    packed[bit / 8] |= uint8_t(v);
    if ((bit % 8) + size_t(bits) > 8) packed[bit / 8 + 1] |= uint8_t(v >> 8);
  }
}

void unpack_codes(const uint8_t* packed, size_t n, int bits, uint8_t* codes, NibbleOrder order) {
  check_bits(bits);
  check_order(bits, order);
  if (order == NibbleOrder::HighFirst) {
    unpack_high_first(packed, n, codes);
    return;
  }
  switch (bits) {
    case 8:
      std::memcpy(codes, packed, n);
      return;
    case 4:
      for (size_t i = 0; i + 1 < n; i += 2) {
        const uint8_t b = packed[i / 2];
        codes[i] = b & 0xF;
        codes[i + 1] = b >> 4;
      }
      if (n % 2) codes[n - 1] = packed[n / 2] & 0xF;
      return;
    case 2: {
      size_t i = 0;
      for (; i + 4 <= n; i += 4) {
        const uint8_t b = packed[i / 4];
        codes[i] = b & 0x3;
        codes[i + 1] = (b >> 2) & 0x3;
        codes[i + 2] = (b >> 4) & 0x3;
        codes[i + 3] = b >> 6;
      }
      for (; i < n; ++i) codes[i] = (packed[i / 4] >> (2 * (i % 4))) & 0x3;
      return;
    }
    default: {  // 3: eight codes per three bytes, then a straddling tail
      size_t i = 0;
      for (; i + 8 <= n; i += 8) {
        const uint8_t* p = packed + i / 8 * 3;
        const uint32_t w = uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16;
        for (int k = 0; k < 8; ++k) codes[i + k] = (w >> (3 * k)) & 0x7;
      }
      for (; i < n; ++i) {
        const size_t bit = 3 * i;
        uint32_t w = packed[bit / 8];
        if (bit % 8 > 5) w |= uint32_t(packed[bit / 8 + 1]) << 8;
        codes[i] = (w >> (bit % 8)) & 0x7;
      }
      return;
    }
  }
}

}  // namespace qzo

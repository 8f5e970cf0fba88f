// Dense bit packing of k-bit quantization codes (k = 2, 3, 4, 8). Each row of codes is one
// little-endian bit stream: code i occupies bits [k*i, k*i + k) of the row, so 4-bit codes
// sit two to a byte (even index in the low nibble), 2-bit four to a byte, and 3-bit eight to
// three bytes. Rows start on a byte boundary. bitsandbytes packs 4-bit codes the other way
// round (the first of two codes in the high nibble): NibbleOrder::HighFirst.
#pragma once
#include <cstddef>
#include <cstdint>

namespace qzo {

constexpr size_t packed_bytes(size_t codes, int bits) {
  return (codes * size_t(bits) + 7) / 8;
}

static_assert(packed_bytes(2, 4) == 1, "4-bit: two codes per byte");
static_assert(packed_bytes(4, 2) == 1, "2-bit: four codes per byte");
static_assert(packed_bytes(8, 3) == 3, "3-bit: eight codes in three bytes");
static_assert(packed_bytes(1, 8) == 1, "8-bit: one code per byte");
static_assert(packed_bytes(1024, 4) == 512 && packed_bytes(1024, 3) == 384, "dense rows");

// Which nibble of a byte holds the first of its two 4-bit codes: qzo's bit stream (LowFirst)
// or bitsandbytes' NF4 layout (HighFirst, the double-quantized QLoRA base).
enum class NibbleOrder { LowFirst, HighFirst };

// codes[i] < 2^bits for i < n; writes packed_bytes(n, bits) bytes (unused bits zero).
// HighFirst applies to 4-bit codes only.
void pack_codes(const uint8_t* codes, size_t n, int bits, uint8_t* packed,
                NibbleOrder order = NibbleOrder::LowFirst);
// Inverse of pack_codes for the first n codes.
void unpack_codes(const uint8_t* packed, size_t n, int bits, uint8_t* codes,
                  NibbleOrder order = NibbleOrder::LowFirst);

}  // namespace qzo

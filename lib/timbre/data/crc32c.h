// CRC-32C (Castagnoli), the checksum TFRecord files carry, and TFRecord's
// "masked" form of it (a checksum of data that itself holds checksums must
// not look like one).
#pragma once

#include <cstddef>
#include <cstdint>

namespace timbre::data {

// CRC-32C of `size` bytes, continuing from `crc` (0 for a fresh checksum).
uint32_t crc32c_extend(uint32_t crc, const void* data, size_t size);
inline uint32_t crc32c(const void* data, size_t size) { return crc32c_extend(0, data, size); }

// TFRecord's mask: rotate right by 15 bits, add a constant (mod 2^32).
inline uint32_t crc32c_mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

}  // namespace timbre::data

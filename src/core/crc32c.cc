#include "core/crc32c.h"

#include <array>

namespace icaht::core {
namespace {

constexpr uint32_t kPolynomial = 0x82f63b78;  // reflected 0x1EDC6F41

constexpr std::array<uint32_t, 256> kTable = [] {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (crc & 1 ? kPolynomial : 0);
    table[i] = crc;
  }
  return table;
}();

}  // namespace

uint32_t Crc32c(std::string_view data) {
  uint32_t crc = 0xffffffff;
  for (unsigned char c : data) crc = (crc >> 8) ^ kTable[(crc ^ c) & 0xff];
  return crc ^ 0xffffffff;
}

}  // namespace icaht::core

#pragma once
// CRC-32C (Castagnoli, the iSCSI / ext4 / LevelDB checksum) of a byte
// string, to detect torn or corrupt records in files the daemon writes.

#include <cstdint>
#include <string_view>

namespace icaht::core {

// Crc32c("123456789") == 0xe3069283.
uint32_t Crc32c(std::string_view data);

}  // namespace icaht::core

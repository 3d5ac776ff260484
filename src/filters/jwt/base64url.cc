#include "filters/jwt/base64url.h"

#include <array>
#include <cstdint>

namespace icaht::filters::jwt {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr uint8_t kInvalid = 0xff;

constexpr std::array<uint8_t, 256> MakeDecodeTable() {
  std::array<uint8_t, 256> table{};
  for (uint8_t& entry : table) entry = kInvalid;
  for (uint8_t i = 0; i < 64; ++i) table[static_cast<uint8_t>(kAlphabet[i])] = i;
  return table;
}

constexpr std::array<uint8_t, 256> kDecode = MakeDecodeTable();

}  // namespace

std::optional<size_t> Base64UrlDecodedSize(size_t encoded_size) {
  switch (encoded_size % 4) {
    case 0:
      return encoded_size / 4 * 3;
    case 2:
      return encoded_size / 4 * 3 + 1;
    case 3:
      return encoded_size / 4 * 3 + 2;
    default:
      return std::nullopt;
  }
}

bool Base64UrlDecode(std::string_view in, std::string* out) {
  std::optional<size_t> size = Base64UrlDecodedSize(in.size());
  if (!size) return false;
  out->resize(*size);
  auto* dst = reinterpret_cast<uint8_t*>(out->data());
  const auto* src = reinterpret_cast<const uint8_t*>(in.data());
  size_t full = in.size() / 4 * 4;
  // Valid characters decode to 0..63, so OR-ing a block's values and testing
  // the top two bits finds an invalid one (0xff) with one test per block.
  for (size_t i = 0; i < full; i += 4) {
    uint8_t a = kDecode[src[i]], b = kDecode[src[i + 1]], c = kDecode[src[i + 2]],
            d = kDecode[src[i + 3]];
    if (((a | b | c | d) & 0xc0) != 0) return false;
    uint32_t bits = uint32_t{a} << 18 | uint32_t{b} << 12 | uint32_t{c} << 6 | d;
    *dst++ = static_cast<uint8_t>(bits >> 16);
    *dst++ = static_cast<uint8_t>(bits >> 8);
    *dst++ = static_cast<uint8_t>(bits);
  }
  size_t rest = in.size() - full;
  if (rest == 0) return true;
  uint8_t a = kDecode[src[full]], b = kDecode[src[full + 1]];
  uint8_t c = rest == 3 ? kDecode[src[full + 2]] : 0;
  if (((a | b | c) & 0xc0) != 0) return false;
  uint32_t bits = uint32_t{a} << 18 | uint32_t{b} << 12 | uint32_t{c} << 6;
  *dst++ = static_cast<uint8_t>(bits >> 16);
  if (rest == 3) *dst++ = static_cast<uint8_t>(bits >> 8);
  // Bits below the last whole byte must be zero (RFC 4648 section 3.5).
  uint32_t unused_mask = rest == 2 ? 0xffff : 0xff;
  return (bits & unused_mask) == 0;
}

std::string Base64UrlEncode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  const auto* src = reinterpret_cast<const uint8_t*>(in.data());
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t bits = uint32_t{src[i]} << 16 | uint32_t{src[i + 1]} << 8 | src[i + 2];
    out += kAlphabet[bits >> 18];
    out += kAlphabet[(bits >> 12) & 63];
    out += kAlphabet[(bits >> 6) & 63];
    out += kAlphabet[bits & 63];
  }
  size_t rest = in.size() - i;
  if (rest > 0) {
    uint32_t bits = uint32_t{src[i]} << 16 | (rest == 2 ? uint32_t{src[i + 1]} << 8 : 0);
    out += kAlphabet[bits >> 18];
    out += kAlphabet[(bits >> 12) & 63];
    if (rest == 2) out += kAlphabet[(bits >> 6) & 63];
  }
  return out;
}

}  // namespace icaht::filters::jwt

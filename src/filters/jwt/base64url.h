#pragma once
// base64url without padding (RFC 7515 section 2, RFC 4648 section 5), as JWS
// uses it. Decoding is strict: only the 64 URL-safe characters, no '=' and no
// whitespace, no length that leaves a lone character (4n+1), and the unused
// low bits of the last character must be zero, so that each byte string has
// exactly one accepted encoding (a token cannot be altered into another
// string that decodes to the same bytes).
//
// Pure functions; any thread.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace icaht::filters::jwt {

// The decoded size of `encoded_size` characters, or nullopt for an impossible
// length (4n+1).
std::optional<size_t> Base64UrlDecodedSize(size_t encoded_size);

// Decodes `in` into `*out` (replacing its contents; capacity the caller
// reserved is kept, so a caller can leave room for simdjson's padding).
// False, with `*out` unspecified, if `in` is not canonical unpadded base64url.
bool Base64UrlDecode(std::string_view in, std::string* out);

// Encodes `in` without padding.
std::string Base64UrlEncode(std::string_view in);

}  // namespace icaht::filters::jwt

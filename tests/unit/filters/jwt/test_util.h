#pragma once
// Helpers shared by the JWT tests.

#include <cstdint>
#include <string>
#include <string_view>

namespace icaht::filters::jwt::testing {

// Calls to operator new so far on this thread (the test binary replaces the
// global operator new to count them).
uint64_t AllocationCount();

// An HS256 token over the given header and payload JSON texts, made here
// (for cases the vectors do not cover, such as chosen exp values).
std::string SignHs256(std::string_view header_json, std::string_view payload_json,
                      std::string_view secret);

// The member `name` of the key `kid` in jwks.json, as its JSON string text.
std::string KeyMember(std::string_view kid, std::string_view name);

}  // namespace icaht::filters::jwt::testing

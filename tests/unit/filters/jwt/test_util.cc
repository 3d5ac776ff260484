#include "test_util.h"

#include <cstdlib>
#include <new>

#include "core/check.h"
#include "filters/jwt/base64url.h"
#include "openssl/evp.h"
#include "openssl/hmac.h"
#include "simdjson.h"
#include "vectors.h"

namespace {
thread_local uint64_t allocations = 0;
}  // namespace

// Counting replacements of the global allocation functions. Every
// non-aligned form is replaced, so that all of them pair malloc with free
// (under ASan a form left out would be the sanitizer's, and a mismatch); the
// aligned forms keep their defaults, which pair among themselves.
void* operator new(size_t size, const std::nothrow_t&) noexcept {
  ++allocations;
  return std::malloc(size == 0 ? 1 : size);
}
void* operator new(size_t size) {
  if (void* p = operator new(size, std::nothrow)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t size) { return operator new(size); }
void* operator new[](size_t size, const std::nothrow_t&) noexcept {
  return operator new(size, std::nothrow);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace icaht::filters::jwt::testing {

uint64_t AllocationCount() { return allocations; }

std::string SignHs256(std::string_view header_json, std::string_view payload_json,
                      std::string_view secret) {
  std::string signing_input = Base64UrlEncode(header_json) + "." + Base64UrlEncode(payload_json);
  unsigned char tag[EVP_MAX_MD_SIZE];
  unsigned int tag_size = 0;
  ICAHT_CHECK(HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
                   reinterpret_cast<const unsigned char*>(signing_input.data()),
                   signing_input.size(), tag, &tag_size) != nullptr);
  return signing_input + "." +
         Base64UrlEncode(std::string_view(reinterpret_cast<char*>(tag), tag_size));
}

std::string KeyMember(std::string_view kid, std::string_view name) {
  std::string text = ReadVectorFile("jwks.json");
  simdjson::dom::parser parser;
  for (simdjson::dom::object key : parser.parse(text)["keys"].get_array()) {
    std::string_view key_kid;
    if (key["kid"].get(key_kid) == simdjson::SUCCESS && key_kid == kid) {
      return std::string(std::string_view(key[name]));
    }
  }
  ICAHT_CHECK(false && "no such key member");
  std::abort();
}

}  // namespace icaht::filters::jwt::testing

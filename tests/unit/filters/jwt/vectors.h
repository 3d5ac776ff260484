#pragma once
// The committed JWT test vectors (tests/unit/filters/jwt_vectors/, made by
// gen.py with PyJWT): key sets, tokens and the verdict each must get at the
// vectors' fixed `now`.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "filters/jwt/jwk_set.h"
#include "filters/jwt/policy.h"

namespace icaht::filters::jwt::testing {

struct VectorCase {
  std::string name;
  std::string token;
  std::string expect;  // RefusalLabel: "ok", "malformed", ...
  std::string jwks;    // "main" (jwks.json) or "rotated" (jwks_rotated.json)
  std::optional<std::string> sub;
  std::optional<std::vector<std::string>> scopes;
  std::vector<std::pair<std::string, std::string>> claims;  // expected texts (a subset)
  std::optional<std::vector<std::string>> algorithms;       // the policy's, when not all
};

struct Vectors {
  int64_t now = 0;
  JwtPolicy policy;
  std::vector<VectorCase> cases;
};

// The contents of a file in the vectors directory.
std::string ReadVectorFile(const std::string& name);
// vectors.json, parsed once.
const Vectors& LoadVectors();
// jwks.json / jwks_rotated.json, parsed once (CHECKs that they parse).
std::shared_ptr<const JwkSet> MainKeys();
std::shared_ptr<const JwkSet> RotatedKeys();

// A token from the vectors by case name (CHECKs that it exists).
const std::string& VectorToken(const std::string& name);

}  // namespace icaht::filters::jwt::testing

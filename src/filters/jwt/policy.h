#pragma once
// What a verifier accepts beyond a good signature. Built once from a
// service's configuration; read-only afterwards.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "filters/jwt/algorithm.h"

namespace icaht::filters::jwt {

struct JwtPolicy {
  // Tokens signed with any other algorithm are refused (alg_not_allowed).
  AlgorithmSet algorithms = AlgorithmSet::All();
  // When set, "iss" must be present and equal to it.
  std::optional<std::string> issuer;
  // When not empty, "aud" (a string or an array of strings) must be present
  // and contain one of them.
  std::vector<std::string> audiences;
  // Clock skew allowed on exp and nbf, in seconds.
  int64_t leeway_s = 30;
  // Longer tokens are refused before any decoding (too_large).
  size_t max_token_bytes = 8192;
};

}  // namespace icaht::filters::jwt

#pragma once
// What a service record says about authentication (`auth`) and per-endpoint
// authorization (`endpoints`). Plain data: the record parser fills it in,
// the auth filters read it. Key material (a JWKS, an API key file) is loaded
// by the control thread and travels separately (FilterSpecs).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/address.h"

namespace icaht::filters {

// auth.jwt: bearer tokens (compact JWS) checked against a JWKS.
struct JwtSpec {
  bool enabled = false;
  std::string issuer;                   // "" = any `iss`
  std::vector<std::string> audiences;   // empty = `aud` not checked
  std::string jwks_file;                // one of jwks_file / jwks_url
  std::string jwks_url;                 // http(s)://IP:port/path
  std::string jwks_ca_file;             // https jwks_url: trust anchors ("": the system's)
  uint32_t jwks_refresh_s = 300;        // jwks_url: refetch interval (file: checked every second)
  std::vector<std::string> algorithms;  // empty = every supported one
  uint32_t leeway_s = 30;               // for exp / nbf
  uint32_t max_token_bytes = 8192;
  bool required = true;  // the service default for endpoints that do not say
  // Where the token is: `header` ("Authorization" takes "Bearer <token>";
  // another header holds the bare token), or the cookie `cookie` when set.
  std::string header = "Authorization";
  std::string cookie;
  // claim name -> upstream header; headers of these names from the client
  // are always removed.
  std::vector<std::pair<std::string, std::string>> forward_claims;
  uint32_t cache_entries = 10000;  // verified tokens kept per shard

  friend bool operator==(const JwtSpec&, const JwtSpec&) = default;
};

// auth.api_key: keys from a file of "name:sha256-hex" lines.
struct ApiKeySpec {
  bool enabled = false;
  std::string keys_file;
  std::string header = "X-API-Key";
  bool required = true;

  friend bool operator==(const ApiKeySpec&, const ApiKeySpec&) = default;
};

// auth.forward: ask an auth service about every request (Traefik's
// ForwardAuth, Envoy's ext_authz).
struct ForwardAuthSpec {
  bool enabled = false;
  std::string address;  // "HOST:PORT" as written
  net::Address resolved;
  std::string path = "/";
  uint32_t timeout_ms = 500;
  // Request headers passed to the auth service (besides X-Forwarded-Method,
  // -Uri, -For, -Host that are always sent).
  std::vector<std::string> copy_request_headers = {"Authorization", "Cookie"};
  // Headers of the auth service's 2xx answer copied onto the upstream request.
  std::vector<std::string> copy_response_headers;

  friend bool operator==(const ForwardAuthSpec&, const ForwardAuthSpec&) = default;
};

struct AuthSpec {
  JwtSpec jwt;
  ApiKeySpec api_key;
  ForwardAuthSpec forward;

  bool any() const { return jwt.enabled || api_key.enabled || forward.enabled; }
  friend bool operator==(const AuthSpec&, const AuthSpec&) = default;
};

// One entry of `endpoints`: requests whose path is under path_prefix (by
// whole segments) and whose method is listed (or any, when none is).
struct EndpointSpec {
  std::string path_prefix = "/";
  std::vector<std::string> methods;  // empty = every method
  bool is_public = false;            // no authentication at all (not even forward auth)
  std::optional<bool> required;      // unset: the service default
  std::vector<std::string> scopes;   // every one needed (token `scope` / `scp`)
  // claim -> accepted values (one of them needed)
  std::vector<std::pair<std::string, std::vector<std::string>>> claims;

  friend bool operator==(const EndpointSpec&, const EndpointSpec&) = default;
};

// The entry for a request: the longest path_prefix that contains `path` and
// lists `method` (or lists none); nullptr if none does. "/orders" contains
// "/orders" and "/orders/7", not "/orders-old".
const EndpointSpec* MatchEndpoint(const std::vector<EndpointSpec>& endpoints, std::string_view path,
                                  std::string_view method);

// True when `path` has a "." or ".." segment, raw or percent-encoded, or an
// encoded '/' or '\': such paths could mean another endpoint to the upstream
// than to the matcher, so a service with endpoints refuses them (400).
bool HasAmbiguousSegments(std::string_view path);

}  // namespace icaht::filters

#pragma once
// The authentication filter (`auth.jwt`, `auth.api_key`) and per-endpoint
// authorization (`endpoints`): on each request, in this order,
//   1. headers named in jwt.forward_claims are removed from what the client
//      sent (always, so a client can never forge them);
//   2. the endpoint is matched (MatchEndpoint); a public one skips the rest
//      (and is marked in ctx.public_endpoint for the forward-auth filter);
//      with endpoints configured, a path with dot segments or encoded
//      slashes is refused (400): the upstream could resolve it to another
//      endpoint than the matcher did;
//   3. credentials: a bearer token (jwt) or an API key; a token that is
//      present but invalid is refused (401) even where auth is optional,
//      as Envoy's jwt_authn does; none, where auth is required, is 401;
//   4. the endpoint's scopes and claim values (403 insufficient_scope);
//   5. the identity (`sub`, the key's name) and the claims later filters
//      need go into the RequestContext; forward_claims become upstream headers.
// Answers: 401 with `WWW-Authenticate: Bearer error="invalid_token",
// error_description="..."`, 403 with error="insufficient_scope"; a small
// JSON body {"error": ..., "error_description": ...}.

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "filters/api_key_store.h"
#include "filters/auth_spec.h"
#include "filters/filter.h"
#include "filters/jwt/jwk_set.h"
#include "filters/jwt/jwt_verifier.h"

namespace icaht::filters {

// Raised by any shard when a token names a key its set lacks (a key the
// issuer rotated in since the last fetch); the control thread polls it and
// fetches the jwks_url again, at most once per 30 s.
struct KeyMissSignal {
  std::atomic<bool> raised{false};
};

// Key material the control thread loaded for a service (shared, immutable).
struct AuthKeys {
  std::shared_ptr<const jwt::JwkSet> jwks;  // null until loaded (jwks_url)
  std::shared_ptr<const ApiKeySet> api_keys;
  std::shared_ptr<KeyMissSignal> key_miss;  // with a jwks_url only
};

// Why a request was refused, for counters (icaht_auth_failures_total{reason}).
enum class AuthFailure : uint8_t {
  kMissing,             // no credentials where they are required
  kInvalidToken,        // a JWT refused (the verifier's reason is counted apart)
  kInvalidKey,          // an unknown API key
  kInsufficientScope,   // scopes or claim values missing
  kBadPath,             // ambiguous path on a service with endpoints
  kForwardDenied,       // forward auth: the auth service refused (its answer passed on)
  kForwardUnavailable,  // forward auth: no usable answer (503, fail closed)
  kPeerRefused,         // the client certificate lacks a peer.* value the endpoint requires
  kCount,
};
std::string_view AuthFailureLabel(AuthFailure failure);

class AuthFilter final : public Filter {
 public:
  // `claims_needed`: claim names later filters read (rate-limit keys); the
  // forward_claims are added to them. `auth` and `endpoints` are the chain's
  // specs, which outlive it: kept by reference, not copied into every
  // shard's chain.
  AuthFilter(const AuthSpec& auth, const std::vector<EndpointSpec>& endpoints, AuthKeys keys,
             std::vector<std::string> claims_needed);
  AuthFilter(AuthSpec&& auth, const std::vector<EndpointSpec>& endpoints, AuthKeys keys,
             std::vector<std::string> claims_needed) = delete;
  // With forward auth alone it still runs: it matches the endpoint (and
  // refuses ambiguous paths) once for both.
  // An endpoint requiring peer.* claims (the TLS client certificate's) needs
  // it too.
  static bool Enabled(const AuthSpec& auth, const std::vector<EndpointSpec>& endpoints = {}) {
    return auth.jwt.enabled || auth.api_key.enabled || !auth.jwt.forward_claims.empty() ||
           auth.forward.enabled || NamesPeerClaims(endpoints);
  }
  static bool NamesPeerClaims(const std::vector<EndpointSpec>& endpoints);
  std::string_view name() const override { return "auth"; }
  Verdict OnRequestHead(RequestContext& ctx, FilterCallbacks& callbacks) override;
  void OnResponseHead(RequestContext& ctx) override;

  uint64_t failures(AuthFailure f) const { return failures_[static_cast<size_t>(f)]; }
  const jwt::JwtVerifier* verifier() const { return verifier_ ? &*verifier_ : nullptr; }

 private:
  // The bearer token, or "" when the request carries none.
  std::string_view FindToken(const RequestContext& ctx) const;
  Verdict Refuse(RequestContext& ctx, int status, AuthFailure failure, std::string_view error,
                 std::string_view description);
  bool Authorized(const EndpointSpec* endpoint, const jwt::VerifiedClaims* claims) const;
  void Expose(RequestContext& ctx, const jwt::VerifiedClaims& claims) const;

  const JwtSpec& jwt_spec_;
  const ApiKeySpec& api_key_spec_;
  const std::vector<EndpointSpec>& endpoints_;
  std::shared_ptr<const ApiKeySet> api_keys_;
  std::shared_ptr<KeyMissSignal> key_miss_;
  std::optional<jwt::JwtVerifier> verifier_;
  std::vector<std::string> claims_needed_;
  bool default_required_ = false;
  std::array<uint64_t, static_cast<size_t>(AuthFailure::kCount)> failures_{};
};

}  // namespace icaht::filters

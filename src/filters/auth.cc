#include "filters/auth.h"

#include <ctime>

#include "http/message.h"
#include "net/tls_context.h"

namespace icaht::filters {
namespace {

jwt::JwtPolicy PolicyFrom(const JwtSpec& spec) {
  jwt::JwtPolicy policy;
  if (!spec.algorithms.empty()) {
    policy.algorithms = jwt::AlgorithmSet();
    for (const std::string& name : spec.algorithms) {
      if (auto alg = jwt::AlgorithmFromName(name)) policy.algorithms.Add(*alg);
    }
  }
  if (!spec.issuer.empty()) policy.issuer = spec.issuer;
  policy.audiences = spec.audiences;
  policy.leeway_s = spec.leeway_s;
  policy.max_token_bytes = spec.max_token_bytes;
  return policy;
}

}  // namespace

std::string_view AuthFailureLabel(AuthFailure failure) {
  switch (failure) {
    case AuthFailure::kMissing:
      return "missing_credentials";
    case AuthFailure::kInvalidToken:
      return "invalid_token";
    case AuthFailure::kInvalidKey:
      return "invalid_api_key";
    case AuthFailure::kInsufficientScope:
      return "insufficient_scope";
    case AuthFailure::kBadPath:
      return "ambiguous_path";
    case AuthFailure::kForwardDenied:
      return "forward_denied";
    case AuthFailure::kForwardUnavailable:
      return "forward_unavailable";
    case AuthFailure::kPeerRefused:
      return "peer_refused";
    case AuthFailure::kCount:
      break;
  }
  return "unknown";
}

AuthFilter::AuthFilter(const AuthSpec& auth, const std::vector<EndpointSpec>& endpoints,
                       AuthKeys keys, std::vector<std::string> claims_needed)
    : jwt_spec_(auth.jwt),
      api_key_spec_(auth.api_key),
      endpoints_(endpoints),
      api_keys_(std::move(keys.api_keys)),
      key_miss_(std::move(keys.key_miss)),
      claims_needed_(std::move(claims_needed)) {
  if (jwt_spec_.enabled) {
    verifier_.emplace(PolicyFrom(jwt_spec_), std::move(keys.jwks), jwt_spec_.cache_entries);
  }
  for (const auto& [claim, header] : jwt_spec_.forward_claims) {
    bool listed = false;
    for (const std::string& c : claims_needed_) listed |= c == claim;
    if (!listed) claims_needed_.push_back(claim);
  }
  default_required_ = (jwt_spec_.enabled && jwt_spec_.required) ||
                      (api_key_spec_.enabled && api_key_spec_.required);
}

std::string_view AuthFilter::FindToken(const RequestContext& ctx) const {
  if (!jwt_spec_.cookie.empty()) return ctx.FindCookie(jwt_spec_.cookie);
  const http::Header* h = ctx.FindRequestHeader(jwt_spec_.header);
  if (h == nullptr) return {};
  std::string_view value = h->value;
  if (!http::EqualsIgnoreCase(jwt_spec_.header, "authorization")) return value;
  // "Bearer <token>" (RFC 6750 2.1; the scheme is case-insensitive).
  constexpr std::string_view kScheme = "bearer ";
  if (value.size() <= kScheme.size() ||
      !http::EqualsIgnoreCase(value.substr(0, kScheme.size()), kScheme)) {
    return {};
  }
  value.remove_prefix(kScheme.size());
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  return value;
}

Verdict AuthFilter::Refuse(RequestContext& ctx, int status, AuthFailure failure,
                           std::string_view error, std::string_view description) {
  ++failures_[static_cast<size_t>(failure)];
  ctx.auth_failure = static_cast<int8_t>(failure);
  if (status == 400) {
    ctx.local_response.status = 400;
    ctx.local_response.body = "request path with dot segments or encoded slashes\n";
    return Verdict::kRespond;
  }
  ctx.www_authenticate.assign("Bearer error=\"");
  ctx.www_authenticate.append(error).append("\", error_description=\"");
  ctx.www_authenticate.append(description).append("\"");
  ctx.local_response.status = status;
  ctx.local_response.content_type = "application/json";
  ctx.local_response.body.assign("{\"error\":\"");
  ctx.local_response.body.append(error).append("\",\"error_description\":\"");
  ctx.local_response.body.append(description).append("\"}\n");
  return Verdict::kRespond;
}

void AuthFilter::OnResponseHead(RequestContext& ctx) {
  // Here, not with the refusal: a local answer's head gets only the edits
  // of the response phase.
  if (!ctx.www_authenticate.empty() && ctx.upstream_response == nullptr) {
    ctx.response_edits.Add("WWW-Authenticate", ctx.www_authenticate);
  }
}

namespace {
constexpr std::string_view kPeerClaim = "peer.";

bool IsPeerClaim(std::string_view name) { return name.starts_with(kPeerClaim); }

bool HasTokenClaims(const EndpointSpec& endpoint) {
  for (const auto& [name, accepted] : endpoint.claims) {
    if (!IsPeerClaim(name)) return true;
  }
  return false;
}

// peer.uri_san: one of the certificate's URI SANs is accepted; peer.subject:
// its subject (RFC 2253) is. Without a client certificate, nothing is.
bool PeerAuthorized(const EndpointSpec& endpoint, const RequestContext& ctx) {
  for (const auto& [name, accepted] : endpoint.claims) {
    if (!IsPeerClaim(name)) continue;
    if (ctx.tls == nullptr) return false;
    bool ok = false;
    for (const std::string& value : accepted) {
      if (name == "peer.subject") {
        ok |= !ctx.tls->peer_subject.empty() && ctx.tls->peer_subject == value;
      } else if (name == "peer.uri_san") {
        ok = ok || net::AnyUri(ctx.tls->peer_uri_sans,
                               [&value](std::string_view uri) { return uri == value; });
      }
    }
    if (!ok) return false;
  }
  return true;
}
}  // namespace

bool AuthFilter::NamesPeerClaims(const std::vector<EndpointSpec>& endpoints) {
  for (const EndpointSpec& endpoint : endpoints) {
    for (const auto& [name, accepted] : endpoint.claims) {
      if (IsPeerClaim(name)) return true;
    }
  }
  return false;
}

bool AuthFilter::Authorized(const EndpointSpec* endpoint, const jwt::VerifiedClaims* claims) const {
  if (endpoint == nullptr || (endpoint->scopes.empty() && !HasTokenClaims(*endpoint))) {
    return true;
  }
  if (claims == nullptr) return false;  // an API key carries no scopes or claims
  for (const std::string& scope : endpoint->scopes) {
    if (!claims->HasScope(scope)) return false;
  }
  for (const auto& [name, accepted] : endpoint->claims) {
    if (IsPeerClaim(name)) continue;  // the certificate's, checked before
    const std::string* value = claims->Find(name);
    if (value == nullptr) return false;
    bool ok = false;
    for (const std::string& a : accepted) ok |= *value == a;
    if (!ok) return false;
  }
  return true;
}

void AuthFilter::Expose(RequestContext& ctx, const jwt::VerifiedClaims& claims) const {
  ctx.identity.assign(claims.subject);
  // Filled once (see RequestContext::claims): the forwarded headers view it.
  ctx.claims.clear();
  ctx.claims.reserve(claims_needed_.size());
  for (const std::string& name : claims_needed_) {
    if (const std::string* value = claims.Find(name)) ctx.claims.emplace_back(name, *value);
  }
  for (const auto& [claim, header] : jwt_spec_.forward_claims) {
    if (const std::string* value = ctx.FindClaim(claim)) ctx.upstream_edits.Add(header, *value);
  }
}

Verdict AuthFilter::OnRequestHead(RequestContext& ctx, FilterCallbacks&) {
  for (const auto& [claim, header] : jwt_spec_.forward_claims) ctx.upstream_edits.Remove(header);
  const EndpointSpec* endpoint = nullptr;
  if (!endpoints_.empty()) {
    std::string_view path = ctx.path();
    if (HasAmbiguousSegments(path)) return Refuse(ctx, 400, AuthFailure::kBadPath, "", "");
    endpoint = MatchEndpoint(endpoints_, path, ctx.request().method);
    if (endpoint != nullptr) ctx.route = endpoint->path_prefix;
    if (endpoint != nullptr && endpoint->is_public) {
      ctx.public_endpoint = true;
      return Verdict::kContinue;
    }
    if (endpoint != nullptr && !PeerAuthorized(*endpoint, ctx)) {
      return Refuse(ctx, 403, AuthFailure::kPeerRefused, "insufficient_scope",
                    "the client certificate is not one this endpoint accepts");
    }
  }
  bool required = endpoint != nullptr && endpoint->required.has_value() ? *endpoint->required
                                                                        : default_required_;
  if (verifier_) {
    std::string_view token = FindToken(ctx);
    if (!token.empty()) {
      jwt::JwtVerifier::Result result = verifier_->Check(token, std::time(nullptr));
      if (!result.ok()) {
        if (result.refusal == jwt::Refusal::kNoKey && key_miss_ != nullptr) {
          key_miss_->raised.store(true, std::memory_order_relaxed);
        }
        return Refuse(ctx, 401, AuthFailure::kInvalidToken, "invalid_token", result.description);
      }
      if (!Authorized(endpoint, result.claims)) {
        return Refuse(ctx, 403, AuthFailure::kInsufficientScope, "insufficient_scope",
                      "the token lacks a scope or claim this endpoint requires");
      }
      Expose(ctx, *result.claims);
      return Verdict::kContinue;
    }
  }
  if (api_key_spec_.enabled) {
    if (const http::Header* h = ctx.FindRequestHeader(api_key_spec_.header)) {
      const std::string* name = api_keys_ != nullptr ? api_keys_->Match(h->value) : nullptr;
      if (name == nullptr) {
        return Refuse(ctx, 401, AuthFailure::kInvalidKey, "invalid_token", "unknown API key");
      }
      if (!Authorized(endpoint, nullptr)) {
        return Refuse(ctx, 403, AuthFailure::kInsufficientScope, "insufficient_scope",
                      "an API key carries no scopes or claims");
      }
      ctx.identity.assign(*name);
      return Verdict::kContinue;
    }
  }
  if (required) {
    return Refuse(ctx, 401, AuthFailure::kMissing, "invalid_token",
                  verifier_ ? "a bearer token is required" : "an API key is required");
  }
  return Verdict::kContinue;
}

}  // namespace icaht::filters

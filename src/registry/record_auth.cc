#include "registry/record_auth.h"

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "core/status_macros.h"
#include "http/field_syntax.h"
#include "net/http_url.h"
#include "registry/record_fields.h"

namespace icaht::registry {
namespace {

using json::FieldError;
using json::JoinPath;
using json::Value;
using net::ParseHttpUrl;

constexpr size_t kMaxEndpoints = 256;
constexpr std::string_view kAlgorithms[] = {"RS256", "RS384", "RS512", "PS256", "PS384",
                                            "PS512", "ES256", "ES384", "ES512", "EdDSA",
                                            "HS256", "HS384", "HS512"};

absl::Status ReadU32(Value& value, const std::string& path, uint32_t& out, int64_t lo, int64_t hi) {
  ICAHT_ASSIGN_OR_RETURN(int64_t v, json::ReadInt(value, path, lo, hi));
  out = static_cast<uint32_t>(v);
  return absl::OkStatus();
}

absl::Status ParseJwt(Value& value, const std::string& path, filters::JwtSpec& spec) {
  ICAHT_ASSIGN_OR_RETURN(bool is_null, json::ConsumeNull(value));
  spec = filters::JwtSpec{};
  if (is_null) return absl::OkStatus();
  spec.enabled = true;
  ICAHT_RETURN_IF_ERROR(
      json::ForEachField(value, path, [&](std::string_view key, Value& field) -> absl::Status {
        std::string p = JoinPath(path, key);
        if (key == "issuer") return ReadText(field, p, spec.issuer, true);
        if (key == "audiences") return ReadTextList(field, p, spec.audiences);
        if (key == "jwks_file" || key == "jwks_url") {
          ICAHT_ASSIGN_OR_RETURN(bool null_value, json::ConsumeNull(field));
          if (null_value) return absl::OkStatus();
          std::string& out = key == "jwks_file" ? spec.jwks_file : spec.jwks_url;
          ICAHT_RETURN_IF_ERROR(ReadText(field, p, out, true));
          if (key == "jwks_file" && !out.empty() && out.front() != '/') {
            return FieldError(p, "must be an absolute path");
          }
          if (key == "jwks_url" && !out.empty() && !ParseHttpUrl(out, true).ok()) {
            return FieldError(p, "must be http(s)://IP:PORT/path (an IP address, not a name)");
          }
          return absl::OkStatus();
        }
        if (key == "jwks_refresh_s") return ReadU32(field, p, spec.jwks_refresh_s, 30, 86400);
        if (key == "jwks_ca_file") return ReadText(field, p, spec.jwks_ca_file, true);
        if (key == "algorithms") {
          ICAHT_RETURN_IF_ERROR(ReadTextList(field, p, spec.algorithms));
          for (size_t i = 0; i < spec.algorithms.size(); ++i) {
            const std::string& alg = spec.algorithms[i];
            bool known = false;
            for (std::string_view a : kAlgorithms) known |= a == alg;
            if (alg == "none") {
              return FieldError(json::IndexPath(p, i), "'none' is never accepted");
            }
            if (!known) {
              return FieldError(json::IndexPath(p, i),
                                "must be one of RS256, RS384, RS512, PS256, PS384, PS512, ES256, "
                                "ES384, ES512, EdDSA, HS256, HS384, HS512");
            }
          }
          if (spec.algorithms.empty()) return FieldError(p, "must have at least one entry");
          return absl::OkStatus();
        }
        if (key == "leeway_s") return ReadU32(field, p, spec.leeway_s, 0, 600);
        if (key == "max_token_bytes") return ReadU32(field, p, spec.max_token_bytes, 256, 65536);
        if (key == "required") {
          ICAHT_ASSIGN_OR_RETURN(spec.required, json::ReadBool(field, p));
          return absl::OkStatus();
        }
        if (key == "header") return ReadHeaderName(field, p, spec.header);
        if (key == "cookie") {
          ICAHT_ASSIGN_OR_RETURN(bool null_value, json::ConsumeNull(field));
          if (null_value) return absl::OkStatus();
          ICAHT_RETURN_IF_ERROR(ReadText(field, p, spec.cookie, true));
          if (!spec.cookie.empty() && !http::IsToken(spec.cookie)) {
            return FieldError(p, "must be a cookie name (token characters)");
          }
          return absl::OkStatus();
        }
        if (key == "forward_claims") {
          spec.forward_claims.clear();
          return json::ForEachField(field, p, [&](std::string_view claim, Value& header) {
            std::string hp = JoinPath(p, claim);
            std::string name;
            ICAHT_RETURN_IF_ERROR(ReadHeaderName(header, hp, name));
            if (claim.empty() || claim.size() > 256) return FieldError(hp, "claim name too long");
            spec.forward_claims.emplace_back(std::string(claim), std::move(name));
            return absl::OkStatus();
          });
        }
        if (key == "cache_entries") return ReadU32(field, p, spec.cache_entries, 0, 1'000'000);
        return json::UnknownFieldError(p);
      }));
  if (spec.jwks_file.empty() == spec.jwks_url.empty()) {
    return FieldError(JoinPath(path, "jwks_file"),
                      "exactly one of jwks_file and jwks_url is needed");
  }
  return absl::OkStatus();
}

absl::Status ParseApiKey(Value& value, const std::string& path, filters::ApiKeySpec& spec) {
  ICAHT_ASSIGN_OR_RETURN(bool is_null, json::ConsumeNull(value));
  spec = filters::ApiKeySpec{};
  if (is_null) return absl::OkStatus();
  spec.enabled = true;
  ICAHT_RETURN_IF_ERROR(
      json::ForEachField(value, path, [&](std::string_view key, Value& field) -> absl::Status {
        std::string p = JoinPath(path, key);
        if (key == "keys_file") {
          ICAHT_RETURN_IF_ERROR(ReadText(field, p, spec.keys_file));
          if (spec.keys_file.front() != '/') return FieldError(p, "must be an absolute path");
          return absl::OkStatus();
        }
        if (key == "header") return ReadHeaderName(field, p, spec.header);
        if (key == "required") {
          ICAHT_ASSIGN_OR_RETURN(spec.required, json::ReadBool(field, p));
          return absl::OkStatus();
        }
        return json::UnknownFieldError(p);
      }));
  if (spec.keys_file.empty()) return FieldError(JoinPath(path, "keys_file"), "required");
  return absl::OkStatus();
}

// Fields forward auth copies must leave the framing of the message they go
// into alone: a copied Content-Length or Transfer-Encoding would smuggle a
// request, hop-by-hop fields are the connection's, Host is the proxy's.
absl::Status ReadCopiedResponseHeader(Value& value, const std::string& path, std::string& out) {
  ICAHT_RETURN_IF_ERROR(ReadHeaderName(value, path, out));
  if (http::IsHopByHop(out) || http::EqualsIgnoreCase(out, "host") ||
      http::EqualsIgnoreCase(out, "content-length")) {
    return FieldError(path, "must not be Host, Content-Length or a hop-by-hop field");
  }
  return absl::OkStatus();
}

// The same, and none of the X-Forwarded fields the request to the auth
// service carries anyway.
absl::Status ReadCopiedRequestHeader(Value& value, const std::string& path, std::string& out) {
  ICAHT_RETURN_IF_ERROR(ReadCopiedResponseHeader(value, path, out));
  if (absl::StartsWithIgnoreCase(out, "x-forwarded-")) {
    return FieldError(path, "must not be an X-Forwarded field (they are always sent)");
  }
  return absl::OkStatus();
}

absl::Status ParseForward(Value& value, const std::string& path, filters::ForwardAuthSpec& spec) {
  ICAHT_ASSIGN_OR_RETURN(bool is_null, json::ConsumeNull(value));
  spec = filters::ForwardAuthSpec{};
  if (is_null) return absl::OkStatus();
  spec.enabled = true;
  ICAHT_RETURN_IF_ERROR(
      json::ForEachField(value, path, [&](std::string_view key, Value& field) -> absl::Status {
        std::string p = JoinPath(path, key);
        if (key == "address") {
          ICAHT_RETURN_IF_ERROR(ReadText(field, p, spec.address));
          absl::StatusOr<net::Address> resolved = net::Address::Parse(spec.address);
          if (!resolved.ok()) return FieldError(p, std::string(resolved.status().message()));
          spec.resolved = *resolved;
          return absl::OkStatus();
        }
        if (key == "path") {
          ICAHT_RETURN_IF_ERROR(ReadText(field, p, spec.path));
          bool ok = spec.path.front() == '/';
          for (char c : spec.path) ok &= c > 0x20 && c < 0x7f && c != '#';
          if (!ok) return FieldError(p, "must be a path starting with '/' (no spaces)");
          return absl::OkStatus();
        }
        if (key == "timeout_ms") return ReadU32(field, p, spec.timeout_ms, 1, 60000);
        if (key == "copy_request_headers") {
          return ReadList(field, p, spec.copy_request_headers, ReadCopiedRequestHeader);
        }
        if (key == "copy_response_headers") {
          return ReadList(field, p, spec.copy_response_headers, ReadCopiedResponseHeader);
        }
        return json::UnknownFieldError(p);
      }));
  if (spec.address.empty()) return FieldError(JoinPath(path, "address"), "required");
  return absl::OkStatus();
}

absl::Status ParseEndpointAuth(Value& value, const std::string& path,
                               filters::EndpointSpec& endpoint) {
  return json::ForEachField(value, path, [&](std::string_view key, Value& field) -> absl::Status {
    std::string p = JoinPath(path, key);
    if (key == "required") {
      ICAHT_ASSIGN_OR_RETURN(bool required, json::ReadBool(field, p));
      endpoint.required = required;
      return absl::OkStatus();
    }
    if (key == "scopes") return ReadTextList(field, p, endpoint.scopes);
    if (key == "claims") {
      endpoint.claims.clear();
      return json::ForEachField(field, p, [&](std::string_view claim, Value& values) {
        std::vector<std::string> accepted;
        std::string cp = JoinPath(p, claim);
        ICAHT_RETURN_IF_ERROR(ReadTextList(values, cp, accepted));
        if (accepted.empty()) return FieldError(cp, "must have at least one entry");
        endpoint.claims.emplace_back(std::string(claim), std::move(accepted));
        return absl::OkStatus();
      });
    }
    return json::UnknownFieldError(p);
  });
}

absl::Status ParseEndpoint(Value& value, const std::string& path, filters::EndpointSpec& out) {
  bool has_prefix = false;
  ICAHT_RETURN_IF_ERROR(
      json::ForEachField(value, path, [&](std::string_view key, Value& field) -> absl::Status {
        std::string p = JoinPath(path, key);
        if (key == "path_prefix") {
          ICAHT_RETURN_IF_ERROR(ReadText(field, p, out.path_prefix));
          bool ok = out.path_prefix.front() == '/';
          for (char c : out.path_prefix) ok &= c > 0x20 && c < 0x7f && c != '?' && c != '#';
          if (!ok) return FieldError(p, "must be a path starting with '/' (no query, no spaces)");
          has_prefix = true;
          return absl::OkStatus();
        }
        if (key == "methods") {
          return ReadList(field, p, out.methods,
                          [](Value& v, const std::string& ep, std::string& m) {
                            ICAHT_ASSIGN_OR_RETURN(m, json::ReadString(v, ep));
                            if (m.empty() || m.size() > 32 || !http::IsToken(m)) {
                              return FieldError(ep, "must be a method name (token characters)");
                            }
                            return absl::OkStatus();
                          });
        }
        if (key == "public") {
          ICAHT_ASSIGN_OR_RETURN(out.is_public, json::ReadBool(field, p));
          return absl::OkStatus();
        }
        if (key == "auth") return ParseEndpointAuth(field, p, out);
        return json::UnknownFieldError(p);
      }));
  if (!has_prefix) return FieldError(JoinPath(path, "path_prefix"), "required");
  if (out.is_public &&
      (out.required.value_or(false) || !out.scopes.empty() || !out.claims.empty())) {
    return FieldError(JoinPath(path, "public"), "a public endpoint cannot require auth");
  }
  return absl::OkStatus();
}

void WriteStrings(JsonWriter& w, const std::vector<std::string>& list) {
  w.StartArray();
  for (const std::string& s : list) w.String(s);
  w.EndArray();
}

}  // namespace

absl::Status ParseAuth(Value& value, const std::string& path, filters::AuthSpec& spec) {
  ICAHT_ASSIGN_OR_RETURN(bool is_null, json::ConsumeNull(value));
  spec = filters::AuthSpec{};
  if (is_null) return absl::OkStatus();
  return json::ForEachField(value, path, [&](std::string_view key, Value& field) -> absl::Status {
    std::string p = JoinPath(path, key);
    if (key == "jwt") return ParseJwt(field, p, spec.jwt);
    if (key == "api_key") return ParseApiKey(field, p, spec.api_key);
    if (key == "forward") return ParseForward(field, p, spec.forward);
    return json::UnknownFieldError(p);
  });
}

void WriteAuth(JsonWriter& w, const filters::AuthSpec& spec) {
  if (!spec.any()) {
    w.Null();
    return;
  }
  w.StartObject();
  w.Key("jwt");
  if (const filters::JwtSpec& j = spec.jwt; j.enabled) {
    w.StartObject();
    w.Key("issuer").String(j.issuer);
    w.Key("audiences");
    WriteStrings(w, j.audiences);
    w.Key("jwks_file").String(j.jwks_file);
    w.Key("jwks_url").String(j.jwks_url);
    w.Key("jwks_refresh_s").Uint(j.jwks_refresh_s);
    w.Key("jwks_ca_file").String(j.jwks_ca_file);
    w.Key("algorithms");
    WriteStrings(w, j.algorithms);
    w.Key("leeway_s").Uint(j.leeway_s);
    w.Key("max_token_bytes").Uint(j.max_token_bytes);
    w.Key("required").Bool(j.required);
    w.Key("header").String(j.header);
    w.Key("cookie").String(j.cookie);
    w.Key("forward_claims").StartObject();
    for (const auto& [claim, header] : j.forward_claims) w.Key(claim).String(header);
    w.EndObject();
    w.Key("cache_entries").Uint(j.cache_entries);
    w.EndObject();
  } else {
    w.Null();
  }
  w.Key("api_key");
  if (const filters::ApiKeySpec& k = spec.api_key; k.enabled) {
    w.StartObject();
    w.Key("keys_file").String(k.keys_file);
    w.Key("header").String(k.header);
    w.Key("required").Bool(k.required);
    w.EndObject();
  } else {
    w.Null();
  }
  w.Key("forward");
  if (const filters::ForwardAuthSpec& f = spec.forward; f.enabled) {
    w.StartObject();
    w.Key("address").String(f.address);
    w.Key("path").String(f.path);
    w.Key("timeout_ms").Uint(f.timeout_ms);
    w.Key("copy_request_headers");
    WriteStrings(w, f.copy_request_headers);
    w.Key("copy_response_headers");
    WriteStrings(w, f.copy_response_headers);
    w.EndObject();
  } else {
    w.Null();
  }
  w.EndObject();
}

absl::Status ParseEndpoints(Value& value, const std::string& path,
                            std::vector<filters::EndpointSpec>& out) {
  out.clear();
  return json::ForEachElement(value, path, [&](size_t index, Value& element) -> absl::Status {
    if (index >= kMaxEndpoints) {
      return FieldError(path, absl::StrFormat("must have at most %d entries", kMaxEndpoints));
    }
    filters::EndpointSpec endpoint;
    ICAHT_RETURN_IF_ERROR(ParseEndpoint(element, json::IndexPath(path, index), endpoint));
    out.push_back(std::move(endpoint));
    return absl::OkStatus();
  });
}

void WriteEndpoints(JsonWriter& w, const std::vector<filters::EndpointSpec>& endpoints) {
  w.StartArray();
  for (const filters::EndpointSpec& e : endpoints) {
    w.StartObject();
    w.Key("path_prefix").String(e.path_prefix);
    w.Key("methods");
    WriteStrings(w, e.methods);
    w.Key("public").Bool(e.is_public);
    w.Key("auth").StartObject();
    if (e.required.has_value()) w.Key("required").Bool(*e.required);
    w.Key("scopes");
    WriteStrings(w, e.scopes);
    w.Key("claims").StartObject();
    for (const auto& [claim, values] : e.claims) {
      w.Key(claim);
      WriteStrings(w, values);
    }
    w.EndObject();
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
}

absl::Status CheckAuthAndEndpoints(const filters::AuthSpec& auth,
                                   const std::vector<filters::EndpointSpec>& endpoints,
                                   std::string_view record_path) {
  for (size_t i = 0; i < endpoints.size(); ++i) {
    const filters::EndpointSpec& e = endpoints[i];
    std::string p = json::IndexPath(JoinPath(record_path, "endpoints"), i);
    // peer.* claims are the TLS client certificate's (checked with the record's tls).
    bool token_claims = false;
    for (const auto& [name, values] : e.claims) {
      if (!name.starts_with("peer.")) {
        token_claims = true;
      } else if (name != "peer.uri_san" && name != "peer.subject") {
        return FieldError(JoinPath(JoinPath(JoinPath(p, "auth"), "claims"), name),
                          "the peer's claims are peer.uri_san and peer.subject");
      }
    }
    if ((!e.scopes.empty() || token_claims) && !auth.jwt.enabled) {
      return FieldError(JoinPath(p, "auth"), "scopes and claims need auth.jwt");
    }
    if (e.required.value_or(false) && !auth.jwt.enabled && !auth.api_key.enabled &&
        !auth.forward.enabled) {
      return FieldError(JoinPath(JoinPath(p, "auth"), "required"), "needs an auth method");
    }
  }
  const std::vector<std::string>& copied = auth.forward.copy_response_headers;
  for (size_t i = 0; i < copied.size(); ++i) {
    for (const auto& [claim, header] : auth.jwt.forward_claims) {
      if (!http::EqualsIgnoreCase(copied[i], header)) continue;
      std::string auth_path = JoinPath(record_path, "auth");
      return FieldError(
          json::IndexPath(JoinPath(JoinPath(auth_path, "forward"), "copy_response_headers"), i),
          absl::StrFormat("%s is set by auth.jwt.forward_claims already", header));
    }
  }
  return absl::OkStatus();
}

}  // namespace icaht::registry

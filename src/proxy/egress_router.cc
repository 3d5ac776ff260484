#include "proxy/egress_router.h"

#include <charconv>

#include "absl/strings/ascii.h"
#include "core/json_string.h"

namespace icaht::proxy {
namespace {

using Result = std::variant<EgressTarget, EgressRefusal>;

EgressRefusal Bad(std::string message) {
  return EgressRefusal{400, "bad_request", std::move(message)};
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return http::EqualsIgnoreCase(a, b);
}

// "host[:port]" into lower-case host (no brackets) and port (0 if absent).
bool SplitAuthority(std::string_view authority, std::string* host, uint16_t* port) {
  std::string_view h = authority;
  std::string_view p;
  if (h.starts_with('[')) {
    size_t close = h.find(']');
    if (close == std::string_view::npos) return false;
    p = h.substr(close + 1);
    h = h.substr(1, close - 1);
    if (!p.empty() && !p.starts_with(':')) return false;
    if (!p.empty()) p.remove_prefix(1);
  } else if (size_t colon = h.find(':'); colon != std::string_view::npos) {
    p = h.substr(colon + 1);
    h = h.substr(0, colon);
  }
  if (h.empty() || h.find('@') != std::string_view::npos) return false;
  *port = 0;
  if (!p.empty()) {
    uint32_t n = 0;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), n);
    if (ec != std::errc() || end != p.data() + p.size() || n == 0 || n > 65535) return false;
    *port = static_cast<uint16_t>(n);
  }
  *host = absl::AsciiStrToLower(std::string(h));
  return true;
}

// "http[s]://authority[/path][?query][#fragment]" into `t` (host, port,
// https, target, authority).
bool ParseUrl(std::string_view url, EgressTarget* t) {
  std::string_view rest;
  if (url.size() > 7 && EqualsIgnoreCase(url.substr(0, 7), "http://")) {
    rest = url.substr(7);
  } else if (url.size() > 8 && EqualsIgnoreCase(url.substr(0, 8), "https://")) {
    rest = url.substr(8);
    t->https = true;
  } else {
    return false;
  }
  size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  std::string_view target = end == std::string_view::npos ? "" : rest.substr(end);
  if (size_t hash = target.find('#'); hash != std::string_view::npos)
    target = target.substr(0, hash);
  if (!SplitAuthority(authority, &t->host, &t->port)) return false;
  t->authority = std::string(authority);
  t->target =
      target.empty() || target.starts_with('?') ? "/" + std::string(target) : std::string(target);
  return true;
}

// A name with the suffix names a service: the suffix goes.
void ApplySuffix(std::string_view suffix, EgressTarget* t) {
  if (suffix.empty() || t->host.size() <= suffix.size()) return;
  std::string_view tail = std::string_view(t->host).substr(t->host.size() - suffix.size());
  if (!EqualsIgnoreCase(tail, suffix)) return;
  t->host.resize(t->host.size() - suffix.size());
  t->kind = EgressTarget::Kind::kService;
}

const http::Header* Find(const http::RequestHead& head, std::string_view name) {
  for (const http::Header& h : head.headers) {
    if (EqualsIgnoreCase(h.name, name)) return &h;
  }
  return nullptr;
}

}  // namespace

Result ReadEgressTarget(const http::RequestHead& head, std::string_view suffix) {
  if (head.method_id == http::Method::kConnect) {
    return EgressRefusal{403, "connect_refused",
                         "CONNECT is not allowed: the egress listener is no tunnel"};
  }
  EgressTarget t;
  if (const http::Header* target = Find(head, kTargetHeader)) {
    t.from_target_header = true;
    if (!ParseUrl(target->value, &t)) {
      return Bad("the target header must be an http:// or https:// URL");
    }
    const http::Header* internal = Find(head, kInternalHeader);
    if (internal == nullptr || EqualsIgnoreCase(internal->value, "true")) {
      ApplySuffix(suffix, &t);
      t.kind = EgressTarget::Kind::kService;
    } else if (EqualsIgnoreCase(internal->value, "false")) {
      t.kind = EgressTarget::Kind::kExternal;
    } else {
      return Bad("the internal header must be true or false");
    }
  } else if (head.target_form == http::TargetForm::kAbsolute) {
    if (!ParseUrl(head.target, &t)) return Bad("the request target must be an http:// URL");
    ApplySuffix(suffix, &t);
  } else {
    if (head.host.empty()) return Bad("no Host header names the destination");
    if (!SplitAuthority(head.host, &t.host, &t.port)) return Bad("the Host header is malformed");
    t.authority = std::string(head.host);
    ApplySuffix(suffix, &t);
  }
  if (t.host.empty()) return Bad("the destination names no host");
  if (t.port == 0) t.port = t.https ? 443 : 80;
  return t;
}

std::string EgressErrorBody(std::string_view code, std::string_view message,
                            std::string_view destination) {
  std::string out = "{\"error\":{\"code\":";
  core::AppendJsonString(out, code);
  out += ",\"message\":";
  core::AppendJsonString(out, message);
  out += ",\"destination\":";
  core::AppendJsonString(out, destination);
  out += "}}\n";
  return out;
}

}  // namespace icaht::proxy

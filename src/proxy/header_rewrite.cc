#include "proxy/header_rewrite.h"

#include <algorithm>

#include "http/field_syntax.h"

namespace icaht::proxy {
namespace {

using http::IsHopByHop;

// The field names the Connection header(s) list, parsed once per message so
// that checking each field is a short scan, not a re-parse (the common
// "Connection: keep-alive" lists one token). More than kMax tokens is rare
// enough to fall back to the per-field scan.
class ConnectionTokens {
 public:
  explicit ConnectionTokens(const std::vector<http::Header>& headers) : headers_(headers) {
    overflow_ = http::AnyConnectionToken(headers, [this](std::string_view token) {
      if (count_ == kMax) return true;
      tokens_[count_++] = token;
      return false;
    });
  }

  // True if a Connection header lists `name` (so the field is hop-by-hop).
  bool Names(std::string_view name) const {
    if (overflow_) return http::ConnectionHasToken(headers_, name);
    for (size_t i = 0; i < count_; ++i) {
      if (tokens_[i].size() == name.size() && http::EqualsIgnoreCase(tokens_[i], name)) {
        return true;
      }
    }
    return false;
  }

 private:
  static constexpr size_t kMax = 8;
  const std::vector<http::Header>& headers_;
  std::string_view tokens_[kMax];
  size_t count_ = 0;
  bool overflow_ = false;
};

std::string_view FindHeader(const std::vector<http::Header>& headers, std::string_view name) {
  for (const http::Header& h : headers) {
    if (http::EqualsIgnoreCase(h.name, name)) return h.value;
  }
  return {};
}

void AppendHeader(std::string* out, std::string_view name, std::string_view value) {
  out->append(name);
  out->append(": ");
  out->append(value);
  out->append("\r\n");
}

// Edits are rare per field: one test per message decides whether fields need
// the removal check at all.
const filters::HeaderEdits* NonEmpty(const filters::HeaderEdits* edits) {
  return edits != nullptr && !edits->empty() ? edits : nullptr;
}

void AppendAdded(const filters::HeaderEdits* edits, std::string* out) {
  if (edits == nullptr) return;
  for (const http::Header& h : edits->added()) AppendHeader(out, h.name, h.value);
}

void AppendForwardableHeaders(const std::vector<http::Header>& headers,
                              const filters::HeaderEdits* edits, std::string* out) {
  ConnectionTokens connection(headers);
  for (const http::Header& h : headers) {
    if (IsHopByHop(h.name)) continue;
    if (connection.Names(h.name)) continue;
    if (edits != nullptr && edits->Removes(h.name)) continue;
    AppendHeader(out, h.name, h.value);
  }
}

constexpr std::string_view kViaLine = "Via: 1.1 icaht\r\n";

}  // namespace

void TargetRewrite::AppendTo(std::string_view target, std::string* out) const {
  std::string_view rest = target.substr(std::min(strip, target.size()));
  std::string_view head = prefix;
  if (head.ends_with('/') && rest.starts_with('/')) head.remove_suffix(1);
  if (head.empty() && (rest.empty() || rest[0] != '/')) out->push_back('/');
  out->append(head);
  out->append(rest);
}

void BuildUpstreamRequestHead(const http::RequestHead& request, std::string_view client_ip,
                              std::string* out, const filters::HeaderEdits* edits, bool https,
                              const TargetRewrite* rewrite) {
  edits = NonEmpty(edits);
  out->append(request.method);
  out->push_back(' ');
  if (rewrite != nullptr) {
    rewrite->AppendTo(request.target, out);
  } else {
    out->append(request.target);
  }
  out->append(" HTTP/1.1\r\n");
  ConnectionTokens connection(request.headers);
  bool has_proto = false;
  bool has_host = false;
  std::string_view forwarded_for;
  for (const http::Header& h : request.headers) {
    if (IsHopByHop(h.name)) continue;
    if (connection.Names(h.name)) continue;
    if (edits != nullptr && edits->Removes(h.name)) continue;
    if (http::EqualsIgnoreCase(h.name, "x-forwarded-for")) {
      // Several X-Forwarded-For fields are one list (RFC 9110 5.3): merge them.
      if (forwarded_for.empty()) {
        forwarded_for = h.value;
      } else {
        out->append("X-Forwarded-For: ");
        out->append(h.value);
        out->append("\r\n");
      }
      continue;
    }
    if (http::EqualsIgnoreCase(h.name, "x-forwarded-proto")) has_proto = true;
    if (http::EqualsIgnoreCase(h.name, "x-forwarded-host")) has_host = true;
    AppendHeader(out, h.name, h.value);
  }
  out->append("X-Forwarded-For: ");
  if (!forwarded_for.empty()) {
    out->append(forwarded_for);
    out->append(", ");
  }
  out->append(client_ip);
  out->append("\r\n");
  if (!has_proto)
    out->append(https ? "X-Forwarded-Proto: https\r\n" : "X-Forwarded-Proto: http\r\n");
  if (!has_host && !request.host.empty()) AppendHeader(out, "X-Forwarded-Host", request.host);
  out->append(kViaLine);
  AppendAdded(edits, out);
  if (request.framing == http::BodyFraming::kChunked) {
    out->append("Transfer-Encoding: chunked\r\n");
  }
  if (request.upgrade) {
    // The one hop-by-hop exchange a proxy passes on: the protocol switch.
    AppendHeader(out, "Upgrade", FindHeader(request.headers, "upgrade"));
    out->append("Connection: Upgrade\r\n");
  }
  out->append("\r\n");
}

void BuildClientResponseHead(const http::ResponseHead& response, bool keep_alive, bool chunk_encode,
                             std::string* out, const filters::HeaderEdits* edits) {
  edits = NonEmpty(edits);
  out->append("HTTP/1.1 ");
  // A plugin's status replaces the upstream's, reason phrase and all.
  const int status = edits != nullptr && edits->status() != 0 ? edits->status() : response.status;
  char code[4] = {static_cast<char>('0' + status / 100 % 10),
                  static_cast<char>('0' + status / 10 % 10), static_cast<char>('0' + status % 10),
                  ' '};
  out->append(code, 4);
  out->append(status == response.status ? response.reason : ReasonPhrase(status));
  out->append("\r\n");
  AppendForwardableHeaders(response.headers, edits, out);
  out->append(kViaLine);
  AppendAdded(edits, out);
  if (response.status == 101) {
    AppendHeader(out, "Upgrade", FindHeader(response.headers, "upgrade"));
    out->append("Connection: Upgrade\r\n\r\n");
    return;
  }
  if (chunk_encode) out->append("Transfer-Encoding: chunked\r\n");
  if (!keep_alive) out->append("Connection: close\r\n");
  out->append("\r\n");
}

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 407:
      return "Proxy Authentication Required";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 508:
      return "Loop Detected";
    case 414:
      return "URI Too Long";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    case 507:
      return "Insufficient Storage";
    default:
      return "Error";
  }
}

void AppendLocalResponse(int status, std::string_view content_type, std::string_view body,
                         bool keep_alive, bool head_only, const filters::HeaderEdits* edits,
                         std::string* out) {
  out->append("HTTP/1.1 ");
  // A plugin's status (never to or from 204 or 304: their framing differs).
  const int shown = edits != nullptr && edits->status() != 0 ? edits->status() : status;
  out->append(std::to_string(shown));
  out->push_back(' ');
  out->append(ReasonPhrase(shown));
  out->append("\r\n");
  // A 204 has no content, and a server must not send Content-Length with it
  // (RFC 9110 8.6, 15.3.5): the CORS filter answers preflights with one. A
  // 304 has none either (15.4.5): forward auth passes on what its service says.
  bool no_content = status == 204 || status == 304;
  if (!no_content) {
    if (!content_type.empty()) {
      out->append("Content-Type: ");
      out->append(content_type);
      out->append("\r\n");
    }
    out->append("Content-Length: ");
    out->append(std::to_string(body.size()));
    out->append("\r\n");
  }
  AppendAdded(NonEmpty(edits), out);
  out->append(keep_alive ? "\r\n" : "Connection: close\r\n\r\n");
  if (!head_only && !no_content) out->append(body);
}

int CountOwnViaHops(const std::vector<http::Header>& headers) {
  int hops = 0;
  for (const http::Header& h : headers) {
    if (!http::EqualsIgnoreCase(h.name, "via")) continue;
    // Entries are "protocol received-by [comment]", separated by commas.
    std::string_view v = h.value;
    while (!v.empty()) {
      size_t comma = v.find(',');
      std::string_view entry = v.substr(0, comma);
      v = comma == std::string_view::npos ? std::string_view() : v.substr(comma + 1);
      while (!entry.empty() && (entry.front() == ' ' || entry.front() == '\t'))
        entry.remove_prefix(1);
      size_t space = entry.find(' ');
      if (space == std::string_view::npos) continue;
      std::string_view by = entry.substr(space + 1);
      size_t end = by.find_first_of(" \t(");
      if (by.substr(0, end) == kViaPseudonym) ++hops;
    }
  }
  return hops;
}

}  // namespace icaht::proxy

#include "http/request_parser.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "http/field_syntax.h"

namespace icaht::http {
namespace {

// RFC 9112 2.2 asks servers to ignore "at least one" empty line before the request line
// (clients sometimes send a CRLF after a POST body). A few are tolerated; more are refused so
// a peer cannot keep the connection busy with them.
constexpr int kMaxLeadingEmptyLines = 4;

Method MethodId(std::string_view m) {
  // Methods are case-sensitive (RFC 9110 9.1): "get" is a valid token but not GET.
  switch (m.size()) {
    case 3:
      if (m == "GET") return Method::kGet;
      if (m == "PUT") return Method::kPut;
      break;
    case 4:
      if (m == "HEAD") return Method::kHead;
      if (m == "POST") return Method::kPost;
      break;
    case 5:
      if (m == "PATCH") return Method::kPatch;
      if (m == "TRACE") return Method::kTrace;
      break;
    case 6:
      if (m == "DELETE") return Method::kDelete;
      break;
    case 7:
      if (m == "CONNECT") return Method::kConnect;
      if (m == "OPTIONS") return Method::kOptions;
      break;
  }
  return Method::kOther;
}

// "http://" or "https://" (scheme case-insensitive), then a non-empty authority without
// userinfo, then path-abempty [ "?" query ]. Only http(s) URIs are proxied.
bool IsValidAbsoluteForm(std::string_view t) {
  size_t scheme = 0;
  if (t.size() >= 7 && EqualsIgnoreCase(t.substr(0, 7), "http://")) {
    scheme = 7;
  } else if (t.size() >= 8 && EqualsIgnoreCase(t.substr(0, 8), "https://")) {
    scheme = 8;
  } else {
    return false;
  }
  std::string_view rest = t.substr(scheme);
  const size_t authority_end = rest.find_first_of("/?#");
  return IsValidHostPort(rest.substr(0, authority_end), /*require_port=*/false);
}

// Classifies the target and checks it fits the method (RFC 9112 3.2).
bool ClassifyTarget(Method method, std::string_view target, TargetForm* form) {
  if (method == Method::kConnect) {
    *form = TargetForm::kAuthority;
    return IsValidHostPort(target, /*require_port=*/true);
  }
  if (target[0] == '/') {
    *form = TargetForm::kOrigin;
    return true;
  }
  if (target == "*") {
    *form = TargetForm::kAsterisk;
    return method == Method::kOptions;
  }
  *form = TargetForm::kAbsolute;
  return IsValidAbsoluteForm(target);
}

// See HeadMayBeDecided. Adds what only requests have: leading empty lines, a method as the first
// byte, and the request-line limit.
bool WorthFullRequestParse(std::string_view data, const Limits& limits) {
  const size_t size = data.size();
  if (size >= limits.max_header_bytes) return true;
  const char* d = data.data();
  if (size >= 4 && std::memcmp(d + size - 4, "\r\n\r\n", 4) == 0) return true;
  size_t ls = 0;
  while (ls + 1 < size && d[ls] == '\r' && d[ls + 1] == '\n') ls += 2;
  if (ls > 2 * kMaxLeadingEmptyLines) return true;
  if (ls == size) return false;
  if (!IsTchar(d[ls])) return true;
  // A complete request line that does not end in " HTTP/x.y" (HTTP/0.9, junk)
  // is decided now: such a client waits for an answer, not for more headers.
  if (const void* lf = std::memchr(d + ls, '\n', size - ls); lf != nullptr) {
    const size_t i = static_cast<size_t>(static_cast<const char*>(lf) - d);
    if (i < ls + 10 || d[i - 1] != '\r' || std::memcmp(d + i - 10, " HTTP/", 6) != 0) return true;
  }
  return HeadMayBeDecided(data, ls, limits.max_request_line, limits.max_headers);
}

class RequestParser {
 public:
  RequestParser(std::string_view data, const Limits& limits, RequestHead* out, ParseError* error)
      : data_(data), limits_(limits), out_(out), error_(error) {}

  ParseStatus Parse();

 private:
  ParseStatus Fail(ParseError error, const char* detail) {
    *error_ = error;
    out_->error_detail = detail;
    return ParseStatus::kError;
  }
  ParseStatus Bad(const char* detail) { return Fail(ParseError::kBadRequest, detail); }

  ParseStatus ParseRequestLine(const char** next);
  ParseStatus ApplyFieldSemantics();

  std::string_view data_;
  const Limits& limits_;
  RequestHead* out_;
  ParseError* error_;
  HeadWindow window_{};
};

ParseStatus RequestParser::Parse() {
  window_ = MakeHeadWindow(data_, limits_.max_header_bytes);
  const char* p = nullptr;
  if (ParseStatus s = ParseRequestLine(&p); s != ParseStatus::kComplete) return s;
  const char* head_end = nullptr;
  const char* detail = "";
  switch (ParseFieldLines(window_, p, limits_.max_headers, &out_->headers, &head_end, &detail)) {
    case FieldsResult::kComplete:
      break;
    case FieldsResult::kIncomplete:
      return ParseStatus::kIncomplete;
    case FieldsResult::kTooLarge:
      return Fail(ParseError::kHeadersTooLarge, detail);
    case FieldsResult::kError:
      return Bad(detail);
  }
  out_->head_size = static_cast<size_t>(head_end - data_.data());
  return ApplyFieldSemantics();
}

// Scans the request line strictly left to right; each error is decided by the bytes before the
// point where it is reported (see ParseFieldLines), which is what makes every prefix of an
// input answer kIncomplete or the whole input's answer.
ParseStatus RequestParser::ParseRequestLine(const char** next) {
  const char* const begin = window_.begin;
  const char* p = begin;
  // Leading empty lines.
  for (int empty = 0;; ++empty) {
    if (p == window_.end) break;  // handled by the exhausted() logic below
    if (*p == '\n') return Bad("bare LF");
    if (*p != '\r') break;
    if (p + 1 == window_.end) {
      p = window_.end;
      break;
    }
    if (p[1] != '\n') return Bad("bare CR");
    if (empty == kMaxLeadingEmptyLines) return Bad("too many empty lines before the request");
    p += 2;
  }
  const size_t line_start = static_cast<size_t>(p - begin);
  // The LF must come at index <= line_start + max_request_line + 1; needing a byte at or past
  // line_limit while still on the request line means the line is too long.
  const size_t line_limit = SatAdd(SatAdd(line_start, limits_.max_request_line), 2);
  const char* const end = begin + std::min(static_cast<size_t>(window_.end - begin), line_limit);
  auto exhausted = [&](const char* at) {
    if (static_cast<size_t>(at - begin) >= line_limit) {
      return Fail(ParseError::kUriTooLong, "request line longer than the limit");
    }
    if (window_.end_is_limit && at == window_.end) {
      return Fail(ParseError::kHeadersTooLarge, "header section larger than the limit");
    }
    return ParseStatus::kIncomplete;
  };
  if (p == end) return exhausted(p);

  const char* method = p;
  p = SkipTchars(p, end);
  if (p == end) return exhausted(p);
  if (p == method) return Bad(*p == '\n' ? "bare LF" : "invalid method");
  if (*p != ' ') return Bad("invalid character in method or missing target");
  out_->method = std::string_view(method, static_cast<size_t>(p - method));
  ++p;

  const char* target = p;
  p = SkipTargetChars(p, end);
  if (p == end) return exhausted(p);
  if (p == target) return Bad("empty request target or extra whitespace");
  if (*p == '\r') return Bad("missing HTTP version (HTTP/0.9 request)");
  if (*p != ' ') return Bad("invalid character in request target");
  out_->target = std::string_view(target, static_cast<size_t>(p - target));
  ++p;

  // HTTP-version = "HTTP/" DIGIT "." DIGIT, then CRLF (RFC 9112 2.3). "HTTP" is case-sensitive.
  // The common "HTTP/1.x" CRLF is checked in one go; anything else goes byte by byte so that
  // a prefix is judged like the whole line.
  if (end - p >= 10 && std::memcmp(p, "HTTP/1.", 7) == 0 && IsDigit(p[7]) &&
      std::memcmp(p + 8, "\r\n", 2) == 0) {
    p += 10;
  } else {
    static constexpr char kPattern[] = "HTTP/0.0\r\n";
    for (int i = 0; i < 10; ++i, ++p) {
      if (p == end) return exhausted(p);
      const char want = kPattern[i];
      const bool ok = want == '0' ? IsDigit(*p) : *p == want;
      if (!ok) {
        if (i == 9) return Bad("bare CR");
        if (i == 8) return Bad(*p == '\n' ? "bare LF" : "junk after HTTP version");
        return Bad("malformed HTTP version");
      }
    }
  }
  const char major = p[-5];
  const char minor = p[-3];
  if (major != '1') return Fail(ParseError::kVersionNotSupported, "HTTP major version is not 1");
  // RFC 9110 2.5: a higher minor version is answered as the highest we speak, 1.1.
  out_->version = minor == '0' ? Version::kHttp10 : Version::kHttp11;

  out_->method_id = MethodId(out_->method);
  if (!ClassifyTarget(out_->method_id, out_->target, &out_->target_form)) {
    return Bad("request target form not valid for the method");
  }
  *next = p;
  return ParseStatus::kComplete;
}

ParseStatus RequestParser::ApplyFieldSemantics() {
  RequestHead& h = *out_;
  const bool http11 = h.version == Version::kHttp11;
  int host_count = 0;
  bool have_length = false;
  bool have_upgrade_field = false;
  CodingSummary codings;
  ConnectionOptions connection;
  for (const Header& field : h.headers) {
    const std::string_view name = field.name;
    switch (name.size()) {
      case 4:
        if (NameEquals(name, "host")) {
          // RFC 9112 3.2: more than one Host, or an invalid one, is a 400.
          if (++host_count > 1) return Bad("duplicate Host header");
          if (!IsValidHostPort(field.value, /*require_port=*/false)) return Bad("invalid Host");
          h.host = field.value;
        }
        break;
      case 6:
        if (http11 && NameEquals(name, "expect") && EqualsIgnoreCase(field.value, "100-continue")) {
          h.expect_continue = true;
        }
        break;
      case 7:
        if (NameEquals(name, "upgrade") && !field.value.empty()) have_upgrade_field = true;
        break;
      case 10:
        if (NameEquals(name, "connection") && !AddConnectionOptions(field.value, &connection)) {
          return Bad("invalid Connection header");
        }
        break;
      case 14:
        if (NameEquals(name, "content-length")) {
          uint64_t n = 0;
          // A single decimal number, in a single field (nginx refuses lists and repeats too).
          if (!ParseContentLength(field.value, &n, /*allow_list=*/false)) {
            return Bad("invalid Content-Length");
          }
          if (have_length) return Bad("duplicate Content-Length");
          have_length = true;
          h.content_length = n;
        }
        break;
      case 17:
        if (NameEquals(name, "transfer-encoding") && !AddTransferCodings(field.value, &codings)) {
          return Bad("invalid Transfer-Encoding");
        }
        break;
    }
  }

  // Framing, RFC 9112 6.1 and 6.3. Every ambiguity is refused rather than resolved: the
  // upstream or another hop might resolve it differently (request smuggling).
  if (codings.codings > 0) {
    if (!http11) return Bad("Transfer-Encoding in an HTTP/1.0 request");
    if (have_length) return Bad("both Transfer-Encoding and Content-Length");
    if (!codings.last_is_chunked) return Bad("final transfer coding is not chunked");
    if (codings.chunked > 1 || codings.codings > 1) {
      return Fail(ParseError::kNotImplemented, "transfer coding other than a single chunked");
    }
    if (h.method_id == Method::kConnect) return Bad("CONNECT request with a body");
    h.framing = BodyFraming::kChunked;
  } else if (have_length) {
    if (h.method_id == Method::kConnect && h.content_length != 0) {
      return Bad("CONNECT request with a body");
    }
    // An explicit "Content-Length: 0" stays kContentLength so the proxy forwards it as sent;
    // CONNECT has no content at all.
    h.framing = h.method_id == Method::kConnect ? BodyFraming::kNone : BodyFraming::kContentLength;
  }
  if (http11 && host_count == 0) return Bad("missing Host header");

  if (http11) {
    h.keep_alive = !connection.close;
    // RFC 9110 7.8: Upgrade in an HTTP/1.0 request is ignored.
    h.upgrade = connection.upgrade && have_upgrade_field;
  } else {
    h.keep_alive = connection.keep_alive && !connection.close;
  }
  return ParseStatus::kComplete;
}

}  // namespace

ParseStatus ParseRequestHead(std::string_view data, const Limits& limits, RequestHead* out,
                             ParseError* error) {
  out->Clear();
  *error = ParseError::kNone;
  if (!WorthFullRequestParse(data, limits)) return ParseStatus::kIncomplete;
  ParseStatus status = RequestParser(data, limits, out, error).Parse();
  if (status == ParseStatus::kIncomplete) out->error_detail = "";
  return status;
}

}  // namespace icaht::http

#pragma once
// Parsed HTTP/1.x message heads. Pure data: every string_view points into the
// caller's input buffer, which must outlive the head.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace icaht::http {

enum class Version : uint8_t { kHttp10, kHttp11 };

enum class Method : uint8_t {
  kOther,  // a valid token that is none of the below (forwarded as is)
  kGet,
  kHead,
  kPost,
  kPut,
  kDelete,
  kConnect,
  kOptions,
  kTrace,
  kPatch,
};

// How the body that follows a head is delimited (RFC 9112 section 6.3).
enum class BodyFraming : uint8_t {
  kNone,           // no body at all
  kContentLength,  // exactly content_length bytes
  kChunked,        // chunked transfer coding (final coding)
  kUntilClose,     // responses only: body runs until the upstream closes
};

struct Header {
  std::string_view name;   // as received (case preserved); a valid token
  std::string_view value;  // leading/trailing OWS stripped
};

// Form of a request-target (RFC 9112 section 3.2). A proxy forwarding to an origin server
// rewrites kAbsolute to origin-form; kAuthority occurs only with CONNECT, kAsterisk only with
// OPTIONS.
enum class TargetForm : uint8_t { kOrigin, kAbsolute, kAuthority, kAsterisk };

// Why a message was refused; each maps to one status code (see StatusFor).
enum class ParseError : uint8_t {
  kNone,
  kBadRequest,           // 400: syntax, framing or Host errors
  kUriTooLong,           // 414: request line longer than Limits::max_request_line
  kHeadersTooLarge,      // 431: header block or header count over the limits
  kVersionNotSupported,  // 505: HTTP major version other than 1 (HTTP/0.9 is 400)
  kNotImplemented,  // 501: a transfer coding we do not implement (e.g. gzip, chunked last only)
  kBadResponse,     // (responses) upstream sent something unparseable -> proxy answers 502
};

// The status code the proxy answers with for a ParseError (kBadResponse -> 502). kNone is not
// an error; it maps to 500 so that misuse still produces a valid answer.
int StatusFor(ParseError error);

struct Limits {
  size_t max_request_line = 8 * 1024;   // -> 414
  size_t max_header_bytes = 64 * 1024;  // whole head incl. request/status line -> 431
  size_t max_headers = 100;             // -> 431
};

enum class ParseStatus : uint8_t { kComplete, kIncomplete, kError };

struct RequestHead {
  std::string_view method;
  Method method_id = Method::kOther;
  std::string_view target;  // origin-form, absolute-form, authority-form (CONNECT) or "*"
  TargetForm target_form = TargetForm::kOrigin;
  Version version = Version::kHttp11;
  std::vector<Header> headers;  // in order; reused across parses (clear(), no shrink)

  // kNone, kContentLength or kChunked. An explicit "Content-Length: 0" is kContentLength with
  // content_length 0; CONNECT is always kNone (a body on CONNECT is refused).
  BodyFraming framing = BodyFraming::kNone;
  uint64_t content_length = 0;  // when framing == kContentLength
  // The Host header value, validated as uri-host [":" port] ("" only for HTTP/1.0 without
  // Host). For absolute-form targets this is still the Host header; RFC 9112 3.2.2 says an
  // origin server uses the target's authority instead, so a proxy should route by that one.
  std::string_view host;
  bool keep_alive = true;         // false for "Connection: close", or HTTP/1.0 without keep-alive
  bool expect_continue = false;   // "Expect: 100-continue" (HTTP/1.1 only, RFC 9110 10.1.1)
  bool upgrade = false;           // Connection: upgrade + Upgrade header present (HTTP/1.1 only)
  size_t head_size = 0;           // bytes of the head including the final CRLFCRLF
  const char* error_detail = "";  // static string saying what was wrong, on kError

  void Clear();
};

struct ResponseHead {
  Version version = Version::kHttp11;
  int status = 0;  // 100..999
  std::string_view reason;
  std::vector<Header> headers;

  BodyFraming framing = BodyFraming::kNone;
  uint64_t content_length = 0;  // the Content-Length value when present (even if framing is kNone)
  // false when the upstream said close, for HTTP/1.0 without keep-alive, and for kUntilClose.
  bool keep_alive = true;
  size_t head_size = 0;
  const char* error_detail = "";

  void Clear();
};

// Case-insensitive ASCII comparison of header names / tokens.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// True if a Connection field in `headers` lists `token` (case-insensitive), e.g. "close" or a
// header name the sender marked as hop-by-hop (RFC 9110 section 7.6.1). Elements are split at
// commas and trimmed of OWS; nothing else is interpreted.
bool ConnectionHasToken(const std::vector<Header>& headers, std::string_view token);

// True for the hop-by-hop field names a proxy must not forward: Connection, Keep-Alive,
// Proxy-Connection, TE, Trailer, Transfer-Encoding and Upgrade (case-insensitive). Fields named
// in Connection are hop-by-hop too; see ConnectionHasToken.
bool IsHopByHop(std::string_view name);

}  // namespace icaht::http

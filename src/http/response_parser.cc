#include "http/response_parser.h"

#include <cstring>

#include "http/field_syntax.h"

namespace icaht::http {
namespace {

// See HeadMayBeDecided. A response starts with "HTTP/", so anything else is decided at once.
bool WorthFullResponseParse(std::string_view data, const Limits& limits) {
  const size_t size = data.size();
  if (size >= limits.max_header_bytes) return true;
  if (size == 0) return false;
  if (data[0] != 'H') return true;
  if (size >= 4 && std::memcmp(data.data() + size - 4, "\r\n\r\n", 4) == 0) return true;
  return HeadMayBeDecided(data, 0, SIZE_MAX, limits.max_headers);
}

class ResponseParser {
 public:
  ResponseParser(std::string_view data, Method request_method, const Limits& limits,
                 ResponseHead* out, ParseError* error)
      : data_(data), request_method_(request_method), limits_(limits), out_(out), error_(error) {}

  ParseStatus Parse();

 private:
  ParseStatus Fail(ParseError error, const char* detail) {
    *error_ = error;
    out_->error_detail = detail;
    return ParseStatus::kError;
  }
  ParseStatus Bad(const char* detail) { return Fail(ParseError::kBadResponse, detail); }
  ParseStatus Exhausted(const char* at) {
    if (window_.end_is_limit && at == window_.end) {
      return Fail(ParseError::kHeadersTooLarge, "header section larger than the limit");
    }
    return ParseStatus::kIncomplete;
  }

  ParseStatus ParseStatusLine(const char** next);
  ParseStatus ApplyFieldSemantics();

  std::string_view data_;
  Method request_method_;
  const Limits& limits_;
  ResponseHead* out_;
  ParseError* error_;
  HeadWindow window_{};
};

ParseStatus ResponseParser::Parse() {
  window_ = MakeHeadWindow(data_, limits_.max_header_bytes);
  const char* p = nullptr;
  if (ParseStatus s = ParseStatusLine(&p); s != ParseStatus::kComplete) return s;
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

// status-line = HTTP-version SP status-code SP [ reason-phrase ] CRLF (RFC 9112 4), scanned
// left to right like the request line. No empty lines are skipped before it: from an upstream
// they mean the previous response was framed differently than we think.
ParseStatus ResponseParser::ParseStatusLine(const char** next) {
  const char* const end = window_.end;
  const char* p = window_.begin;
  static constexpr char kPattern[] = "HTTP/0.0 000";
  for (int i = 0; i < 12; ++i, ++p) {
    if (p == end) return Exhausted(p);
    const char want = kPattern[i];
    const bool ok = want == '0' ? IsDigit(*p) : *p == want;
    if (!ok) return Bad(i < 8 ? "malformed HTTP version" : "malformed status code");
  }
  const char* digits = p - 3;
  if (digits[0] == '0') return Bad("status code below 100");
  if (p == end) return Exhausted(p);
  // The SP before an empty reason is often left out; accepting "HTTP/1.1 200\r\n" costs
  // nothing (the reason is never interpreted).
  if (*p == ' ') {
    ++p;
    const char* reason = p;
    p = SkipFieldChars(p, end);
    if (p == end) return Exhausted(p);
    out_->reason = std::string_view(reason, static_cast<size_t>(p - reason));
  }
  if (*p != '\r') return Bad(*p == '\n' ? "bare LF" : "invalid character in status line");
  if (++p == end) return Exhausted(p);
  if (*p != '\n') return Bad("bare CR");
  ++p;
  const char major = window_.begin[5];
  const char minor = window_.begin[7];
  if (major != '1') return Bad("HTTP major version is not 1");
  out_->version = minor == '0' ? Version::kHttp10 : Version::kHttp11;
  out_->status = (digits[0] - '0') * 100 + (digits[1] - '0') * 10 + (digits[2] - '0');
  *next = p;
  return ParseStatus::kComplete;
}

ParseStatus ResponseParser::ApplyFieldSemantics() {
  ResponseHead& h = *out_;
  const bool http11 = h.version == Version::kHttp11;
  bool have_length = false;
  CodingSummary codings;
  ConnectionOptions connection;
  for (const Header& field : h.headers) {
    const std::string_view name = field.name;
    switch (name.size()) {
      case 10:
        if (NameEquals(name, "connection") && !AddConnectionOptions(field.value, &connection)) {
          return Bad("invalid Connection header");
        }
        break;
      case 14:
        if (NameEquals(name, "content-length")) {
          uint64_t n = 0;
          // RFC 9112 6.3 (5): an invalid Content-Length from upstream is unrecoverable -> 502.
          if (!ParseContentLength(field.value, &n)) return Bad("invalid Content-Length");
          if (have_length && n != h.content_length) return Bad("conflicting Content-Length");
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
  const bool have_codings = codings.codings > 0;
  if (have_codings) {
    // RFC 9112 6.1: Transfer-Encoding in an HTTP/1.0 message means faulty framing.
    if (!http11) return Bad("Transfer-Encoding in an HTTP/1.0 response");
    // RFC 9112 6.3 (3) lets Transfer-Encoding override Content-Length (and close afterwards).
    // We refuse instead: a response carrying both was built by something that disagrees with
    // itself about framing, and a 502 is cheaper than a desynchronised upstream connection.
    if (have_length) return Bad("both Transfer-Encoding and Content-Length");
    if (codings.chunked > 1) return Bad("chunked applied more than once");
    // Only a lone "chunked" is framing this proxy can decode and re-frame; any other coding
    // would reach the client without the header that names it (nginx answers 502 too).
    if (codings.codings != 1 || !codings.last_is_chunked) {
      return Bad("unsupported transfer coding from upstream");
    }
  }

  const int status = h.status;
  bool until_close = false;
  if (request_method_ == Method::kHead || status < 200 || status == 204 || status == 304) {
    h.framing = BodyFraming::kNone;
  } else if (request_method_ == Method::kConnect && status < 300) {
    h.framing = BodyFraming::kNone;  // the connection becomes a tunnel
  } else if (have_codings) {
    h.framing = BodyFraming::kChunked;
  } else if (have_length) {
    h.framing = BodyFraming::kContentLength;
  } else {
    h.framing = BodyFraming::kUntilClose;
    until_close = true;
  }

  if (until_close || connection.close) {
    h.keep_alive = false;
  } else {
    h.keep_alive = http11 || connection.keep_alive;
  }
  return ParseStatus::kComplete;
}

}  // namespace

ParseStatus ParseResponseHead(std::string_view data, Method request_method, const Limits& limits,
                              ResponseHead* out, ParseError* error) {
  out->Clear();
  *error = ParseError::kNone;
  if (!WorthFullResponseParse(data, limits)) return ParseStatus::kIncomplete;
  ParseStatus status = ResponseParser(data, request_method, limits, out, error).Parse();
  if (status == ParseStatus::kIncomplete) out->error_detail = "";
  return status;
}

}  // namespace icaht::http

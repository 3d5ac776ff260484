#include "http/message.h"

#include "http/field_syntax.h"

namespace icaht::http {

int StatusFor(ParseError error) {
  switch (error) {
    case ParseError::kBadRequest:
      return 400;
    case ParseError::kUriTooLong:
      return 414;
    case ParseError::kHeadersTooLarge:
      return 431;
    case ParseError::kVersionNotSupported:
      return 505;
    case ParseError::kNotImplemented:
      return 501;
    case ParseError::kBadResponse:
      return 502;
    case ParseError::kNone:
      break;
  }
  return 500;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ToLowerAscii(a[i]) != ToLowerAscii(b[i])) return false;
  }
  return true;
}

void RequestHead::Clear() {
  method = {};
  method_id = Method::kOther;
  target = {};
  target_form = TargetForm::kOrigin;
  version = Version::kHttp11;
  headers.clear();
  framing = BodyFraming::kNone;
  content_length = 0;
  host = {};
  keep_alive = true;
  expect_continue = false;
  upgrade = false;
  head_size = 0;
  error_detail = "";
}

void ResponseHead::Clear() {
  version = Version::kHttp11;
  status = 0;
  reason = {};
  headers.clear();
  framing = BodyFraming::kNone;
  content_length = 0;
  keep_alive = true;
  head_size = 0;
  error_detail = "";
}

bool ConnectionHasToken(const std::vector<Header>& headers, std::string_view token) {
  return AnyConnectionToken(headers,
                            [token](std::string_view t) { return EqualsIgnoreCase(t, token); });
}

bool IsHopByHop(std::string_view name) {
  switch (name.size()) {
    case 2:
      return EqualsIgnoreCase(name, "te");
    case 7:
      return EqualsIgnoreCase(name, "trailer") || EqualsIgnoreCase(name, "upgrade");
    case 10:
      return EqualsIgnoreCase(name, "connection") || EqualsIgnoreCase(name, "keep-alive");
    case 16:
      return EqualsIgnoreCase(name, "proxy-connection");
    case 17:
      return EqualsIgnoreCase(name, "transfer-encoding");
    default:
      return false;
  }
}

}  // namespace icaht::http

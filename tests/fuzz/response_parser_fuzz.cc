// Fuzzes ParseResponseHead for GET, HEAD and CONNECT requests. Invariants: the re-scan contract,
// views inside the head, limits honoured, RFC 9112 6.3 framing, independence from the caller's
// head, and a re-serialized complete head parsing to the same meaning.

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "http/response_parser.h"

namespace icaht::http::fuzz {
namespace {

bool HasField(const ResponseHead& h, std::string_view name) {
  for (const Header& f : h.headers) {
    if (EqualsIgnoreCase(f.name, name)) return true;
  }
  return false;
}

void CheckComplete(const ResponseHead& h, std::string_view in, Method method,
                   const Limits& limits) {
  FUZZ_CHECK(h.head_size >= 16 && h.head_size <= in.size());
  FUZZ_CHECK(h.head_size <= limits.max_header_bytes);
  FUZZ_CHECK(in.substr(h.head_size - 4, 4) == "\r\n\r\n");
  const std::string_view head = in.substr(0, h.head_size);
  FUZZ_CHECK(h.status >= 100 && h.status <= 999);
  FUZZ_CHECK(Inside(h.reason, head));
  FUZZ_CHECK(h.headers.size() <= limits.max_headers);
  for (const Header& f : h.headers) {
    FUZZ_CHECK(Inside(f.name, head) && Inside(f.value, head) && !f.name.empty());
    for (char c : f.value) FUZZ_CHECK(c != '\r' && c != '\n' && c != '\0');
  }
  const bool te = HasField(h, "transfer-encoding");
  const bool cl = HasField(h, "content-length");
  FUZZ_CHECK(!(te && cl));
  const bool no_body = method == Method::kHead || h.status < 200 || h.status == 204 ||
                       h.status == 304 || (method == Method::kConnect && h.status < 300);
  if (no_body) FUZZ_CHECK(h.framing == BodyFraming::kNone);
  if (!no_body) FUZZ_CHECK(h.framing != BodyFraming::kNone);
  if (h.framing == BodyFraming::kChunked) FUZZ_CHECK(te && h.version == Version::kHttp11);
  if (h.framing == BodyFraming::kContentLength) FUZZ_CHECK(cl);
  if (h.framing == BodyFraming::kUntilClose) FUZZ_CHECK(!h.keep_alive && !cl);
}

void CheckSame(const ResponseHead& a, const ResponseHead& b) {
  FUZZ_CHECK(a.version == b.version && a.status == b.status && a.reason == b.reason);
  FUZZ_CHECK(a.framing == b.framing && a.content_length == b.content_length);
  FUZZ_CHECK(a.keep_alive == b.keep_alive);
  FUZZ_CHECK(a.headers.size() == b.headers.size());
  for (size_t i = 0; i < a.headers.size(); ++i) {
    FUZZ_CHECK(EqualsIgnoreCase(a.headers[i].name, b.headers[i].name));
    FUZZ_CHECK(a.headers[i].value == b.headers[i].value);
  }
}

std::string Serialize(const ResponseHead& h) {
  std::string s = h.version == Version::kHttp10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  s.append(std::to_string(h.status)).append(" ").append(h.reason).append("\r\n");
  for (const Header& f : h.headers) {
    for (char c : f.name) s.push_back((c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c);
    s.append(":\t").append(f.value).append("\r\n");
  }
  return s + "\r\n";
}

void Run(std::string_view in, Method method, const Limits& limits, uint64_t seed) {
  ResponseHead whole;
  ParseError error = ParseError::kNone;
  const ParseStatus status = ParseResponseHead(in, method, limits, &whole, &error);
  if (status == ParseStatus::kComplete) {
    CheckComplete(whole, in, method, limits);
  } else if (status == ParseStatus::kError) {
    FUZZ_CHECK(error == ParseError::kBadResponse || error == ParseError::kHeadersTooLarge);
    FUZZ_CHECK(whole.error_detail[0] != '\0');
  }

  ResponseHead dirty;
  ParseError dirty_error;
  ParseResponseHead("HTTP/1.0 204 X\r\nA: b\r\nConnection: close\r\n\r\n", Method::kGet, Limits{},
                    &dirty, &dirty_error);
  FUZZ_CHECK(ParseResponseHead(in, method, limits, &dirty, &dirty_error) == status);
  FUZZ_CHECK(dirty_error == error);
  if (status == ParseStatus::kComplete) CheckSame(dirty, whole);

  if (!in.empty()) {
    for (size_t n : {in.size() - 1, in.size() / 2, static_cast<size_t>(seed % in.size())}) {
      const ExactCopy copy(in.substr(0, n));
      ResponseHead prefix;
      ParseError prefix_error = ParseError::kNone;
      const ParseStatus s = ParseResponseHead(copy.view(), method, limits, &prefix, &prefix_error);
      if (status == ParseStatus::kComplete && n >= whole.head_size) {
        FUZZ_CHECK(s == ParseStatus::kComplete);
        CheckSame(prefix, whole);
      } else if (status == ParseStatus::kError) {
        FUZZ_CHECK(s == ParseStatus::kIncomplete ||
                   (s == ParseStatus::kError && prefix_error == error));
      } else {
        FUZZ_CHECK(s == ParseStatus::kIncomplete);
      }
    }
  }

  if (status == ParseStatus::kComplete) {
    const std::string again = Serialize(whole);
    const Limits unlimited{SIZE_MAX, SIZE_MAX, SIZE_MAX};
    ResponseHead reparsed;
    ParseError reparsed_error;
    FUZZ_CHECK(ParseResponseHead(again, method, unlimited, &reparsed, &reparsed_error) ==
               ParseStatus::kComplete);
    CheckSame(reparsed, whole);
  }
}

}  // namespace
}  // namespace icaht::http::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace icaht::http;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const uint64_t seed = fuzz::Fnv1a(in);
  for (Method m : {Method::kGet, Method::kHead, Method::kConnect}) {
    fuzz::Run(in, m, Limits{}, seed);
  }
  fuzz::Run(in, Method::kGet,
            Limits{.max_request_line = 40, .max_header_bytes = 128, .max_headers = 3}, seed);
  return 0;
}

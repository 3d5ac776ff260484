// Fuzzes ParseRequestHead. Invariants: the re-scan contract (every prefix answers kIncomplete or
// the whole input's answer), views inside the head, limits honoured, framing never ambiguous,
// the parse independent of what the caller left in the head, and a complete head re-serialized
// (names lowercased) parses to the same meaning.

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "http/request_parser.h"

namespace icaht::http::fuzz {
namespace {

bool HasField(const RequestHead& h, std::string_view name) {
  for (const Header& f : h.headers) {
    if (EqualsIgnoreCase(f.name, name)) return true;
  }
  return false;
}

void CheckComplete(const RequestHead& h, std::string_view in, const Limits& limits) {
  FUZZ_CHECK(h.head_size >= 16 && h.head_size <= in.size());
  FUZZ_CHECK(h.head_size <= limits.max_header_bytes);
  FUZZ_CHECK(in.substr(h.head_size - 4, 4) == "\r\n\r\n");
  const std::string_view head = in.substr(0, h.head_size);
  FUZZ_CHECK(Inside(h.method, head) && !h.method.empty());
  FUZZ_CHECK(Inside(h.target, head) && !h.target.empty());
  FUZZ_CHECK(Inside(h.host, head));
  FUZZ_CHECK(h.method.size() + h.target.size() + 10 <= limits.max_request_line);
  FUZZ_CHECK(h.headers.size() <= limits.max_headers);
  for (const Header& f : h.headers) {
    FUZZ_CHECK(Inside(f.name, head) && Inside(f.value, head) && !f.name.empty());
    for (char c : f.value) FUZZ_CHECK(c != '\r' && c != '\n' && c != '\0');
    if (!f.value.empty()) {
      FUZZ_CHECK(f.value.front() != ' ' && f.value.front() != '\t');
      FUZZ_CHECK(f.value.back() != ' ' && f.value.back() != '\t');
    }
  }
  // VCHAR and obs-text (0x80-0xFF): no controls, SP or DEL.
  for (unsigned char c : h.target) FUZZ_CHECK(c > 0x20 && c != 0x7f);
  const bool te = HasField(h, "transfer-encoding");
  const bool cl = HasField(h, "content-length");
  FUZZ_CHECK(!(te && cl));
  if (h.framing == BodyFraming::kChunked) FUZZ_CHECK(te && h.version == Version::kHttp11);
  if (h.framing == BodyFraming::kContentLength) FUZZ_CHECK(cl);
  if (h.framing != BodyFraming::kContentLength) FUZZ_CHECK(h.content_length == 0 || cl);
  FUZZ_CHECK(h.framing != BodyFraming::kUntilClose);
  if (h.version == Version::kHttp11) FUZZ_CHECK(!h.host.empty());
  if (h.method_id == Method::kConnect) FUZZ_CHECK(h.framing == BodyFraming::kNone);
  if (h.version == Version::kHttp10) FUZZ_CHECK(!h.upgrade && !h.expect_continue);
}

void CheckSame(const RequestHead& a, const RequestHead& b, bool compare_names_exactly) {
  FUZZ_CHECK(a.method == b.method && a.method_id == b.method_id);
  FUZZ_CHECK(a.target == b.target && a.target_form == b.target_form);
  FUZZ_CHECK(a.version == b.version && a.framing == b.framing);
  FUZZ_CHECK(a.content_length == b.content_length && a.host == b.host);
  FUZZ_CHECK(a.keep_alive == b.keep_alive && a.expect_continue == b.expect_continue);
  FUZZ_CHECK(a.upgrade == b.upgrade);
  FUZZ_CHECK(a.headers.size() == b.headers.size());
  for (size_t i = 0; i < a.headers.size(); ++i) {
    FUZZ_CHECK(compare_names_exactly ? a.headers[i].name == b.headers[i].name
                                     : EqualsIgnoreCase(a.headers[i].name, b.headers[i].name));
    FUZZ_CHECK(a.headers[i].value == b.headers[i].value);
  }
}

std::string Serialize(const RequestHead& h) {
  std::string s;
  s.append(h.method).append(" ").append(h.target);
  s.append(h.version == Version::kHttp10 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
  for (const Header& f : h.headers) {
    for (char c : f.name) s.push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c);
    s.append(": ").append(f.value).append("\r\n");
  }
  return s + "\r\n";
}

void Run(std::string_view in, const Limits& limits, uint64_t seed) {
  RequestHead whole;
  ParseError error = ParseError::kNone;
  const ParseStatus status = ParseRequestHead(in, limits, &whole, &error);
  if (status == ParseStatus::kComplete) {
    FUZZ_CHECK(error == ParseError::kNone);
    CheckComplete(whole, in, limits);
  } else if (status == ParseStatus::kError) {
    FUZZ_CHECK(error != ParseError::kNone && error != ParseError::kBadResponse);
    FUZZ_CHECK(whole.error_detail != nullptr && whole.error_detail[0] != '\0');
  } else {
    FUZZ_CHECK(error == ParseError::kNone);
  }

  // The same input into a head left dirty by another parse.
  RequestHead dirty;
  ParseError dirty_error;
  ParseRequestHead("POST http://x/y HTTP/1.0\r\nContent-Length: 3\r\nA: b\r\n\r\n", Limits{},
                   &dirty, &dirty_error);
  FUZZ_CHECK(ParseRequestHead(in, limits, &dirty, &dirty_error) == status);
  FUZZ_CHECK(dirty_error == error);
  if (status == ParseStatus::kComplete) CheckSame(dirty, whole, true);

  // Prefixes.
  if (!in.empty()) {
    for (size_t n : {in.size() - 1, in.size() / 2, static_cast<size_t>(seed % in.size())}) {
      const ExactCopy copy(in.substr(0, n));
      RequestHead prefix;
      ParseError prefix_error = ParseError::kNone;
      const ParseStatus s = ParseRequestHead(copy.view(), limits, &prefix, &prefix_error);
      if (status == ParseStatus::kComplete && n >= whole.head_size) {
        FUZZ_CHECK(s == ParseStatus::kComplete);
        CheckSame(prefix, whole, true);
      } else if (status == ParseStatus::kError) {
        FUZZ_CHECK(s == ParseStatus::kIncomplete ||
                   (s == ParseStatus::kError && prefix_error == error));
      } else {
        FUZZ_CHECK(s == ParseStatus::kIncomplete);
      }
    }
  }

  // Round trip with lowercased names and canonical spacing.
  if (status == ParseStatus::kComplete) {
    const std::string again = Serialize(whole);
    const Limits unlimited{SIZE_MAX, SIZE_MAX, SIZE_MAX};
    RequestHead reparsed;
    ParseError reparsed_error;
    FUZZ_CHECK(ParseRequestHead(again, unlimited, &reparsed, &reparsed_error) ==
               ParseStatus::kComplete);
    FUZZ_CHECK(reparsed.head_size == again.size());
    CheckSame(reparsed, whole, false);
  }
}

}  // namespace
}  // namespace icaht::http::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace icaht::http;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const uint64_t seed = fuzz::Fnv1a(in);
  fuzz::Run(in, Limits{}, seed);
  fuzz::Run(in, Limits{.max_request_line = 40, .max_header_bytes = 160, .max_headers = 4}, seed);
  return 0;
}

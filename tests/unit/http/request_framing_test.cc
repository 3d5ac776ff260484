// Request framing (Transfer-Encoding / Content-Length), the request-smuggling classics, and the
// 414/431 limits. Every case is checked whole and as every proper prefix.

#include <gtest/gtest.h>

#include <string>

#include "http/request_parser.h"
#include "http_test_util.h"

namespace icaht::http {
namespace request_framing_test {

using namespace std::string_view_literals;
using testing::CheckRequestCase;
using testing::RequestCase;

constexpr ParseError kBad = ParseError::kBadRequest;
constexpr ParseError k501 = ParseError::kNotImplemented;
constexpr ParseError k414 = ParseError::kUriTooLong;
constexpr ParseError k431 = ParseError::kHeadersTooLarge;
constexpr BodyFraming kLength = BodyFraming::kContentLength;
constexpr BodyFraming kChunked = BodyFraming::kChunked;

const Limits kTightLimits{.max_request_line = 32, .max_header_bytes = 96, .max_headers = 3};
const Limits kHeadSmallerThanLine{.max_request_line = 64, .max_header_bytes = 24};

std::string LongTarget(size_t n) {
  return "GET /" + std::string(n, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n";
}
std::string ManyFields(int n) {
  std::string s = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (int i = 1; i < n; ++i) s += "X" + std::to_string(i) + ": v\r\n";
  return s + "\r\n";
}
std::string BigHead(size_t bytes) {
  std::string s = "GET / HTTP/1.1\r\nHost: a\r\n";
  while (s.size() < bytes) s += "X-Filler: " + std::string(100, 'v') + "\r\n";
  return s + "\r\n";
}

// Default limits: 8 KiB request line, 64 KiB head, 100 fields.
const std::string kTargetOverDefault = LongTarget(8 * 1024);
const std::string kTargetAtDefault = LongTarget(8 * 1024 - 14);
const std::string kFieldsOverDefault = ManyFields(101);
const std::string kFieldsAtDefault = ManyFields(100);
const std::string kHeadOverDefault = BigHead(64 * 1024);

const RequestCase kFramingCases[] = {
    // Transfer-Encoding that is exactly chunked, spelled in every legal way.
    {.name = "chunked",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
              "5\r\nhello\r\n0\r\n\r\n"sv,
     .method = Method::kPost,
     .framing = kChunked,
     .body = 15},
    {.name = "TE mixed case value",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-encoding: cHuNkEd\r\n\r\n"sv,
     .method = Method::kPost,
     .framing = kChunked},
    {.name = "TE uppercase name and value",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nTRANSFER-ENCODING: CHUNKED\r\n\r\n"sv,
     .method = Method::kPost,
     .framing = kChunked},
    {.name = "TE HTAB before value",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tchunked\r\n\r\n"sv,
     .method = Method::kPost,
     .framing = kChunked},
    {.name = "TE OWS around value",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:  \t chunked \t \r\n\r\n"sv,
     .method = Method::kPost,
     .framing = kChunked},
    {.name = "Transfer_Encoding is another field",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nTransfer_Encoding: chunked\r\nContent-Length: 3\r\n"
              "\r\nabc"sv,
     .method = Method::kPost,
     .framing = kLength,
     .content_length = 3,
     .body = 3},
    {.name = "Content_Length is another field",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nContent_Length: 3\r\nTransfer-Encoding: chunked\r\n"
              "\r\n"sv,
     .method = Method::kPost,
     .framing = kChunked},
    // CL.TE / TE.CL: both framings present.
    {.name = "CL.TE",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n"
              "\r\n0\r\n\r\nG"sv,
     .error = kBad},
    {.name = "TE.CL",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n"
              "\r\n8\r\nSMUGGLED\r\n0\r\n\r\n"sv,
     .error = kBad},
    {.name = "TE chunked with CL 0",
     .input =
         "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\ncontent-length: 0\r\n\r\n"sv,
     .error = kBad},
    {.name = "TE gzip with CL",
     .input =
         "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: gzip\r\n\r\n"sv,
     .error = kBad},
    // TE.TE: obfuscated Transfer-Encoding.
    {.name = "TE xchunked",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n"sv,
     .error = kBad},
    {.name = "TE chunk",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunk\r\n\r\n"sv,
     .error = kBad},
    {.name = "TE x-chunked",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: x-chunked\r\n\r\n"sv,
     .error = kBad},
    {.name = "TE space before colon",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n"sv,
     .error = kBad},
    {.name = "TE HTAB before colon",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding\t: chunked\r\n\r\n"sv,
     .error = kBad},
    {.name = "TE chunked then x",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: x"
              "\r\n\r\n"sv,
     .error = kBad},
    {.name = "TE chunked identity",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n"sv,
     .error = kBad},
    {.name = "TE identity",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n"sv,
     .error = kBad},
    {.name = "TE gzip",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n"sv,
     .error = kBad},
    {.name = "TE chunked gzip",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"sv,
     .error = kBad},
    {.name = "TE gzip chunked",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"sv,
     .error = k501},
    {.name = "TE gzip line then chunked line",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked"
              "\r\n\r\n"sv,
     .error = k501},
    {.name = "TE chunked twice in list",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"sv,
     .error = k501},
    {.name = "TE chunked twice in lines",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
              "chunked\r\n\r\n"sv,
     .error = k501},
    {.name = "TE deflate chunked",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: deflate,chunked\r\n\r\n"sv,
     .error = k501},
    {.name = "TE gzip with parameter then chunked",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip;q=0.5, chunked\r\n\r\n"sv,
     .error = k501},
    {.name = "TE chunked with parameter",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;q=1\r\n\r\n"sv,
     .error = kBad},
    {.name = "TE chunked space parameter",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked ; q=1\r\n\r\n"sv,
     .error = kBad},
    {.name = "TE chunked trailing semicolon",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;\r\n\r\n"sv,
     .error = kBad},
    {.name = "TE quoted chunked",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \"chunked\"\r\n\r\n"sv,
     .error = kBad},
    {.name = "TE chunked trailing junk",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked x\r\n\r\n"sv,
     .error = kBad},
    {.name = "TE trailing comma",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked,\r\n\r\n"sv,
     .error = kBad},
    {.name = "TE leading comma",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: , chunked\r\n\r\n"sv,
     .error = kBad},
    {.name = "TE empty",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n"sv,
     .error = kBad},
    {.name = "TE chunked then empty line",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: \r\n"
              "\r\n"sv,
     .error = kBad},
    {.name = "TE VT after chunked",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\v\r\n\r\n"sv,
     .error = kBad},
    {.name = "TE FF before chunked",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \fchunked\r\n\r\n"sv,
     .error = kBad},
    {.name = "TE NUL after chunked",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\0\r\n\r\n"sv,
     .error = kBad},
    {.name = "TE obs-fold",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip,\r\n chunked\r\n\r\n"sv,
     .error = kBad},
    {.name = "TE as first line with leading SP",
     .input = "POST / HTTP/1.1\r\n Transfer-Encoding: chunked\r\nHost: a\r\n\r\n"sv,
     .error = kBad},
    {.name = "TE bare LF line end",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\n\r\n"sv,
     .error = kBad},
    {.name = "TE in HTTP/1.0",
     .input = "POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"sv,
     .error = kBad},
    {.name = "TE on CONNECT",
     .input = "CONNECT a:443 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"sv,
     .error = kBad},
    // Content-Length.
    // A single decimal number in a single field, as nginx demands: lists and repeats are
    // refused even when their values agree.
    {.name = "CL duplicate identical",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello"sv,
     .error = kBad},
    {.name = "CL identical list",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 , 5,5\r\n\r\nhello"sv,
     .error = kBad},
    {.name = "CL identical list 1000",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000,1000\r\n\r\n"sv,
     .error = kBad},
    {.name = "CL leading zeros",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 005\r\n\r\n"sv,
     .method = Method::kPost,
     .framing = kLength,
     .content_length = 5},
    {.name = "CL same number other spelling",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 05\r\n\r\n"sv,
     .error = kBad},
    {.name = "CL HTAB before value",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\t7\r\n\r\n"sv,
     .method = Method::kPost,
     .framing = kLength,
     .content_length = 7},
    {.name = "CL INT64_MAX",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775807\r\n\r\n"sv,
     .method = Method::kPost,
     .framing = kLength,
     .content_length = 9223372036854775807ull},
    {.name = "CL 0 on GET",
     .input = "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"sv,
     .framing = kLength},
    {.name = "CL differing lines",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"sv,
     .error = kBad},
    {.name = "CL differing list",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n"sv,
     .error = kBad},
    {.name = "CL plus sign",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n"sv,
     .error = kBad},
    {.name = "CL negative",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n"sv,
     .error = kBad},
    {.name = "CL space inside",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 5\r\n\r\n"sv,
     .error = kBad},
    {.name = "CL hex",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n"sv,
     .error = kBad},
    {.name = "CL decimal point",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5.0\r\n\r\n"sv,
     .error = kBad},
    {.name = "CL exponent",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1e3\r\n\r\n"sv,
     .error = kBad},
    {.name = "CL empty",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n"sv,
     .error = kBad},
    {.name = "CL trailing comma",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5,\r\n\r\n"sv,
     .error = kBad},
    {.name = "CL leading comma",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ,5\r\n\r\n"sv,
     .error = kBad},
    {.name = "CL 2^63",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775808\r\n\r\n"sv,
     .error = kBad},
    {.name = "CL 2^64 wraps to 0 if unchecked",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551616\r\n\r\n"sv,
     .error = kBad},
    {.name = "CL huge",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n"sv,
     .error = kBad},
    {.name = "CL NUL",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\0\r\n\r\n"sv,
     .error = kBad},
    {.name = "CL non-ASCII digit",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \xd9\xa5\r\n\r\n"sv,
     .error = kBad},
    {.name = "CL space before colon",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\n"sv,
     .error = kBad},
    {.name = "CL on CONNECT",
     .input = "CONNECT a:443 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n"sv,
     .error = kBad},
    // 414.
    {.name = "request line over the limit",
     .input = "GET /aaaaaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: a\r\n\r\n"sv,
     .error = k414,
     .limits = &kTightLimits},
    {.name = "request line over the limit before its CRLF",
     .input = "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"sv,
     .error = k414,
     .limits = &kTightLimits},
    {.name = "bad method before the line limit",
     .input = "G(T /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n\r\n"sv,
     .error = kBad,
     .limits = &kTightLimits},
    {.name = "request line over default limit", .input = kTargetOverDefault, .error = k414},
    {.name = "request line at default limit",
     .input = kTargetAtDefault,
     .target = std::string_view(kTargetAtDefault).substr(4, 8 * 1024 - 13)},
    // 431.
    {.name = "head over the byte limit",
     .input = "GET / HTTP/1.1\r\nHost: a\r\nX: "
              "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
              "aaaaaaa\r\n\r\n"sv,
     .error = k431,
     .limits = &kTightLimits},
    {.name = "head over the byte limit before its end",
     .input = "GET / HTTP/1.1\r\nHost: a\r\nX: "
              "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
              "aaaaaaaaaaaaaaaaaaaaaaa"sv,
     .error = k431,
     .limits = &kTightLimits},
    {.name = "head limit before line limit",
     .input = "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"sv,
     .error = k431,
     .limits = &kHeadSmallerThanLine},
    {.name = "too many fields",
     .input = "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\nY: 2\r\nZ: 3\r\n\r\n"sv,
     .error = k431,
     .limits = &kTightLimits},
    {.name = "too many fields before the end",
     .input = "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\nY: 2\r\nZ: 3\r\nW"sv,
     .error = k431,
     .limits = &kTightLimits},
    {.name = "fields at default count limit", .input = kFieldsAtDefault, .headers = 100},
    {.name = "fields over default count limit", .input = kFieldsOverDefault, .error = k431},
    {.name = "head over default byte limit", .input = kHeadOverDefault, .error = k431},
};

class RequestFramingTest : public ::testing::TestWithParam<RequestCase> {};
TEST_P(RequestFramingTest, WholeAndEveryPrefix) { CheckRequestCase(GetParam()); }
INSTANTIATE_TEST_SUITE_P(Table, RequestFramingTest, ::testing::ValuesIn(kFramingCases),
                         [](const auto& info) {
                           return testing::SanitizeName(info.param.name, info.index);
                         });

TEST(RequestLimitsTest, StatusCodes) {
  RequestHead head;
  ParseError error;
  ASSERT_EQ(ParseRequestHead(kTargetOverDefault, Limits{}, &head, &error), ParseStatus::kError);
  EXPECT_EQ(StatusFor(error), 414);
  ASSERT_EQ(ParseRequestHead(kHeadOverDefault, Limits{}, &head, &error), ParseStatus::kError);
  EXPECT_EQ(StatusFor(error), 431);
}

}  // namespace request_framing_test
}  // namespace icaht::http

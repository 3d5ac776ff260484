// Response heads: status line, fields and framing per RFC 9112 6.3. Every case is checked whole
// and as every proper prefix.

#include "http/response_parser.h"

#include <gtest/gtest.h>

#include "http_test_util.h"

namespace icaht::http {
namespace response_parser_test {

using namespace std::string_view_literals;
using testing::CheckResponseCase;
using testing::ResponseCase;

constexpr ParseError kBad = ParseError::kBadResponse;
constexpr ParseError k431 = ParseError::kHeadersTooLarge;
constexpr Version k10 = Version::kHttp10;
constexpr BodyFraming kNone = BodyFraming::kNone;
constexpr BodyFraming kChunked = BodyFraming::kChunked;
constexpr BodyFraming kUntilClose = BodyFraming::kUntilClose;

const Limits kTightLimits{.max_request_line = 32, .max_header_bytes = 64, .max_headers = 2};

const ResponseCase kResponseCases[] = {
    {.name = "200 with body",
     .input = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"sv,
     .content_length = 5,
     .body = 5},
    {.name = "200 chunked",
     .input = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"sv,
     .framing = kChunked,
     .body = 5},
    {.name = "200 until close",
     .input = "HTTP/1.1 200 OK\r\nServer: x\r\n\r\nabc"sv,
     .framing = kUntilClose,
     .keep_alive = false,
     .body = 3},
    {.name = "204",
     .input = "HTTP/1.1 204 No Content\r\n\r\n"sv,
     .status = 204,
     .reason = "No Content",
     .framing = kNone},
    {.name = "204 with CL 0",
     .input = "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"sv,
     .status = 204,
     .reason = "No Content",
     .framing = kNone},
    {.name = "304 with CL",
     .input = "HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n"sv,
     .status = 304,
     .reason = "Not Modified",
     .framing = kNone,
     .content_length = 100},
    {.name = "HEAD response with CL",
     .input = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"sv,
     .request_method = Method::kHead,
     .framing = kNone,
     .content_length = 100},
    {.name = "HEAD response chunked",
     .input = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"sv,
     .request_method = Method::kHead,
     .framing = kNone},
    {.name = "100 Continue",
     .input = "HTTP/1.1 100 Continue\r\n\r\n"sv,
     .status = 100,
     .reason = "Continue",
     .framing = kNone},
    {.name = "101 Switching Protocols",
     .input =
         "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"sv,
     .status = 101,
     .reason = "Switching Protocols",
     .framing = kNone},
    {.name = "CONNECT 200 is a tunnel",
     .input = "HTTP/1.1 200 Connection established\r\n\r\n"sv,
     .request_method = Method::kConnect,
     .reason = "Connection established",
     .framing = kNone},
    {.name = "CONNECT 407 has a body",
     .input = "HTTP/1.1 407 Proxy Auth\r\nContent-Length: 2\r\n\r\nno"sv,
     .request_method = Method::kConnect,
     .status = 407,
     .reason = "Proxy Auth",
     .content_length = 2,
     .body = 2},
    {.name = "HTTP/1.0 with CL",
     .input = "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"sv,
     .version = k10,
     .keep_alive = false},
    {.name = "HTTP/1.0 keep-alive",
     .input = "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"sv,
     .version = k10},
    {.name = "Connection close",
     .input = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"sv,
     .keep_alive = false},
    {.name = "empty reason", .input = "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n"sv, .reason = ""},
    {.name = "no SP before empty reason",
     .input = "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n"sv,
     .reason = ""},
    {.name = "reason with HTAB and obs-text",
     .input = "HTTP/1.1 200 O\tK \xe2\x9c\x93\r\nContent-Length: 0\r\n\r\n"sv,
     .reason = "O\tK \xe2\x9c\x93"},
    {.name = "status 999",
     .input = "HTTP/1.1 999 Odd\r\nContent-Length: 0\r\n\r\n"sv,
     .status = 999,
     .reason = "Odd"},
    {.name = "HTTP/1.2 is 1.1", .input = "HTTP/1.2 200 OK\r\nContent-Length: 0\r\n\r\n"sv},
    {.name = "CL duplicate identical",
     .input = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc"sv,
     .content_length = 3,
     .body = 3},
    {.name = "fields at the limits",
     .input = "HTTP/1.1 200 OK\r\nA: 1\r\nContent-Length: 0\r\n\r\n"sv,
     .limits = &kTightLimits},
    // A proxy cannot forward a coding it does not decode without saying so (nginx: 502).
    {.name = "TE gzip",
     .input = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"sv,
     .error = kBad},
    {.name = "TE chunked then gzip",
     .input = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"sv,
     .error = kBad},
    {.name = "TE gzip then chunked",
     .input = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"sv,
     .error = kBad},
    {.name = "TE and CL",
     .input = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"sv,
     .error = kBad},
    {.name = "TE in HTTP/1.0",
     .input = "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"sv,
     .error = kBad},
    {.name = "TE chunked twice",
     .input =
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"sv,
     .error = kBad},
    {.name = "TE chunked with parameter",
     .input = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked;a=b\r\n\r\n"sv,
     .error = kBad},
    {.name = "TE empty element",
     .input = "HTTP/1.1 200 OK\r\nTransfer-Encoding: ,chunked\r\n\r\n"sv,
     .error = kBad},
    {.name = "CL differing",
     .input = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"sv,
     .error = kBad},
    {.name = "CL invalid",
     .input = "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n"sv,
     .error = kBad},
    {.name = "CL invalid on 304",
     .input = "HTTP/1.1 304 OK\r\nContent-Length: -1\r\n\r\n"sv,
     .error = kBad},
    {.name = "HTTP/2.0", .input = "HTTP/2.0 200 OK\r\n\r\n"sv, .error = kBad},
    {.name = "two-digit status", .input = "HTTP/1.1 20 OK\r\n\r\n"sv, .error = kBad},
    {.name = "four-digit status", .input = "HTTP/1.1 2000 OK\r\n\r\n"sv, .error = kBad},
    {.name = "status below 100", .input = "HTTP/1.1 099 OK\r\n\r\n"sv, .error = kBad},
    {.name = "status not digits", .input = "HTTP/1.1 abc OK\r\n\r\n"sv, .error = kBad},
    {.name = "lowercase version", .input = "http/1.1 200 OK\r\n\r\n"sv, .error = kBad},
    {.name = "HTAB after version", .input = "HTTP/1.1\t200 OK\r\n\r\n"sv, .error = kBad},
    {.name = "leading CRLF",
     .input = "\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"sv,
     .error = kBad},
    {.name = "ICY status line", .input = "ICY 200 OK\r\n\r\n"sv, .error = kBad},
    {.name = "bare LF status line",
     .input = "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n"sv,
     .error = kBad},
    {.name = "bare CR status line",
     .input = "HTTP/1.1 200 OK\rContent-Length: 0\r\n\r\n"sv,
     .error = kBad},
    {.name = "NUL in reason", .input = "HTTP/1.1 200 O\0K\r\n\r\n"sv, .error = kBad},
    {.name = "bare LF in fields", .input = "HTTP/1.1 200 OK\r\nA: b\n\r\n"sv, .error = kBad},
    {.name = "obs-fold", .input = "HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n"sv, .error = kBad},
    {.name = "space before colon",
     .input = "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n"sv,
     .error = kBad},
    {.name = "CTL in value", .input = "HTTP/1.1 200 OK\r\nA: \x01\r\n\r\n"sv, .error = kBad},
    {.name = "Connection not tokens",
     .input = "HTTP/1.1 200 OK\r\nConnection: a b\r\n\r\n"sv,
     .error = kBad},
    {.name = "too many fields",
     .input = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"sv,
     .error = k431,
     .limits = &kTightLimits},
    {.name = "head over byte limit",
     .input = "HTTP/1.1 200 OK\r\nA: 01234567890123456789012345678901234567890123\r\n\r\n"sv,
     .error = k431,
     .limits = &kTightLimits},
    {.name = "head over byte limit before end",
     .input = "HTTP/1.1 200 OK\r\nA: 01234567890123456789012345678901234567890123456789"sv,
     .error = k431,
     .limits = &kTightLimits},
    {.name = "garbage", .input = "\x16\x03\x03"sv, .error = kBad},
};

class ResponseTableTest : public ::testing::TestWithParam<ResponseCase> {};
TEST_P(ResponseTableTest, WholeAndEveryPrefix) { CheckResponseCase(GetParam()); }
INSTANTIATE_TEST_SUITE_P(Table, ResponseTableTest, ::testing::ValuesIn(kResponseCases),
                         [](const auto& info) {
                           return testing::SanitizeName(info.param.name, info.index);
                         });

TEST(ResponseParserTest, FieldsAndStatus) {
  ResponseHead head;
  ParseError error;
  ASSERT_EQ(ParseResponseHead("HTTP/1.1 404 Not Found\r\nX-A:  1 \r\nContent-Length: 9\r\n\r\n",
                              Method::kGet, Limits{}, &head, &error),
            ParseStatus::kComplete);
  EXPECT_EQ(head.status, 404);
  EXPECT_EQ(head.reason, "Not Found");
  ASSERT_EQ(head.headers.size(), 2u);
  EXPECT_EQ(head.headers[0].name, "X-A");
  EXPECT_EQ(head.headers[0].value, "1");
  EXPECT_EQ(head.content_length, 9u);
}

TEST(ResponseParserTest, ErrorsAnswer502) {
  ResponseHead head;
  ParseError error;
  ASSERT_EQ(ParseResponseHead("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", Method::kGet,
                              Limits{}, &head, &error),
            ParseStatus::kError);
  EXPECT_EQ(StatusFor(error), 502);
  EXPECT_STREQ(head.error_detail, "invalid Content-Length");
}

}  // namespace response_parser_test
}  // namespace icaht::http

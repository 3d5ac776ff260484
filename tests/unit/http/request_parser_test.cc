// Request heads: valid shapes and syntax errors. Framing, smuggling and limits are in
// request_framing_test.cc. Every case is checked whole and as every proper prefix.

#include "http/request_parser.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "http_test_util.h"

namespace icaht::http {
namespace request_parser_test {

using namespace std::string_view_literals;
using testing::CheckRequestCase;
using testing::RequestCase;

constexpr ParseError kBad = ParseError::kBadRequest;
constexpr ParseError k505 = ParseError::kVersionNotSupported;
constexpr Version k10 = Version::kHttp10;
constexpr BodyFraming kLength = BodyFraming::kContentLength;

const Limits kTightLimits{.max_request_line = 32, .max_header_bytes = 96, .max_headers = 3};

const RequestCase kValidCases[] = {
    {.name = "simple GET", .input = "GET / HTTP/1.1\r\nHost: a\r\n\r\n"sv, .headers = 1},
    {.name = "GET with query",
     .input = "GET /p/a/t/h?q=1&r=%20 HTTP/1.1\r\nHost: a\r\n\r\n"sv,
     .target = "/p/a/t/h?q=1&r=%20"},
    {.name = "browser GET",
     .input = "GET /index.html HTTP/1.1\r\nHost: a\r\nUser-Agent: Mozilla/5.0 (X11; Linux)\r\n"
              "Accept: text/html,*/*;q=0.8\r\nAccept-Language: en-US,en;q=0.5\r\n"
              "Accept-Encoding: gzip, deflate, br\r\nCookie: a=b; c=d\r\n"
              "Connection: keep-alive\r\n\r\n"sv,
     .target = "/index.html",
     .headers = 7},
    {.name = "HEAD",
     .input = "HEAD /x HTTP/1.1\r\nHost: a\r\n\r\n"sv,
     .method = Method::kHead,
     .target = "/x"},
    {.name = "DELETE",
     .input = "DELETE /x HTTP/1.1\r\nHost: a\r\n\r\n"sv,
     .method = Method::kDelete,
     .target = "/x"},
    {.name = "PUT",
     .input = "PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nz"sv,
     .method = Method::kPut,
     .target = "/x",
     .framing = kLength,
     .content_length = 1,
     .body = 1},
    {.name = "OPTIONS asterisk",
     .input = "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"sv,
     .method = Method::kOptions,
     .target = "*",
     .form = TargetForm::kAsterisk},
    {.name = "OPTIONS origin",
     .input = "OPTIONS /x HTTP/1.1\r\nHost: a\r\n\r\n"sv,
     .method = Method::kOptions,
     .target = "/x"},
    {.name = "TRACE", .input = "TRACE / HTTP/1.1\r\nHost: a\r\n\r\n"sv, .method = Method::kTrace},
    {.name = "PATCH with body",
     .input = "PATCH /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}"sv,
     .method = Method::kPatch,
     .target = "/x",
     .framing = kLength,
     .content_length = 2,
     .body = 2},
    {.name = "POST with body",
     .input = "POST /submit HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"sv,
     .method = Method::kPost,
     .target = "/submit",
     .framing = kLength,
     .content_length = 5,
     .body = 5},
    {.name = "lowercase method is kOther",
     .input = "get / HTTP/1.1\r\nHost: a\r\n\r\n"sv,
     .method = Method::kOther},
    {.name = "extension method",
     .input = "PROPFIND /d HTTP/1.1\r\nHost: a\r\n\r\n"sv,
     .method = Method::kOther,
     .target = "/d"},
    {.name = "hyphenated method",
     .input = "M-SEARCH / HTTP/1.1\r\nHost: a\r\n\r\n"sv,
     .method = Method::kOther},
    {.name = "method of every tchar",
     .input = "!#$%&'*+-.^_`|~09azAZ / HTTP/1.1\r\nHost: a\r\n\r\n"sv,
     .method = Method::kOther},
    {.name = "absolute-form",
     .input = "GET http://a/x HTTP/1.1\r\nHost: a\r\n\r\n"sv,
     .target = "http://a/x",
     .form = TargetForm::kAbsolute},
    {.name = "absolute-form https port query",
     .input = "GET https://a.example:8443/x?y=1 HTTP/1.1\r\nHost: a\r\n\r\n"sv,
     .target = "https://a.example:8443/x?y=1",
     .form = TargetForm::kAbsolute},
    {.name = "absolute-form uppercase scheme",
     .input = "GET HTTP://A/ HTTP/1.1\r\nHost: a\r\n\r\n"sv,
     .target = "HTTP://A/",
     .form = TargetForm::kAbsolute},
    {.name = "absolute-form query without path",
     .input = "GET http://a?x HTTP/1.1\r\nHost: a\r\n\r\n"sv,
     .target = "http://a?x",
     .form = TargetForm::kAbsolute},
    {.name = "absolute-form no path",
     .input = "GET http://a HTTP/1.1\r\nHost: a\r\n\r\n"sv,
     .target = "http://a",
     .form = TargetForm::kAbsolute},
    {.name = "absolute-form IPv6",
     .input = "GET http://[::1]:8080/ HTTP/1.1\r\nHost: a\r\n\r\n"sv,
     .target = "http://[::1]:8080/",
     .form = TargetForm::kAbsolute},
    {.name = "CONNECT authority-form",
     .input = "CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n"sv,
     .method = Method::kConnect,
     .target = "a.example:443",
     .host = "a.example:443",
     .form = TargetForm::kAuthority},
    {.name = "CONNECT IPv6",
     .input = "CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: a\r\n\r\n"sv,
     .method = Method::kConnect,
     .target = "[2001:db8::1]:443",
     .form = TargetForm::kAuthority},
    {.name = "CONNECT with Content-Length 0",
     .input = "CONNECT a:443 HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"sv,
     .method = Method::kConnect,
     .target = "a:443",
     .form = TargetForm::kAuthority},
    {.name = "HTTP/1.0 without Host",
     .input = "GET / HTTP/1.0\r\n\r\n"sv,
     .version = k10,
     .keep_alive = false,
     .host = "",
     .headers = 0},
    {.name = "HTTP/1.0 keep-alive",
     .input = "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"sv,
     .version = k10,
     .keep_alive = true,
     .host = ""},
    {.name = "HTTP/1.0 keep-alive and close",
     .input = "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n"sv,
     .version = k10,
     .keep_alive = false,
     .host = ""},
    {.name = "HTTP/1.0 with Host",
     .input = "GET / HTTP/1.0\r\nHost: a\r\n\r\n"sv,
     .version = k10,
     .keep_alive = false},
    {.name = "HTTP/1.0 Content-Length",
     .input = "POST / HTTP/1.0\r\nContent-Length: 1\r\n\r\nx"sv,
     .method = Method::kPost,
     .version = k10,
     .framing = kLength,
     .content_length = 1,
     .keep_alive = false,
     .host = "",
     .body = 1},
    {.name = "HTTP/1.2 is 1.1", .input = "GET / HTTP/1.2\r\nHost: a\r\n\r\n"sv},
    {.name = "HTTP/1.9 is 1.1", .input = "GET / HTTP/1.9\r\nHost: a\r\n\r\n"sv},
    {.name = "Connection close",
     .input = "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"sv,
     .keep_alive = false},
    {.name = "Connection mixed case list",
     .input = "GET / HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive, CLOSE\r\n\r\n"sv,
     .keep_alive = false},
    {.name = "Connection empty elements",
     .input = "GET / HTTP/1.1\r\nHost: a\r\nConnection: , close ,\r\n\r\n"sv,
     .keep_alive = false},
    {.name = "Connection in two lines",
     .input = "GET / HTTP/1.1\r\nHost: a\r\nConnection: x-foo\r\nConnection: close\r\n\r\n"sv,
     .keep_alive = false},
    {.name = "websocket upgrade",
     .input = "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"sv,
     .target = "/ws",
     .upgrade = true},
    {.name = "h2c upgrade in list",
     .input =
         "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, upgrade\r\nUpgrade: h2c\r\n\r\n"sv,
     .upgrade = true},
    {.name = "Connection upgrade without Upgrade",
     .input = "GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n\r\n"sv},
    {.name = "Upgrade without Connection upgrade",
     .input = "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n"sv},
    {.name = "HTTP/1.0 upgrade ignored",
     .input = "GET / HTTP/1.0\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n"sv,
     .version = k10,
     .keep_alive = false},
    {.name = "Expect 100-continue",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"sv,
     .method = Method::kPost,
     .framing = kLength,
     .content_length = 5,
     .expect_continue = true},
    {.name = "Expect case-insensitive",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-CONTINUE\r\nContent-Length: 0\r\n\r\n"sv,
     .method = Method::kPost,
     .framing = kLength,
     .expect_continue = true},
    {.name = "Expect ignored in HTTP/1.0",
     .input = "POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n"sv,
     .method = Method::kPost,
     .version = k10,
     .keep_alive = false,
     .host = ""},
    {.name = "Expect other value",
     .input = "GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continuex\r\n\r\n"sv},
    {.name = "one leading CRLF", .input = "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"sv},
    {.name = "four leading CRLF", .input = "\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"sv},
    {.name = "value OWS trimmed",
     .input = "GET / HTTP/1.1\r\nHost: \t a \t \r\nX:   b c  \r\n\r\n"sv},
    {.name = "HTAB inside value", .input = "GET / HTTP/1.1\r\nHost: a\r\nX: b\tc\r\n\r\n"sv},
    {.name = "empty values",
     .input = "GET / HTTP/1.1\r\nHost: a\r\nX:\r\nY: \r\n\r\n"sv,
     .headers = 3},
    {.name = "obs-text in value", .input = "GET / HTTP/1.1\r\nHost: a\r\nX: \x80\xff\r\n\r\n"sv},
    {.name = "field name of every tchar",
     .input = "GET / HTTP/1.1\r\nHost: a\r\n!#$%&'*+-.^_`|~09azAZ: v\r\n\r\n"sv},
    {.name = "colons and quotes in value",
     .input = "GET / HTTP/1.1\r\nHost: a\r\nX: \"a:b\", c=d; e\r\n\r\n"sv},
    {.name = "uppercase Host name", .input = "GET / HTTP/1.1\r\nHOST: a\r\n\r\n"sv},
    {.name = "Host with port",
     .input = "GET / HTTP/1.1\r\nHost: a:8080\r\n\r\n"sv,
     .host = "a:8080"},
    {.name = "Host IPv4",
     .input = "GET / HTTP/1.1\r\nHost: 127.0.0.1:80\r\n\r\n"sv,
     .host = "127.0.0.1:80"},
    {.name = "Host IPv6",
     .input = "GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n"sv,
     .host = "[::1]:80"},
    {.name = "Host pct-encoded",
     .input = "GET / HTTP/1.1\r\nHost: a%2eb\r\n\r\n"sv,
     .host = "a%2eb"},
    {.name = "Host sub-delims",
     .input = "GET / HTTP/1.1\r\nHost: a!$&'()*+,;=b\r\n\r\n"sv,
     .host = "a!$&'()*+,;=b"},
    {.name = "target with unusual VCHARs",
     .input = "GET /a{b}|c^`\"<>\\[]'! HTTP/1.1\r\nHost: a\r\n\r\n"sv,
     .target = "/a{b}|c^`\"<>\\[]'!"},
    // Browsers and tools send these unencoded; nginx forwards them as they are.
    {.name = "raw UTF-8 target",
     .input = "GET /\xd1\x81\xd1\x82?q=\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n"sv,
     .target = "/\xd1\x81\xd1\x82?q=\xc3\xa9"},
    {.name = "fragment in target",
     .input = "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n"sv,
     .target = "/a#b"},
    {.name = "pipelined second request is body",
     .input = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"sv,
     .target = "/1",
     .body = 28},
    {.name = "partial body present",
     .input = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhe"sv,
     .method = Method::kPost,
     .framing = kLength,
     .content_length = 5,
     .body = 2},
    {.name = "request line at the limit",
     .input = "GET /aaaaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: a\r\n\r\n"sv,
     .target = "/aaaaaaaaaaaaaaaaaa",
     .limits = &kTightLimits},
    {.name = "head at the byte limit",
     .input = "GET / HTTP/1.1\r\nHost: a\r\nX: "
              "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
              "aaaaaa\r\n\r\n"sv,
     .limits = &kTightLimits},
    {.name = "header count at the limit",
     .input = "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\nY: 2\r\n\r\n"sv,
     .limits = &kTightLimits},
};

const RequestCase kSyntaxErrorCases[] = {
    {.name = "HTTP/0.9 without version", .input = "GET /\r\n\r\n"sv, .error = kBad},
    {.name = "HTTP/2.0", .input = "GET / HTTP/2.0\r\nHost: a\r\n\r\n"sv, .error = k505},
    {.name = "HTTP/3.0", .input = "GET / HTTP/3.0\r\nHost: a\r\n\r\n"sv, .error = k505},
    {.name = "explicit HTTP/0.9", .input = "GET / HTTP/0.9\r\nHost: a\r\n\r\n"sv, .error = k505},
    {.name = "HTTP/1.10", .input = "GET / HTTP/1.10\r\nHost: a\r\n\r\n"sv, .error = kBad},
    {.name = "lowercase version", .input = "GET / http/1.1\r\nHost: a\r\n\r\n"sv, .error = kBad},
    {.name = "version without minor", .input = "GET / HTTP/1\r\nHost: a\r\n\r\n"sv, .error = kBad},
    {.name = "HTTP/2 without minor", .input = "GET / HTTP/2\r\nHost: a\r\n\r\n"sv, .error = kBad},
    {.name = "trailing SP after version",
     .input = "GET / HTTP/1.1 \r\nHost: a\r\n\r\n"sv,
     .error = kBad},
    {.name = "letter minor version", .input = "GET / HTTP/1.x\r\nHost: a\r\n\r\n"sv, .error = kBad},
    {.name = "HTTPS version name", .input = "GET / HTTPS/1.1\r\nHost: a\r\n\r\n"sv, .error = kBad},
    {.name = "double SP after method",
     .input = "GET  / HTTP/1.1\r\nHost: a\r\n\r\n"sv,
     .error = kBad},
    {.name = "double SP before version",
     .input = "GET /  HTTP/1.1\r\nHost: a\r\n\r\n"sv,
     .error = kBad},
    {.name = "HTAB separator", .input = "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n"sv, .error = kBad},
    {.name = "leading SP", .input = " GET / HTTP/1.1\r\nHost: a\r\n\r\n"sv, .error = kBad},
    {.name = "invalid method char", .input = "G@T / HTTP/1.1\r\nHost: a\r\n\r\n"sv, .error = kBad},
    {.name = "method with paren", .input = "GE(T / HTTP/1.1\r\nHost: a\r\n\r\n"sv, .error = kBad},
    {.name = "non-ASCII method",
     .input = "G\xc3\x89T / HTTP/1.1\r\nHost: a\r\n\r\n"sv,
     .error = kBad},
    {.name = "DEL in target", .input = "GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n"sv, .error = kBad},
    {.name = "NUL in target", .input = "GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n"sv, .error = kBad},
    {.name = "HTAB in target", .input = "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n"sv, .error = kBad},
    {.name = "target without slash",
     .input = "GET foo HTTP/1.1\r\nHost: a\r\n\r\n"sv,
     .error = kBad},
    {.name = "asterisk with GET", .input = "GET * HTTP/1.1\r\nHost: a\r\n\r\n"sv, .error = kBad},
    {.name = "asterisk with suffix",
     .input = "OPTIONS *x HTTP/1.1\r\nHost: a\r\n\r\n"sv,
     .error = kBad},
    {.name = "CONNECT origin-form",
     .input = "CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n"sv,
     .error = kBad},
    {.name = "CONNECT without port",
     .input = "CONNECT a HTTP/1.1\r\nHost: a\r\n\r\n"sv,
     .error = kBad},
    {.name = "CONNECT empty port",
     .input = "CONNECT a: HTTP/1.1\r\nHost: a\r\n\r\n"sv,
     .error = kBad},
    {.name = "CONNECT port too big",
     .input = "CONNECT a:65536 HTTP/1.1\r\nHost: a\r\n\r\n"sv,
     .error = kBad},
    {.name = "CONNECT absolute-form",
     .input = "CONNECT http://a:80/ HTTP/1.1\r\nHost: a\r\n\r\n"sv,
     .error = kBad},
    {.name = "ftp absolute-form",
     .input = "GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n"sv,
     .error = kBad},
    {.name = "empty authority",
     .input = "GET http:// HTTP/1.1\r\nHost: a\r\n\r\n"sv,
     .error = kBad},
    {.name = "empty authority with path",
     .input = "GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n"sv,
     .error = kBad},
    {.name = "userinfo in absolute-form",
     .input = "GET http://user@a/ HTTP/1.1\r\nHost: a\r\n\r\n"sv,
     .error = kBad},
    {.name = "five leading CRLF",
     .input = "\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"sv,
     .error = kBad},
    {.name = "leading bare LF", .input = "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"sv, .error = kBad},
    {.name = "leading bare CR", .input = "\r\rGET / HTTP/1.1\r\nHost: a\r\n\r\n"sv, .error = kBad},
    {.name = "bare LF after request line",
     .input = "GET / HTTP/1.1\nHost: a\r\n\r\n"sv,
     .error = kBad},
    {.name = "bare LF after field",
     .input = "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n"sv,
     .error = kBad},
    {.name = "bare LF final line", .input = "GET / HTTP/1.1\r\nHost: a\r\n\n"sv, .error = kBad},
    {.name = "all bare LF", .input = "GET / HTTP/1.1\nHost: a\n\n"sv, .error = kBad},
    {.name = "bare CR in request line",
     .input = "GET / HTTP/1.1\rHost: a\r\n\r\n"sv,
     .error = kBad},
    {.name = "bare CR in value",
     .input = "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n"sv,
     .error = kBad},
    {.name = "bare CR final line", .input = "GET / HTTP/1.1\r\nHost: a\r\n\r\r\n"sv, .error = kBad},
    {.name = "CR CR LF line end", .input = "GET / HTTP/1.1\r\nHost: a\r\r\n\r\n"sv, .error = kBad},
    {.name = "NUL in value",
     .input = "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n"sv,
     .error = kBad},
    {.name = "NUL in name",
     .input = "GET / HTTP/1.1\r\nHost: a\r\nX\0: b\r\n\r\n"sv,
     .error = kBad},
    {.name = "VT in value",
     .input = "GET / HTTP/1.1\r\nHost: a\r\nX: a\vb\r\n\r\n"sv,
     .error = kBad},
    {.name = "DEL in value",
     .input = "GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f"
              "b\r\n\r\n"sv,
     .error = kBad},
    {.name = "ESC in value",
     .input = "GET / HTTP/1.1\r\nHost: a\r\nX: \x1b[0m\r\n\r\n"sv,
     .error = kBad},
    {.name = "obs-fold SP",
     .input = "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n"sv,
     .error = kBad},
    {.name = "obs-fold HTAB",
     .input = "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\tb\r\n\r\n"sv,
     .error = kBad},
    {.name = "whitespace before first field",
     .input = "GET / HTTP/1.1\r\n Host: a\r\n\r\n"sv,
     .error = kBad},
    {.name = "space before colon", .input = "GET / HTTP/1.1\r\nHost : a\r\n\r\n"sv, .error = kBad},
    {.name = "HTAB before colon", .input = "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n"sv, .error = kBad},
    {.name = "empty field name",
     .input = "GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n"sv,
     .error = kBad},
    {.name = "paren in field name",
     .input = "GET / HTTP/1.1\r\nHost: a\r\nX(y): b\r\n\r\n"sv,
     .error = kBad},
    {.name = "space inside field name",
     .input = "GET / HTTP/1.1\r\nHost: a\r\nX Y: b\r\n\r\n"sv,
     .error = kBad},
    {.name = "field line without colon",
     .input = "GET / HTTP/1.1\r\nHost: a\r\nXY\r\n\r\n"sv,
     .error = kBad},
    {.name = "missing Host", .input = "GET / HTTP/1.1\r\nX: a\r\n\r\n"sv, .error = kBad},
    {.name = "no fields at all", .input = "GET / HTTP/1.1\r\n\r\n"sv, .error = kBad},
    {.name = "duplicate Host",
     .input = "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"sv,
     .error = kBad},
    {.name = "duplicate Host other case",
     .input = "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"sv,
     .error = kBad},
    {.name = "duplicate Host HTTP/1.0",
     .input = "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"sv,
     .error = kBad},
    {.name = "Host with space", .input = "GET / HTTP/1.1\r\nHost: a b\r\n\r\n"sv, .error = kBad},
    {.name = "Host with userinfo", .input = "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n"sv, .error = kBad},
    {.name = "Host with slash", .input = "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"sv, .error = kBad},
    {.name = "empty Host", .input = "GET / HTTP/1.1\r\nHost: \r\n\r\n"sv, .error = kBad},
    {.name = "empty Host HTTP/1.0", .input = "GET / HTTP/1.0\r\nHost:\r\n\r\n"sv, .error = kBad},
    {.name = "Host bad port", .input = "GET / HTTP/1.1\r\nHost: a:x\r\n\r\n"sv, .error = kBad},
    {.name = "Host unclosed IPv6",
     .input = "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n"sv,
     .error = kBad},
    {.name = "Host bad escape", .input = "GET / HTTP/1.1\r\nHost: a%zz\r\n\r\n"sv, .error = kBad},
    {.name = "Host with comma list",
     .input = "GET / HTTP/1.1\r\nHost: a, b\r\n\r\n"sv,
     .error = kBad},
    {.name = "Connection not a token list",
     .input = "GET / HTTP/1.1\r\nHost: a\r\nConnection: close x\r\n\r\n"sv,
     .error = kBad},
    {.name = "TLS ClientHello",
     .input = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"sv,
     .error = kBad},
    {.name = "single NUL", .input = "\0"sv, .error = kBad},
    {.name = "HTTP/2 preface", .input = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"sv, .error = k505},
};

class RequestValidTest : public ::testing::TestWithParam<RequestCase> {};
TEST_P(RequestValidTest, WholeAndEveryPrefix) { CheckRequestCase(GetParam()); }
INSTANTIATE_TEST_SUITE_P(Table, RequestValidTest, ::testing::ValuesIn(kValidCases),
                         [](const auto& info) {
                           return testing::SanitizeName(info.param.name, info.index);
                         });

class RequestSyntaxErrorTest : public ::testing::TestWithParam<RequestCase> {};
TEST_P(RequestSyntaxErrorTest, WholeAndEveryPrefix) { CheckRequestCase(GetParam()); }
INSTANTIATE_TEST_SUITE_P(Table, RequestSyntaxErrorTest, ::testing::ValuesIn(kSyntaxErrorCases),
                         [](const auto& info) {
                           return testing::SanitizeName(info.param.name, info.index);
                         });

TEST(RequestParserTest, FieldsKeepOrderCaseAndTrimmedValues) {
  const std::string_view input =
      "GET / HTTP/1.1\r\nHost: \t a \t \r\nX-Foo:   b c  \r\nx-foo:\r\n\r\n";
  RequestHead head;
  ParseError error;
  ASSERT_EQ(ParseRequestHead(input, Limits{}, &head, &error), ParseStatus::kComplete);
  ASSERT_EQ(head.headers.size(), 3u);
  EXPECT_EQ(head.headers[0].name, "Host");
  EXPECT_EQ(head.headers[0].value, "a");
  EXPECT_EQ(head.headers[1].name, "X-Foo");
  EXPECT_EQ(head.headers[1].value, "b c");
  EXPECT_EQ(head.headers[2].name, "x-foo");
  EXPECT_EQ(head.headers[2].value, "");
  EXPECT_EQ(head.method, "GET");
  EXPECT_STREQ(head.error_detail, "");
}

TEST(RequestParserTest, ReusedHeadDoesNotReallocate) {
  const std::string_view input =
      "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n";
  RequestHead head;
  ParseError error;
  ASSERT_EQ(ParseRequestHead(input, Limits{}, &head, &error), ParseStatus::kComplete);
  const Header* storage = head.headers.data();
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(ParseRequestHead(input, Limits{}, &head, &error), ParseStatus::kComplete);
  }
  EXPECT_EQ(head.headers.data(), storage);
  EXPECT_EQ(head.headers.size(), 6u);
}

TEST(RequestParserTest, ErrorDetailExplains) {
  RequestHead head;
  ParseError error;
  ASSERT_EQ(ParseRequestHead("GET / HTTP/1.1\r\nHost : a\r\n\r\n", Limits{}, &head, &error),
            ParseStatus::kError);
  EXPECT_STREQ(head.error_detail, "whitespace between field name and colon");
  EXPECT_EQ(StatusFor(error), 400);
}

TEST(RequestParserTest, GarbageIsRefusedBeforeTheHeadEnds) {
  // A TLS handshake on the plain port must not wait for a CRLFCRLF that never comes.
  RequestHead head;
  ParseError error;
  EXPECT_EQ(ParseRequestHead("\x16\x03\x01", Limits{}, &head, &error), ParseStatus::kError);
  EXPECT_EQ(ParseRequestHead("GET / HTTP/1.1\nHost", Limits{}, &head, &error), ParseStatus::kError);
}

// A 64 KiB head re-fed one byte at a time stays cheap: the pre-check is a memchr per line, and
// the full parse runs only when the head may be complete.
TEST(RequestParserTest, ByteAtATimeLargeHeadIsNotPathological) {
  std::string input = "GET / HTTP/1.1\r\nHost: a\r\n";
  while (input.size() < 60 * 1024) input += "X-Filler: " + std::string(80, 'v') + "\r\n";
  input += "\r\n";
  Limits limits;
  limits.max_headers = 1000;
  RequestHead head;
  ParseError error;
  const auto start = std::chrono::steady_clock::now();
  for (size_t n = 1; n < input.size(); ++n) {
    ASSERT_EQ(ParseRequestHead(std::string_view(input).substr(0, n), limits, &head, &error),
              ParseStatus::kIncomplete);
  }
  ASSERT_EQ(ParseRequestHead(input, limits, &head, &error), ParseStatus::kComplete);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  // Generous bound (sanitizer builds are slow); a full validation per call takes far longer.
  EXPECT_LT(std::chrono::duration_cast<std::chrono::seconds>(elapsed).count(), 20);
}

}  // namespace request_parser_test
}  // namespace icaht::http

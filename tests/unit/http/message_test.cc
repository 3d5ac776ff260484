#include "http/message.h"

#include <gtest/gtest.h>

#include <vector>

namespace icaht::http {
namespace message_test {

TEST(StatusForTest, EveryError) {
  EXPECT_EQ(StatusFor(ParseError::kBadRequest), 400);
  EXPECT_EQ(StatusFor(ParseError::kUriTooLong), 414);
  EXPECT_EQ(StatusFor(ParseError::kHeadersTooLarge), 431);
  EXPECT_EQ(StatusFor(ParseError::kVersionNotSupported), 505);
  EXPECT_EQ(StatusFor(ParseError::kNotImplemented), 501);
  EXPECT_EQ(StatusFor(ParseError::kBadResponse), 502);
  EXPECT_EQ(StatusFor(ParseError::kNone), 500);
}

TEST(EqualsIgnoreCaseTest, AsciiOnly) {
  EXPECT_TRUE(EqualsIgnoreCase("Content-Length", "content-LENGTH"));
  EXPECT_TRUE(EqualsIgnoreCase("", ""));
  EXPECT_FALSE(EqualsIgnoreCase("a", "ab"));
  EXPECT_FALSE(EqualsIgnoreCase("Host", "Hosu"));
  // Only A-Z fold: '@' (0x40) and '`' (0x60), '[' and '{' differ by 0x20 but are not letters.
  EXPECT_FALSE(EqualsIgnoreCase("@", "`"));
  EXPECT_FALSE(EqualsIgnoreCase("[", "{"));
  EXPECT_FALSE(EqualsIgnoreCase("\xc9", "\xe9"));
  EXPECT_FALSE(EqualsIgnoreCase("-", "\r"));
}

TEST(IsHopByHopTest, Names) {
  for (const char* name : {"Connection", "keep-alive", "Proxy-Connection", "TE", "te", "Trailer",
                           "TRANSFER-ENCODING", "Upgrade"}) {
    EXPECT_TRUE(IsHopByHop(name)) << name;
  }
  for (const char* name : {"Host", "Content-Length", "Trailers", "T", "X-Connection", "Upgrades",
                           "Proxy-Authorization", ""}) {
    EXPECT_FALSE(IsHopByHop(name)) << name;
  }
}

TEST(ConnectionHasTokenTest, ListsAndCase) {
  const std::vector<Header> headers = {
      {"Host", "close"},
      {"connection", "keep-alive , X-Secret\t"},
      {"Connection", "Upgrade"},
  };
  EXPECT_TRUE(ConnectionHasToken(headers, "x-secret"));
  EXPECT_TRUE(ConnectionHasToken(headers, "KEEP-ALIVE"));
  EXPECT_TRUE(ConnectionHasToken(headers, "upgrade"));
  EXPECT_FALSE(ConnectionHasToken(headers, "close"));  // only in Host
  EXPECT_FALSE(ConnectionHasToken(headers, "x-secre"));
  EXPECT_FALSE(ConnectionHasToken({}, "close"));
}

TEST(ClearTest, ResetsEverythingButCapacity) {
  RequestHead r;
  r.method = "GET";
  r.method_id = Method::kGet;
  r.target = "/";
  r.target_form = TargetForm::kAbsolute;
  r.version = Version::kHttp10;
  r.headers.assign(10, Header{"a", "b"});
  r.framing = BodyFraming::kChunked;
  r.content_length = 5;
  r.host = "h";
  r.keep_alive = false;
  r.expect_continue = true;
  r.upgrade = true;
  r.head_size = 9;
  r.error_detail = "x";
  const size_t capacity = r.headers.capacity();
  r.Clear();
  EXPECT_TRUE(r.method.empty());
  EXPECT_EQ(r.method_id, Method::kOther);
  EXPECT_TRUE(r.target.empty());
  EXPECT_EQ(r.target_form, TargetForm::kOrigin);
  EXPECT_EQ(r.version, Version::kHttp11);
  EXPECT_TRUE(r.headers.empty());
  EXPECT_EQ(r.headers.capacity(), capacity);
  EXPECT_EQ(r.framing, BodyFraming::kNone);
  EXPECT_EQ(r.content_length, 0u);
  EXPECT_TRUE(r.host.empty());
  EXPECT_TRUE(r.keep_alive);
  EXPECT_FALSE(r.expect_continue);
  EXPECT_FALSE(r.upgrade);
  EXPECT_EQ(r.head_size, 0u);
  EXPECT_STREQ(r.error_detail, "");

  ResponseHead s;
  s.version = Version::kHttp10;
  s.status = 200;
  s.reason = "OK";
  s.headers.assign(3, Header{"a", "b"});
  s.framing = BodyFraming::kUntilClose;
  s.content_length = 3;
  s.keep_alive = false;
  s.head_size = 4;
  s.error_detail = "y";
  s.Clear();
  EXPECT_EQ(s.version, Version::kHttp11);
  EXPECT_EQ(s.status, 0);
  EXPECT_TRUE(s.reason.empty());
  EXPECT_TRUE(s.headers.empty());
  EXPECT_EQ(s.framing, BodyFraming::kNone);
  EXPECT_EQ(s.content_length, 0u);
  EXPECT_TRUE(s.keep_alive);
  EXPECT_EQ(s.head_size, 0u);
  EXPECT_STREQ(s.error_detail, "");
}

}  // namespace message_test
}  // namespace icaht::http

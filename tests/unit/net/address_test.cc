#include "net/address.h"

#include <arpa/inet.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace icaht::net {
namespace address_test {

using ::testing::HasSubstr;

std::string ErrorOf(const absl::StatusOr<Address>& result) {
  EXPECT_FALSE(result.ok());
  return std::string(result.status().message());
}

TEST(AddressTest, ParsesIpv4) {
  absl::StatusOr<Address> a = Address::Parse("10.1.2.3:8080");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->family(), AF_INET);
  EXPECT_EQ(a->port(), 8080);
  EXPECT_EQ(a->length(), sizeof(sockaddr_in));
  EXPECT_EQ(a->HostString(), "10.1.2.3");
  EXPECT_EQ(a->ToString(), "10.1.2.3:8080");
  EXPECT_TRUE(a->valid());
}

TEST(AddressTest, ParsesBracketedIpv6) {
  absl::StatusOr<Address> a = Address::Parse("[::1]:443");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->family(), AF_INET6);
  EXPECT_EQ(a->port(), 443);
  EXPECT_EQ(a->length(), sizeof(sockaddr_in6));
  EXPECT_EQ(a->HostString(), "::1");
  EXPECT_EQ(a->ToString(), "[::1]:443");

  absl::StatusOr<Address> b = Address::Parse("[2001:db8::a:1]:65535");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->ToString(), "[2001:db8::a:1]:65535");
}

TEST(AddressTest, LocalhostIsLoopbackV4) {
  absl::StatusOr<Address> a = Address::Parse("localhost:9901");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->ToString(), "127.0.0.1:9901");
  EXPECT_EQ(*a, *Address::Parse("127.0.0.1:9901"));
}

TEST(AddressTest, PortBounds) {
  EXPECT_TRUE(Address::Parse("127.0.0.1:1").ok());
  EXPECT_TRUE(Address::Parse("127.0.0.1:65535").ok());
  EXPECT_THAT(ErrorOf(Address::Parse("127.0.0.1:0")), HasSubstr("port must be 1..65535"));
  EXPECT_THAT(ErrorOf(Address::Parse("127.0.0.1:65536")), HasSubstr("port must be 1..65535"));
  EXPECT_THAT(ErrorOf(Address::Parse("127.0.0.1:-1")), HasSubstr("port must be 1..65535"));
  EXPECT_THAT(ErrorOf(Address::Parse("127.0.0.1:+80")), HasSubstr("port must be 1..65535"));
  EXPECT_THAT(ErrorOf(Address::Parse("127.0.0.1:80x")), HasSubstr("port must be 1..65535"));
  EXPECT_THAT(ErrorOf(Address::Parse("127.0.0.1:")), HasSubstr("port must be 1..65535"));
  EXPECT_THAT(ErrorOf(Address::Parse("127.0.0.1:0000080")), HasSubstr("port must be 1..65535"));
}

TEST(AddressTest, ParseListenAcceptsPortZero) {
  absl::StatusOr<Address> a = Address::ParseListen("127.0.0.1:0");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->port(), 0);
  EXPECT_THAT(ErrorOf(Address::ParseListen("127.0.0.1:70000")), HasSubstr("port must be 0..65535"));
}

TEST(AddressTest, RefusesMalformedInput) {
  EXPECT_THAT(ErrorOf(Address::Parse("")), HasSubstr("empty"));
  EXPECT_THAT(ErrorOf(Address::Parse("127.0.0.1")), HasSubstr("missing port"));
  EXPECT_THAT(ErrorOf(Address::Parse(":80")), HasSubstr("missing host"));
  EXPECT_THAT(ErrorOf(Address::Parse("example.com:80")),
              HasSubstr("'example.com' is not an IP address"));
  EXPECT_THAT(ErrorOf(Address::Parse("256.1.1.1:80")), HasSubstr("is not an IP address"));
  EXPECT_THAT(ErrorOf(Address::Parse("1.2.3:80")), HasSubstr("is not an IP address"));
  EXPECT_THAT(ErrorOf(Address::Parse("::1:80")), HasSubstr("needs brackets"));
  EXPECT_THAT(ErrorOf(Address::Parse("[::1]")), HasSubstr("missing port"));
  EXPECT_THAT(ErrorOf(Address::Parse("[::1:80")), HasSubstr("missing ']'"));
  EXPECT_THAT(ErrorOf(Address::Parse("[127.0.0.1]:80")), HasSubstr("only for IPv6"));
  EXPECT_THAT(ErrorOf(Address::Parse("[zz::1]:80")), HasSubstr("is not an IP address"));
  // The input is quoted so that the user sees what was refused.
  EXPECT_THAT(ErrorOf(Address::Parse("foo:80")), HasSubstr("address 'foo:80'"));
}

TEST(AddressTest, LongInputIsCutInMessages) {
  std::string long_host(500, 'a');
  std::string message = ErrorOf(Address::Parse(long_host + ":80"));
  EXPECT_LT(message.size(), 300u);
  EXPECT_THAT(message, HasSubstr("..."));
}

TEST(AddressTest, FromIp) {
  absl::StatusOr<Address> v4 = Address::FromIp("127.0.0.1", 7001);
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->ToString(), "127.0.0.1:7001");
  absl::StatusOr<Address> v6 = Address::FromIp("::", 0);
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->ToString(), "[::]:0");
  absl::StatusOr<Address> bracketed = Address::FromIp("[::1]", 5);
  ASSERT_TRUE(bracketed.ok());
  EXPECT_EQ(bracketed->ToString(), "[::1]:5");
  EXPECT_EQ(Address::FromIp("localhost", 1)->ToString(), "127.0.0.1:1");
  EXPECT_THAT(ErrorOf(Address::FromIp("example.com", 1)), HasSubstr("is not an IP address"));
  EXPECT_THAT(ErrorOf(Address::FromIp("127.0.0.1:80", 1)), HasSubstr("is not an IP address"));
  EXPECT_THAT(ErrorOf(Address::FromIp("", 1)), HasSubstr("is not an IP address"));
}

TEST(AddressTest, FromSockaddrRoundTrip) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(1234);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  Address a = Address::FromSockaddr(reinterpret_cast<const sockaddr*>(&sin), sizeof(sin));
  EXPECT_EQ(a.ToString(), "127.0.0.1:1234");
  EXPECT_EQ(a, *Address::Parse("127.0.0.1:1234"));

  Address copy = Address::FromSockaddr(a.sockaddr_ptr(), a.length());
  EXPECT_EQ(copy, a);

  // Too short, or an unsupported family: an invalid address, not a crash.
  EXPECT_FALSE(Address::FromSockaddr(reinterpret_cast<const sockaddr*>(&sin), 4).valid());
  sockaddr_storage unix_like{};
  unix_like.ss_family = AF_UNIX;
  EXPECT_FALSE(
      Address::FromSockaddr(reinterpret_cast<const sockaddr*>(&unix_like), sizeof(unix_like))
          .valid());
}

TEST(AddressTest, SetPortAndEquality) {
  Address a = *Address::Parse("[::1]:80");
  a.set_port(81);
  EXPECT_EQ(a.port(), 81);
  EXPECT_EQ(a, *Address::Parse("[::1]:81"));
  EXPECT_FALSE(a == *Address::Parse("[::1]:80"));
  EXPECT_FALSE(*Address::Parse("127.0.0.1:80") == *Address::Parse("127.0.0.2:80"));
  EXPECT_FALSE(*Address::Parse("127.0.0.1:80") == *Address::Parse("[::1]:80"));
  EXPECT_EQ(Address(), Address());
  EXPECT_FALSE(Address().valid());
  EXPECT_EQ(Address().port(), 0);
}

TEST(AddressTest, ReachesListenerOn) {
  auto a = [](std::string_view text) { return *Address::Parse(text); };
  auto ip = [](std::string_view text) { return *Address::FromIp(text, 0); };
  EXPECT_TRUE(a("127.0.0.1:7001").ReachesListenerOn(ip("127.0.0.1")));
  EXPECT_TRUE(a("localhost:7001").ReachesListenerOn(ip("127.0.0.1")));
  EXPECT_TRUE(a("0.0.0.0:7001").ReachesListenerOn(ip("127.0.0.1")));  // connects to loopback
  EXPECT_FALSE(a("127.0.0.2:7001").ReachesListenerOn(ip("127.0.0.1")));
  EXPECT_FALSE(a("10.0.0.5:7001").ReachesListenerOn(ip("127.0.0.1")));
  EXPECT_TRUE(a("127.0.0.2:7001").ReachesListenerOn(ip("0.0.0.0")));
  EXPECT_TRUE(a("10.0.0.5:7001").ReachesListenerOn(ip("10.0.0.5")));
  EXPECT_FALSE(a("127.0.0.1:7001").ReachesListenerOn(ip("10.0.0.5")));
  EXPECT_TRUE(a("[::1]:7001").ReachesListenerOn(ip("::")));
  EXPECT_TRUE(a("[::]:7001").ReachesListenerOn(ip("::1")));
  EXPECT_FALSE(a("[::1]:7001").ReachesListenerOn(ip("127.0.0.1")));  // other family
  EXPECT_FALSE(a("127.0.0.1:7001").ReachesListenerOn(ip("::")));     // v6-only listeners
}

}  // namespace address_test
}  // namespace icaht::net

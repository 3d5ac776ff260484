#include "net/host_pattern.h"

#include <gtest/gtest.h>

namespace icaht::net {
namespace host_pattern_test {

bool Match(std::string_view pattern, std::string_view host, uint16_t port = 443) {
  absl::StatusOr<HostPattern> p = HostPattern::Parse(pattern);
  EXPECT_TRUE(p.ok()) << pattern << ": " << p.status();
  return p.ok() && p->Matches(host, port);
}

TEST(HostPatternTest, ExactNamesIgnoreCase) {
  EXPECT_TRUE(Match("api.example.com", "api.example.com"));
  EXPECT_TRUE(Match("API.Example.com", "api.EXAMPLE.com"));
  EXPECT_FALSE(Match("api.example.com", "example.com"));
  EXPECT_FALSE(Match("api.example.com", "xapi.example.com"));
}

TEST(HostPatternTest, WildcardsCoverSubdomainsOnly) {
  EXPECT_TRUE(Match("*.example.com", "a.example.com"));
  EXPECT_TRUE(Match("*.example.com", "b.a.example.com"));
  EXPECT_FALSE(Match("*.example.com", "example.com"));
  EXPECT_FALSE(Match("*.example.com", "badexample.com"));
}

TEST(HostPatternTest, PortsAndIpLiterals) {
  EXPECT_TRUE(Match("127.0.0.1:9000", "127.0.0.1", 9000));
  EXPECT_FALSE(Match("127.0.0.1:9000", "127.0.0.1", 9001));
  EXPECT_TRUE(Match("127.0.0.1", "127.0.0.1", 1));
  EXPECT_TRUE(Match("[::1]:80", "::1", 80));
  EXPECT_TRUE(Match("[::1]", "::1", 8080));
  EXPECT_TRUE(Match("*.example.com:8443", "x.example.com", 8443));
  EXPECT_FALSE(Match("*.example.com:8443", "x.example.com", 443));
}

TEST(HostPatternTest, RefusesWhatIsNoPattern) {
  for (std::string_view bad :
       {"", "*", "*.", "a..b", "-a.com", "a-.com", "a b", "::1", "[::1", "x.com:0", "x.com:70000",
        "x.com:", "*x.com", "a.*.com", "[1.2.3.4]"}) {
    EXPECT_FALSE(HostPattern::Parse(bad).ok()) << bad;
  }
}

TEST(HostPatternTest, HostNameSyntax) {
  EXPECT_TRUE(IsValidHostName("billing"));
  EXPECT_TRUE(IsValidHostName("a-b.c9.example"));
  EXPECT_FALSE(IsValidHostName("a_b"));
  EXPECT_FALSE(IsValidHostName(std::string(64, 'a')));
  EXPECT_FALSE(IsValidHostName("a."));
}

}  // namespace host_pattern_test
}  // namespace icaht::net

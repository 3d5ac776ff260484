#include "http/field_syntax.h"

#include <gtest/gtest.h>

#include <string>

namespace icaht::http {
namespace field_syntax_test {

// The vectorised scanners must agree with the character table at every alignment and for every
// byte value.
TEST(FieldSyntaxTest, VectorScannersMatchTables) {
  for (int bad = 0; bad < 256; ++bad) {
    for (size_t pos = 0; pos < 40; ++pos) {
      std::string s(40, 'a');
      s[pos] = static_cast<char>(bad);
      const char* b = s.data();
      const char* e = b + s.size();
      const size_t field = static_cast<size_t>(SkipFieldChars(b, e) - b);
      const size_t target = static_cast<size_t>(SkipTargetChars(b, e) - b);
      EXPECT_EQ(field, HasClass(static_cast<char>(bad), kFieldCharBit) ? s.size() : pos) << bad;
      EXPECT_EQ(target, HasClass(static_cast<char>(bad), kTargetBit) ? s.size() : pos) << bad;
    }
  }
}

TEST(FieldSyntaxTest, CharClasses) {
  for (int c = 0; c < 256; ++c) {
    const char ch = static_cast<char>(c);
    const bool ctl = c < 0x20 || c == 0x7f;
    EXPECT_EQ(HasClass(ch, kFieldCharBit), !ctl || c == '\t') << c;
    EXPECT_EQ(HasClass(ch, kTargetBit), (c > 0x20 && c < 0x7f) || c >= 0x80) << c;
    const bool delimiter = std::string("\"(),/:;<=>?@[\\]{}").find(ch) != std::string::npos;
    EXPECT_EQ(IsTchar(ch), c > 0x20 && c < 0x7f && !delimiter) << c;
  }
  EXPECT_TRUE(IsToken("chunked"));
  EXPECT_FALSE(IsToken(""));
  EXPECT_FALSE(IsToken("a b"));
  EXPECT_EQ(HexValue('f'), 15);
  EXPECT_EQ(HexValue('G'), -1);
}

TEST(FieldSyntaxTest, NameEqualsMatchesEqualsIgnoreCaseOnTokens) {
  const char* literals[] = {"host", "content-length", "transfer-encoding", "connection", "te"};
  for (const char* literal : literals) {
    const std::string lit = literal;
    // Every tchar at every position: NameEquals must agree with the exact comparison.
    for (size_t pos = 0; pos < lit.size(); ++pos) {
      for (int c = 0; c < 256; ++c) {
        if (!IsTchar(static_cast<char>(c))) continue;
        std::string name = lit;
        name[pos] = static_cast<char>(c);
        EXPECT_EQ(NameEquals(name, lit), EqualsIgnoreCase(name, lit)) << name;
      }
    }
  }
  EXPECT_TRUE(NameEquals("Transfer-Encoding", "transfer-encoding"));
  EXPECT_FALSE(NameEquals("Transfer-Encodin", "transfer-encoding"));
}

TEST(FieldSyntaxTest, ContentLength) {
  uint64_t n = 1;
  EXPECT_TRUE(ParseContentLength("0", &n));
  EXPECT_EQ(n, 0u);
  EXPECT_TRUE(ParseContentLength("42 ,42", &n));
  EXPECT_EQ(n, 42u);
  EXPECT_FALSE(ParseContentLength("42 ,42", &n, /*allow_list=*/false));
  EXPECT_FALSE(ParseContentLength("1000,1000", &n, /*allow_list=*/false));
  EXPECT_TRUE(ParseContentLength(" 1000 ", &n, /*allow_list=*/false));
  EXPECT_TRUE(ParseContentLength("9223372036854775807", &n));
  for (const char* bad : {"", " ", "+1", "-1", "1 2", "1,2", "1,", ",1", "0x1", "1.0",
                          "9223372036854775808", "18446744073709551616", "1;", "\x31\xcc\x81"}) {
    EXPECT_FALSE(ParseContentLength(bad, &n)) << bad;
  }
}

TEST(FieldSyntaxTest, TransferCodings) {
  CodingSummary s;
  EXPECT_TRUE(AddTransferCodings("gzip;level=\"9, fast\" , chunked", &s));
  EXPECT_EQ(s.codings, 2);
  EXPECT_EQ(s.chunked, 1);
  EXPECT_TRUE(s.last_is_chunked);
  EXPECT_TRUE(AddTransferCodings("br", &s));
  EXPECT_FALSE(s.last_is_chunked);
  for (const char* bad : {"", ",", "chunked,", ", chunked", "chunked;x=1", "\"chunked\"",
                          "chunked x", "gzip;", "gzip;q", "gzip;q=", "gzip;q=\"x", "a,,b"}) {
    CodingSummary t;
    EXPECT_FALSE(AddTransferCodings(bad, &t)) << bad;
  }
}

TEST(FieldSyntaxTest, ConnectionOptions) {
  ConnectionOptions o;
  EXPECT_TRUE(AddConnectionOptions("Keep-Alive, , UPGRADE", &o));
  EXPECT_TRUE(o.keep_alive);
  EXPECT_TRUE(o.upgrade);
  EXPECT_FALSE(o.close);
  EXPECT_TRUE(AddConnectionOptions("", &o));
  EXPECT_FALSE(AddConnectionOptions("close x", &o));
  EXPECT_FALSE(AddConnectionOptions("\"close\"", &o));
}

TEST(FieldSyntaxTest, HostPort) {
  for (const char* ok : {"a", "a.example", "a:1", "a:65535", "[::1]", "[::1]:443",
                         "[v1.fe80::a+en1]", "127.0.0.1", "a%41", "a-b_c~d"}) {
    EXPECT_TRUE(IsValidHostPort(ok, false)) << ok;
  }
  for (const char* bad :
       {"",    ":80",  "a:", "a:65536", "a:123456", "a:8x", "a b", "u@a",  "a/b",   "a?b",
        "a#b", "[::1", "[]", "[::1]x",  "a%4",      "a%zz", "a]",  "a\tb", "a\x7f", "\xc3\xa9"}) {
    EXPECT_FALSE(IsValidHostPort(bad, false)) << bad;
  }
  EXPECT_FALSE(IsValidHostPort("a", true));
  EXPECT_TRUE(IsValidHostPort("a:443", true));
}

}  // namespace field_syntax_test
}  // namespace icaht::http

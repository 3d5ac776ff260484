#include "filters/jwt/base64url.h"

#include <random>
#include <string>

#include "gtest/gtest.h"

namespace icaht::filters::jwt {
namespace base64url_test {

std::optional<std::string> Decode(std::string_view in) {
  std::string out;
  if (!Base64UrlDecode(in, &out)) return std::nullopt;
  return out;
}

TEST(Base64UrlTest, Rfc4648VectorsWithoutPadding) {
  const std::pair<std::string, std::string> kVectors[] = {
      {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
      {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : kVectors) {
    EXPECT_EQ(Base64UrlEncode(plain), encoded);
    EXPECT_EQ(Decode(encoded), plain) << encoded;
  }
}

TEST(Base64UrlTest, UsesTheUrlSafeAlphabet) {
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(Decode("-_8"), "\xfb\xff");
  EXPECT_EQ(Decode("-_-_"), "\xfb\xff\xbf");
}

TEST(Base64UrlTest, RefusesPadding) {
  EXPECT_EQ(Decode("Zg=="), std::nullopt);
  EXPECT_EQ(Decode("Zg="), std::nullopt);
  EXPECT_EQ(Decode("Zm8="), std::nullopt);
  EXPECT_EQ(Decode("===="), std::nullopt);
}

TEST(Base64UrlTest, RefusesCharactersOutsideTheAlphabet) {
  EXPECT_EQ(Decode("+/8"), std::nullopt);  // standard base64
  EXPECT_EQ(Decode("Zm9v+mFy"), std::nullopt);
  EXPECT_EQ(Decode("Zm9v YmFy"), std::nullopt);
  EXPECT_EQ(Decode("Zm9v\nYmFy"), std::nullopt);
  EXPECT_EQ(Decode("Zm9v.mFy"), std::nullopt);
  EXPECT_EQ(Decode(std::string_view("Zm\0v", 4)), std::nullopt);
  EXPECT_EQ(Decode("Zm9\x80"), std::nullopt);
  EXPECT_EQ(Decode("Zm9\xff"), std::nullopt);
  // In the last, partial block too.
  EXPECT_EQ(Decode("Zm9vZ*"), std::nullopt);
  EXPECT_EQ(Decode("Zm9vZm*"), std::nullopt);
}

TEST(Base64UrlTest, RefusesImpossibleLengths) {
  EXPECT_EQ(Decode("Z"), std::nullopt);
  EXPECT_EQ(Decode("Zm9vY"), std::nullopt);
  EXPECT_EQ(Base64UrlDecodedSize(1), std::nullopt);
  EXPECT_EQ(Base64UrlDecodedSize(5), std::nullopt);
  EXPECT_EQ(Base64UrlDecodedSize(0), 0u);
  EXPECT_EQ(Base64UrlDecodedSize(2), 1u);
  EXPECT_EQ(Base64UrlDecodedSize(3), 2u);
  EXPECT_EQ(Base64UrlDecodedSize(4), 3u);
  EXPECT_EQ(Base64UrlDecodedSize(343), 257u);
}

TEST(Base64UrlTest, RefusesNonCanonicalTrailingBits) {
  // "f" is "Zg"; "Zh".."Zv" carry the same byte with non-zero unused bits.
  EXPECT_EQ(Decode("Zg"), "f");
  EXPECT_EQ(Decode("Zh"), std::nullopt);
  EXPECT_EQ(Decode("Zv"), std::nullopt);
  // "fo" is "Zm8"; "Zm9" sets one of the two unused bits.
  EXPECT_EQ(Decode("Zm8"), "fo");
  EXPECT_EQ(Decode("Zm9"), std::nullopt);
  EXPECT_EQ(Decode("Zm-"), std::nullopt);
}

TEST(Base64UrlTest, RoundTripsEveryLengthAndByte) {
  std::mt19937 random(7);
  for (size_t size = 0; size < 70; ++size) {
    std::string plain(size, '\0');
    for (char& c : plain) c = static_cast<char>(random());
    std::string encoded = Base64UrlEncode(plain);
    EXPECT_EQ(encoded.find_first_of("+/="), std::string::npos);
    EXPECT_EQ(Base64UrlDecodedSize(encoded.size()), size);
    EXPECT_EQ(Decode(encoded), plain) << "size " << size;
  }
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  EXPECT_EQ(Decode(Base64UrlEncode(all)), all);
}

TEST(Base64UrlTest, KeepsTheCallersCapacity) {
  std::string out;
  out.reserve(200);
  const char* storage = out.data();
  ASSERT_TRUE(Base64UrlDecode("Zm9vYmFy", &out));
  EXPECT_EQ(out, "foobar");
  EXPECT_EQ(out.data(), storage);
  EXPECT_GE(out.capacity(), 200u);
}

}  // namespace base64url_test
}  // namespace icaht::filters::jwt

#include "core/string_hash.h"

#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "gtest/gtest.h"

namespace icaht::core {
namespace string_hash_test {

TEST(StringHashTest, SameTextSameHashWhateverHoldsIt) {
  std::string token(600, 'a');
  for (size_t i = 0; i < token.size(); ++i) token[i] = static_cast<char>('a' + i % 26);
  std::string copy = token;
  EXPECT_EQ(StringHash{}(token), StringHash{}(std::string_view(copy)));
  copy.back() = '!';
  EXPECT_NE(StringHash{}(token), StringHash{}(copy));
  EXPECT_EQ(StringHash{}(""), StringHash{}(std::string_view()));
}

TEST(StringHashTest, KeysAMapOfViews) {
  std::string a = "10.0.0.1", b = "10.0.0.2";
  absl::flat_hash_map<std::string_view, int, StringHash> index;
  index[a] = 1;
  index[b] = 2;
  EXPECT_EQ(index.at(std::string("10.0.0.1")), 1);
  EXPECT_EQ(index.at("10.0.0.2"), 2);
  EXPECT_FALSE(index.contains("10.0.0.3"));
}

}  // namespace string_hash_test
}  // namespace icaht::core

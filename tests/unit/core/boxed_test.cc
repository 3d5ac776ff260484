#include "core/boxed.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace icaht::core {
namespace boxed_test {

struct Big {
  std::string name;
  std::vector<int> values;
  char padding[256] = {};
  friend bool operator==(const Big& a, const Big& b) {
    return a.name == b.name && a.values == b.values;
  }
};

TEST(BoxedTest, EmptyIsOnePointer) {
  static_assert(sizeof(Boxed<Big>) == sizeof(void*));
  Boxed<Big> box;
  EXPECT_FALSE(box.has_value());
  EXPECT_FALSE(box);
  EXPECT_TRUE(box == std::nullopt);
  EXPECT_EQ(box.value_or(Big{.name = "d"}).name, "d");
  EXPECT_FALSE(box.ToOptional().has_value());
}

TEST(BoxedTest, CopiesAreDeepAndCompareByValue) {
  Boxed<Big> a = Big{.name = "a", .values = {1, 2}};
  ASSERT_TRUE(a);
  Boxed<Big> b = a;
  EXPECT_NE(&*a, &*b);
  EXPECT_EQ(a, b);
  b->values.push_back(3);
  EXPECT_FALSE(a == b);
  EXPECT_EQ(a->values.size(), 2u);
  a = b;
  EXPECT_EQ(a, b);
  EXPECT_NE(&*a, &*b);
  Boxed<Big> empty;
  EXPECT_FALSE(a == empty);
  EXPECT_EQ(empty, Boxed<Big>(std::nullopt));
  a = std::nullopt;
  EXPECT_FALSE(a.has_value());
  EXPECT_EQ(a, empty);
}

TEST(BoxedTest, EmplaceResetMoveAndOptional) {
  Boxed<Big> box;
  box.emplace().name = "x";
  EXPECT_EQ(box->name, "x");
  std::optional<Big> copy = box.ToOptional();
  ASSERT_TRUE(copy.has_value());
  EXPECT_EQ(copy->name, "x");
  Boxed<Big> from_optional = copy;
  EXPECT_EQ(from_optional, box);
  // Against std::optional: empty equals empty, values compare.
  const std::optional<Big> none;
  EXPECT_TRUE(none == Boxed<Big>());
  EXPECT_FALSE(none != Boxed<Big>());
  EXPECT_TRUE(Boxed<Big>() == none);
  EXPECT_TRUE(copy == box);
  EXPECT_TRUE(box != none);
  EXPECT_TRUE(none != box);
  Boxed<Big> moved = std::move(box);
  EXPECT_EQ(moved->name, "x");
  moved.reset();
  EXPECT_FALSE(moved);
}

}  // namespace boxed_test
}  // namespace icaht::core

#include "table.h"

#include "gtest/gtest.h"

namespace icaht::ctl {
namespace table_test {

TEST(AlignColumnsTest, PadsEachColumnToItsWidestCell) {
  EXPECT_EQ(AlignColumns({{"NAME", "PORT", "VERSION"}, {"orders", "7001", "-"}, {"a", "80", "1"}}),
            "NAME    PORT  VERSION\n"
            "orders  7001  -\n"
            "a       80    1\n");
}

TEST(AlignColumnsTest, RightAlignedColumns) {
  EXPECT_EQ(AlignColumns({{"S", "REQ/S", "UP"}, {"orders", "1.5", "2/2 up"}, {"b", "120.0", ""}},
                         {Align::kLeft, Align::kRight}),
            "S       REQ/S  UP\n"
            "orders    1.5  2/2 up\n"
            "b       120.0\n");
}

TEST(AlignColumnsTest, NoRows) { EXPECT_EQ(AlignColumns({}), ""); }

}  // namespace table_test
}  // namespace icaht::ctl

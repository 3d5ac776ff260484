#include "core/file_util.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "temp_dir.h"

namespace icaht::core {
namespace file_util_test {

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class FileUtilTest : public ::testing::Test {
 protected:
  test::TempDir temp_{"file-util"};
  const std::string& dir_ = temp_.path();
  std::string path_ = temp_.File("f");
};

TEST_F(FileUtilTest, TextReplacesTheFileWhole) {
  ASSERT_TRUE(WriteFileAtomically(path_, "old\n", 0640).ok());
  ASSERT_TRUE(WriteFileAtomically(path_, "new text\n", 0640).ok());
  EXPECT_EQ(Read(path_), "new text\n");
  ASSERT_TRUE(WriteFileAtomically(path_, "", 0640).ok());
  EXPECT_EQ(Read(path_), "");
  EXPECT_FALSE(std::filesystem::exists(path_ + ".tmp"));
}

TEST_F(FileUtilTest, PiecesAreWrittenInOrderUntilAnEmptyOne) {
  int calls = 0;
  ASSERT_TRUE(WriteFileAtomically(path_, 0640, [&](std::string& buffer) -> std::string_view {
                EXPECT_TRUE(buffer.empty());  // lent empty each time
                if (++calls > 3) return {};
                buffer = std::string(100000, static_cast<char>('a' + calls));
                return buffer;
              }).ok());
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(Read(path_),
            std::string(100000, 'b') + std::string(100000, 'c') + std::string(100000, 'd'));
}

TEST_F(FileUtilTest, AMissingDirectoryIsAnErrorNamingTheFile) {
  absl::Status status = WriteFileAtomically(dir_ + "/no/such/f", "x", 0640);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(status.message().find("no/such/f.tmp"), std::string::npos) << status;
}

}  // namespace file_util_test
}  // namespace icaht::core

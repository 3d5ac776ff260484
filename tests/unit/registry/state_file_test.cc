#include "registry/state_file.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "temp_dir.h"

namespace icaht::registry {
namespace state_file_test {

class StateFileTest : public ::testing::Test {
 protected:
  void Write(const std::string& text) { std::ofstream(path_) << text; }
  std::vector<std::string> Copies() const {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
      std::string name = entry.path().filename().string();
      if (name.rfind("services.json.bad-", 0) == 0) names.push_back(name);
    }
    return names;
  }

  test::TempDir temp_{"state"};
  const std::string& dir_ = temp_.path();
  std::string path_ = temp_.File("services.json");
};

TEST_F(StateFileTest, MissingFileIsEmpty) {
  absl::StatusOr<SavedServices> saved = LoadServices(path_);
  ASSERT_TRUE(saved.ok()) << saved.status();
  EXPECT_TRUE(saved->records.empty());
  EXPECT_TRUE(saved->refused.empty());
}

TEST_F(StateFileTest, EachRecordIsReadOnItsOwn) {
  Write(R"({"services": [
    {"name": "a", "upstreams": ["127.0.0.1:1"], "port": 7001},
    {"name": "b", "upstreams": ["127.0.0.1:1"], "port": "x"},
    {"name": "c", "upstreams": ["127.0.0.1:1"], "from_the_future": {"x": [1, 2]}},
    42,
    {"upstreams": ["127.0.0.1:1"]},
    {"name": "d", "upstreams": ["127.0.0.1:1"], "port": 7004}
  ]})");
  absl::StatusOr<SavedServices> saved = LoadServices(path_);
  ASSERT_TRUE(saved.ok()) << saved.status();
  ASSERT_EQ(saved->records.size(), 2u);
  EXPECT_EQ(saved->records[0].name, "a");
  EXPECT_EQ(saved->records[1].name, "d");
  EXPECT_EQ(saved->records[1].port, 7004);
  ASSERT_EQ(saved->refused.size(), 4u);
  EXPECT_EQ(saved->refused[0].index, 1u);
  EXPECT_EQ(saved->refused[0].name, "b");
  EXPECT_EQ(saved->refused[0].reason.message(),
            "field 'services[1].port': must be an integer 0..65535");
  EXPECT_EQ(saved->refused[1].name, "c");
  EXPECT_EQ(saved->refused[1].reason.message(), "unknown field 'services[2].from_the_future'");
  EXPECT_EQ(saved->refused[2].index, 3u);
  EXPECT_EQ(saved->refused[2].name, "");
  EXPECT_EQ(saved->refused[3].reason.message(), "field 'services[4].name': required");
}

TEST_F(StateFileTest, SavedServicesReadBackInOrder) {
  // Enough records for several 64 KiB pieces (and none: an empty list).
  for (size_t count : {size_t{0}, size_t{1}, size_t{700}}) {
    std::vector<ServiceRecord> records(count);
    std::vector<const ServiceRecord*> pointers;
    for (size_t i = 0; i < count; ++i) {
      absl::StatusOr<ServiceRecord> parsed = ParseServiceRecord(
          R"({"name": "svc-)" + std::to_string(i) + R"(", "upstreams": ["127.0.0.1:1"], "port": )" +
          std::to_string(10000 + i) + "}");
      ASSERT_TRUE(parsed.ok()) << parsed.status();
      records[i] = *std::move(parsed);
      pointers.push_back(&records[i]);
    }
    ASSERT_TRUE(SaveServices(path_, pointers).ok());
    if (count == 700) EXPECT_GT(std::filesystem::file_size(path_), 3u * 64 * 1024);
    absl::StatusOr<SavedServices> saved = LoadServices(path_);
    ASSERT_TRUE(saved.ok()) << saved.status();
    EXPECT_TRUE(saved->refused.empty());
    ASSERT_EQ(saved->records.size(), count);
    for (size_t i = 0; i < count; ++i) EXPECT_EQ(saved->records[i], records[i]) << i;
    EXPECT_FALSE(std::filesystem::exists(path_ + ".tmp"));
  }
}

TEST_F(StateFileTest, AFileThatIsNotAStateFileIsAnError) {
  for (const char* text :
       {R"({"services": [{"name": "x")", R"({"services": 7})", "[]", R"({"other": []})"}) {
    Write(text);
    absl::StatusOr<SavedServices> saved = LoadServices(path_);
    EXPECT_FALSE(saved.ok()) << text;
    EXPECT_EQ(saved.status().message().substr(0, path_.size()), path_) << saved.status();
  }
}

TEST_F(StateFileTest, SetAsideNeverOverwritesACopy) {
  Write("first");
  absl::StatusOr<std::string> first = SetAside(path_, /*move=*/false);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(std::filesystem::exists(path_));  // a copy: the file stays
  // A new file, as SaveServices makes one (rename): writing in place would
  // change the hard-linked copy too.
  ASSERT_TRUE(std::filesystem::remove(path_));
  Write("second");
  absl::StatusOr<std::string> second = SetAside(path_, /*move=*/true);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_NE(*first, *second);
  EXPECT_FALSE(std::filesystem::exists(path_));  // moved
  EXPECT_EQ(Copies().size(), 2u);
  std::string text;
  std::getline(std::ifstream(*first), text);
  EXPECT_EQ(text, "first");
  std::getline(std::ifstream(*second), text);
  EXPECT_EQ(text, "second");
}

TEST_F(StateFileTest, LockIsExclusiveAndNamesTheHolder) {
  absl::StatusOr<net::Fd> held = LockStateDir(dir_, 0);
  ASSERT_TRUE(held.ok()) << held.status();
  absl::StatusOr<net::Fd> second = LockStateDir(dir_, 30);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find(absl::StrCat("(pid ", getpid(), ")")), std::string::npos)
      << second.status();
  held->Reset();
  EXPECT_TRUE(LockStateDir(dir_, 0).ok());
}

}  // namespace state_file_test
}  // namespace icaht::registry

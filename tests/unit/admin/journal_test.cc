// The registration journal's format: entries read back, checksums, torn and
// corrupt tails stopping the read with the intact prefix kept.
#include "registry/journal.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "core/crc32c.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "temp_dir.h"

namespace icaht::registry {
namespace journal_test {

using ::testing::HasSubstr;

class JournalTest : public ::testing::Test {
 protected:
  void Write(const std::string& text) { std::ofstream(path_, std::ios::binary) << text; }
  ServiceRecord Record(const std::string& name) {
    auto r = ParseServiceRecord(R"({"name":")" + name + R"(","upstreams":["127.0.0.1:9"]})");
    EXPECT_TRUE(r.ok()) << r.status();
    return *r;
  }
  test::TempDir dir_{"journal"};
  std::string path_ = dir_.File("services.journal");
};

TEST(Crc32cTest, KnownValue) {
  EXPECT_EQ(core::Crc32c("123456789"), 0xe3069283u);
  EXPECT_EQ(core::Crc32c(""), 0u);
}

TEST_F(JournalTest, EntriesReadBackInOrder) {
  Write(JournalPutLine(Record("a")) + JournalPutLine(Record("b")) + JournalDeleteLine("a"));
  auto read = ReadJournal(path_);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->problem, "");
  ASSERT_EQ(read->entries.size(), 3u);
  EXPECT_EQ(read->entries[0].op, JournalEntry::Op::kPut);
  EXPECT_EQ(read->entries[0].record, Record("a"));
  EXPECT_EQ(read->entries[1].name, "b");
  EXPECT_EQ(read->entries[2].op, JournalEntry::Op::kDelete);
  EXPECT_EQ(read->entries[2].name, "a");
}

TEST_F(JournalTest, MissingFileIsEmpty) {
  auto read = ReadJournal(path_);
  ASSERT_TRUE(read.ok());
  EXPECT_TRUE(read->entries.empty());
  EXPECT_EQ(read->problem, "");
}

TEST_F(JournalTest, TornTailKeepsThePrefix) {
  std::string good = JournalPutLine(Record("a"));
  std::string next = JournalPutLine(Record("b"));
  Write(good + next.substr(0, next.size() - 1));  // the newline never made it
  auto read = ReadJournal(path_);
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->entries.size(), 1u);
  EXPECT_EQ(read->intact_bytes, good.size());
  EXPECT_THAT(read->problem, HasSubstr("line 2"));
  EXPECT_THAT(read->problem, HasSubstr("torn"));
}

TEST_F(JournalTest, CorruptEntryStopsTheRead) {
  std::string a = JournalPutLine(Record("a"));
  std::string b = JournalPutLine(Record("bb"));
  std::string c = JournalPutLine(Record("c"));
  b[b.find("bb")] = 'x';  // a flipped byte: the checksum no longer matches
  Write(a + b + c);
  auto read = ReadJournal(path_);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->entries.size(), 1u);  // c is after the damage: not used
  EXPECT_THAT(read->problem, HasSubstr("checksum mismatch"));
  Write(a + "garbage\n" + c);
  read = ReadJournal(path_);
  EXPECT_EQ(read->entries.size(), 1u);
  EXPECT_THAT(read->problem, HasSubstr("not '<crc32c> <json>'"));
}

}  // namespace journal_test
}  // namespace icaht::registry

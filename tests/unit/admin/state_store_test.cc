// StateStore on a real ring and a temporary directory: changes are durable
// once WhenDurable answers, survive a reload, and the journal asks to be
// compacted once it holds as many changes as there are services (at least
// kCompactEntries), never while a sync is in flight.
#include "admin/state_store.h"

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/ring.h"
#include "gtest/gtest.h"
#include "temp_dir.h"

namespace icaht::admin {
namespace state_store_test {

class StateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ring_ = std::move(*core::Ring::Create(16)); }

  static registry::ServiceRecord Record(const std::string& name) {
    auto r =
        registry::ParseServiceRecord(R"({"name":")" + name + R"(","upstreams":["127.0.0.1:9"]})");
    EXPECT_TRUE(r.ok()) << r.status();
    return *r;
  }
  // Runs the ring until everything appended to `store` is on disk.
  void Sync(StateStore& store) {
    bool done = false, ok = false;
    store.WhenDurable([&](bool result) {
      done = true;
      ok = result;
    });
    for (int i = 0; i < 500 && !done; ++i) ring_->RunOnce(10'000'000);
    ASSERT_TRUE(done);
    EXPECT_TRUE(ok);
  }

  test::TempDir temp_{"state-store"};
  const std::string& dir_ = temp_.path();
  std::unique_ptr<core::Ring> ring_;
};

TEST_F(StateStoreTest, CompactionIsWantedAtTheServiceCountWithAFloor) {
  StateStore store(*ring_, dir_);
  ASSERT_TRUE(store.Load().ok());
  const size_t floor = StateStore::kCompactEntries;
  for (size_t i = 0; i + 1 < floor; ++i) store.Put(Record("s" + std::to_string(i % 50)));
  Sync(store);
  // floor - 1 changes: below the floor, whatever the service count.
  EXPECT_FALSE(store.wants_compaction(1));
  EXPECT_FALSE(store.wants_compaction(50));
  store.Delete("s0");
  Sync(store);
  // floor changes: due for a small registry, not for one with more services
  // than changes (writing its snapshot would cost more than the journal).
  EXPECT_TRUE(store.wants_compaction(50));
  EXPECT_TRUE(store.wants_compaction(floor));
  EXPECT_FALSE(store.wants_compaction(floor + 1));

  // Not while a sync is in flight.
  store.Put(Record("late"));
  bool durable = false;
  store.WhenDurable([&](bool) { durable = true; });
  if (!durable) EXPECT_FALSE(store.wants_compaction(50));
  for (int i = 0; i < 500 && !durable; ++i) ring_->RunOnce(10'000'000);
  EXPECT_TRUE(store.wants_compaction(50));

  std::vector<registry::ServiceRecord> records;
  for (int i = 1; i < 50; ++i) records.push_back(Record("s" + std::to_string(i)));
  records.push_back(Record("late"));
  std::vector<const registry::ServiceRecord*> pointers;
  for (const registry::ServiceRecord& r : records) pointers.push_back(&r);
  store.Compact(pointers);
  EXPECT_FALSE(store.wants_compaction(1));
}

TEST_F(StateStoreTest, ChangesSurviveAReloadBeforeAndAfterCompaction) {
  {
    StateStore store(*ring_, dir_);
    ASSERT_TRUE(store.Load().ok());
    store.Put(Record("a"));
    store.Put(Record("b"));
    store.Delete("a");
    Sync(store);
  }
  {
    StateStore store(*ring_, dir_);
    auto loaded = store.Load();
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    ASSERT_EQ(loaded->saved.records.size(), 1u);
    EXPECT_EQ(loaded->saved.records[0].name, "b");
    registry::ServiceRecord b = loaded->saved.records[0];
    store.Compact({&b});
    store.Put(Record("c"));
    Sync(store);
  }
  StateStore store(*ring_, dir_);
  auto loaded = store.Load();
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  std::vector<std::string> names;
  for (const registry::ServiceRecord& r : loaded->saved.records) names.push_back(r.name);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"b", "c"}));
}

}  // namespace state_store_test
}  // namespace icaht::admin

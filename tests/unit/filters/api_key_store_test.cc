#include "filters/api_key_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "temp_dir.h"

namespace icaht::filters {
namespace api_key_store_test {

std::string Hex(const ApiKeySet::Digest& digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : digest) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

std::string Line(std::string_view name, std::string_view key) {
  return std::string(name) + ":" + Hex(Sha256(key)) + "\n";
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

TEST(ApiKeyStoreTest, Sha256KnownAnswers) {
  EXPECT_EQ(Hex(Sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Hex(Sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(ApiKeyStoreTest, ParsesAndMatches) {
  std::string upper = Hex(Sha256("key-three"));
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string text = absl::StrCat("# keys of orders\n\n", Line("ci-deploy", "key-one"),
                                  "  alice@example.com:", Hex(Sha256("key-two")), "  \r\n",
                                  "\t# indented comment\n", "svc_3.x:", upper);  // no final newline
  auto set = ApiKeySet::Parse(text, "keys");
  ASSERT_TRUE(set.ok()) << set.status();
  ASSERT_EQ((*set)->size(), 3u);
  EXPECT_EQ((*set)->entries()[1].name, "alice@example.com");

  const std::string* one = (*set)->Match("key-one");
  ASSERT_NE(one, nullptr);
  EXPECT_EQ(*one, "ci-deploy");
  ASSERT_NE((*set)->Match("key-two"), nullptr);
  EXPECT_EQ(*(*set)->Match("key-two"), "alice@example.com");
  ASSERT_NE((*set)->Match("key-three"), nullptr);
  EXPECT_EQ(*(*set)->Match("key-three"), "svc_3.x");

  EXPECT_EQ((*set)->Match("key-four"), nullptr);
  EXPECT_EQ((*set)->Match(""), nullptr);
  EXPECT_EQ((*set)->Match("key-one "), nullptr);
  EXPECT_EQ((*set)->Match(Hex(Sha256("key-one"))), nullptr);  // the hash is not the key
}

TEST(ApiKeyStoreTest, EmptyFileMatchesNothing) {
  auto set = ApiKeySet::Parse("# nobody yet\n\n", "keys");
  ASSERT_TRUE(set.ok());
  EXPECT_EQ((*set)->size(), 0u);
  EXPECT_EQ((*set)->Match("anything"), nullptr);
}

TEST(ApiKeyStoreTest, ErrorsNameFileAndLine) {
  const std::string good = Line("a", "k1");
  const std::string hash = Hex(Sha256("k2"));
  struct BadCase {
    std::string text;
    std::string message;
  };
  const BadCase cases[] = {
      {good + "b " + hash + "\n", "/etc/keys:2: expected name:sha256-hex"},
      {good + ":" + hash + "\n",
       "/etc/keys:2: the name must be 1..64 characters of [A-Za-z0-9._@-]"},
      {good + std::string(65, 'n') + ":" + hash + "\n",
       "/etc/keys:2: the name must be 1..64 characters of [A-Za-z0-9._@-]"},
      {good + "b c:" + hash + "\n",
       "/etc/keys:2: the name must be 1..64 characters of [A-Za-z0-9._@-]"},
      {good + "b/c:" + hash + "\n",
       "/etc/keys:2: the name must be 1..64 characters of [A-Za-z0-9._@-]"},
      {"\n\n" + good + "b:" + hash.substr(1) + "\n",
       "/etc/keys:4: the hash must be 64 hex digits (the SHA-256 of the key)"},
      {good + "b:" + hash + "0\n",
       "/etc/keys:2: the hash must be 64 hex digits (the SHA-256 of the key)"},
      {good + "b:" + hash.substr(1) + "g\n",
       "/etc/keys:2: the hash must be 64 hex digits (the SHA-256 of the key)"},
      {good + "b:" + hash + " # trailing comment\n",
       "/etc/keys:2: the hash must be 64 hex digits (the SHA-256 of the key)"},
      {good + "b:the-key-itself\n",
       "/etc/keys:2: the hash must be 64 hex digits (the SHA-256 of the key)"},
      {good + "# x\n" + Line("a", "k2"), "/etc/keys:3: duplicate name 'a' (also on line 1)"},
      {good + Line("b", "k1"), "/etc/keys:2: the same key as 'a' on line 1"},
  };
  for (const BadCase& c : cases) {
    auto set = ApiKeySet::Parse(c.text, "/etc/keys");
    ASSERT_FALSE(set.ok()) << c.text;
    EXPECT_EQ(set.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(set.status().message(), c.message);
  }
  // The same hash in upper case is still the same key.
  std::string upper = Hex(Sha256("k1"));
  for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  EXPECT_EQ(ApiKeySet::Parse(good + "b:" + upper + "\n", "f").status().message(),
            "f:2: the same key as 'a' on line 1");
}

TEST(ApiKeyStoreTest, LoadsFiles) {
  test::TempDir dir("api-key-store");
  std::string path = dir.File("keys");
  WriteFile(path, Line("ci", "secret"));
  auto set = LoadApiKeyFile(path);
  ASSERT_TRUE(set.ok()) << set.status();
  ASSERT_NE((*set)->Match("secret"), nullptr);
  EXPECT_EQ(*(*set)->Match("secret"), "ci");

  WriteFile(path, "ci:nothex\n");
  EXPECT_EQ(LoadApiKeyFile(path).status().message(),
            path + ":1: the hash must be 64 hex digits (the SHA-256 of the key)");

  auto missing = LoadApiKeyFile(dir.File("none"));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find(dir.File("none") + ": cannot open"), std::string::npos);

  EXPECT_EQ(LoadApiKeyFile(dir.path()).status().message(), dir.path() + ": not a regular file");

  WriteFile(path, std::string((1 << 20) + 1, '#'));
  EXPECT_EQ(LoadApiKeyFile(path).status().message(), path + ": larger than 1048576 bytes");
}

TEST(ApiKeyStoreTest, SharedSetOutlivesItsLoader) {
  std::shared_ptr<const ApiKeySet> held;
  {
    auto set = ApiKeySet::Parse(Line("a", "k"), "keys");
    ASSERT_TRUE(set.ok());
    held = *set;
  }
  ASSERT_NE(held->Match("k"), nullptr);
}

TEST(FileWatcherTest, SeesEveryKindOfChange) {
  test::TempDir dir("api-key-store");
  std::string path = dir.File("keys");
  FileWatcher watcher(path);
  EXPECT_EQ(watcher.path(), path);
  EXPECT_TRUE(watcher.Changed());  // first call: load (even when missing)
  EXPECT_FALSE(watcher.Changed());

  WriteFile(path, "a\n");  // appears
  EXPECT_TRUE(watcher.Changed());
  EXPECT_FALSE(watcher.Changed());

  WriteFile(path, "abc\n");  // size
  EXPECT_TRUE(watcher.Changed());
  EXPECT_FALSE(watcher.Changed());

  // Same size, new modification time (set explicitly: no sleeping for a tick).
  WriteFile(path, "xyz\n");
  timespec times[2] = {{0, UTIME_OMIT}, {1'000'000'000, 123}};
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
  EXPECT_TRUE(watcher.Changed());
  EXPECT_FALSE(watcher.Changed());

  // Replaced by rename (a new inode) with the same size and time.
  std::string next = dir.File("keys.new");
  WriteFile(next, "xyz\n");
  ASSERT_EQ(utimensat(AT_FDCWD, next.c_str(), times, 0), 0);
  ASSERT_EQ(std::rename(next.c_str(), path.c_str()), 0);
  EXPECT_TRUE(watcher.Changed());
  EXPECT_FALSE(watcher.Changed());

  ASSERT_EQ(unlink(path.c_str()), 0);  // disappears
  EXPECT_TRUE(watcher.Changed());
  EXPECT_FALSE(watcher.Changed());
}

}  // namespace api_key_store_test
}  // namespace icaht::filters

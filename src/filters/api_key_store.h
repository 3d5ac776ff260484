#pragma once
// The keys of `auth.api_key` (the pure part: the filter and its reload wiring
// live elsewhere). A keys file holds one key per line as its SHA-256, never
// the key itself:
//
//   # comment; blank lines are skipped; spaces around a line are trimmed
//   ci-deploy:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
//
// name: 1..64 of [A-Za-z0-9._@-] (it becomes the exchange's identity);
// hash: 64 hex digits, either case. Duplicate names or hashes are refused.
// Generate a line with: printf %s "$KEY" | sha256sum.
//
// Loading and watching are control-plane work (file I/O); a loaded set is
// immutable and may be shared by every shard's filter as
// std::shared_ptr<const ApiKeySet> (the reference count moves only when a
// config is swapped, never per request).

#include <sys/stat.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace icaht::filters {

class ApiKeySet {
 public:
  using Digest = std::array<uint8_t, 32>;
  struct Entry {
    std::string name;
    Digest hash;
  };

  // Parses the text of a keys file. Errors are InvalidArgument naming
  // `source` and the 1-based line: "/etc/icaht/keys:3: <problem>".
  static absl::StatusOr<std::shared_ptr<const ApiKeySet>> Parse(std::string_view text,
                                                                std::string_view source);

  // The name of the key whose hash is SHA-256(presented_key), or nullptr. Its
  // time depends on the number of keys and the length of presented_key only:
  // the hash is compared with every entry in constant time (CRYPTO_memcmp, no
  // early exit on a match), so timing tells neither whether nor which key
  // matched. Linear in the number of keys (see the benchmark): meant for tens
  // to hundreds of keys. Callable from any thread.
  const std::string* Match(std::string_view presented_key) const;

  size_t size() const { return entries_.size(); }
  const std::vector<Entry>& entries() const { return entries_; }

 private:
  std::vector<Entry> entries_;
};

// SHA-256 of `data` (OpenSSL EVP).
ApiKeySet::Digest Sha256(std::string_view data);

// The content of a key file (API keys, a JWKS): a regular file of at most
// `max_bytes`. NotFound, PermissionDenied, ... naming the path when it cannot
// be read; InvalidArgument when it is not a regular file or too large.
absl::StatusOr<std::string> ReadKeyFile(const std::string& path, size_t max_bytes);

// Reads and parses the keys file at `path` (at most 1 MiB). NotFound,
// PermissionDenied, ... with the path when it cannot be read; InvalidArgument
// as ApiKeySet::Parse when its content is wrong.
absl::StatusOr<std::shared_ptr<const ApiKeySet>> LoadApiKeyFile(const std::string& path);

// Tells when a file (a keys file, a jwks_file) should be read again: its
// inode, device, size or modification time (ns) changed, or it appeared or
// disappeared. Call Changed() before reading the file, so that a write that
// lands after the read is still seen next time. An in-place rewrite of the
// same size within one timestamp tick of the file system goes unseen (write
// a new file and rename it over the old one, as editors and config tools do).
// Control thread only.
class FileWatcher {
 public:
  explicit FileWatcher(std::string path) : path_(std::move(path)) {}
  const std::string& path() const { return path_; }
  // Stats the file; true when its state differs from the previous call's
  // (always on the first call), which it then remembers.
  bool Changed();

 private:
  struct Stamp {
    bool exists = false;
    dev_t device = 0;
    ino_t inode = 0;
    off_t size = 0;
    int64_t mtime_ns = 0;

    friend bool operator==(const Stamp&, const Stamp&) = default;
  };

  std::string path_;
  std::optional<Stamp> last_;
};

}  // namespace icaht::filters

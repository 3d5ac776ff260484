#pragma once
// Persistence of admin-registered services across restarts: one JSON file,
// {"services": [record, ...]}, replaced atomically (write, fsync, rename) after
// every committed change. Control thread only.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "net/socket.h"
#include "registry/service_record.h"

namespace icaht::registry {

// Takes the state directory's lock: an exclusive flock on `dir`/lock (created
// 0640, our pid written in it for messages), held as long as the returned Fd
// is open, i.e. the process's life: a kill -9 releases it. This, not a
// connect to the admin socket, decides whether another daemon is running. A
// holder that is still exiting gets up to `wait_ms`; then
// FailedPrecondition("another icaht-sidecar (pid N) is running with state
// directory DIR (DIR/lock is locked)").
absl::StatusOr<net::Fd> LockStateDir(const std::string& dir, int wait_ms);

absl::Status SaveServices(const std::string& path,
                          const std::vector<const ServiceRecord*>& records);

// A saved record that could not be read back, and why.
struct RefusedRecord {
  size_t index = 0;     // in the file's "services" array
  std::string name;     // "" when the record has no readable name
  absl::Status reason;  // names the field: "field 'services[2].port': ..."
};

struct SavedServices {
  std::vector<ServiceRecord> records;
  std::vector<RefusedRecord> refused;
};

// The saved records, read one by one: a record with a bad value or an unknown
// field (e.g. saved by a newer version) is refused alone, the others are
// kept. An empty result when the file does not exist. An error (naming the
// file) only when the file as a whole cannot be read: unreadable, not JSON,
// or not {"services": [...]}.
absl::StatusOr<SavedServices> LoadServices(const std::string& path);

// Keeps a copy of `path` (hard link, or rename when `move`) as
// "<path>.bad-<UTC time>" ("-2", "-3", ... appended if that name exists), so
// that no earlier copy is ever overwritten. Returns the copy's name.
absl::StatusOr<std::string> SetAside(const std::string& path, bool move);

}  // namespace icaht::registry

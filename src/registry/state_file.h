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

// The saved records; an empty list when the file does not exist. Errors name
// the file and the field, like the config file's.
absl::StatusOr<std::vector<ServiceRecord>> LoadServices(const std::string& path);

}  // namespace icaht::registry

#pragma once
// Persistence of admin-registered services across restarts: one JSON file,
// {"services": [record, ...]}, replaced atomically (write, fsync, rename) after
// every committed change. Control thread only.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "registry/service_record.h"

namespace icaht::registry {

absl::Status SaveServices(const std::string& path,
                          const std::vector<const ServiceRecord*>& records);

// The saved records; an empty list when the file does not exist. Errors name
// the file and the field, like the config file's.
absl::StatusOr<std::vector<ServiceRecord>> LoadServices(const std::string& path);

}  // namespace icaht::registry

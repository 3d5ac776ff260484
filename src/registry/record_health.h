#pragma once
// The record's `health` field: local endpoints, active checks, deregistration.

#include <string>

#include "absl/status/status.h"
#include "filters/health.h"
#include "registry/json_reader.h"
#include "registry/json_writer.h"

namespace icaht::registry {

// {"path": "/health", "ready_path": "/ready",
//  "check": null | {"path": "/health", "interval_ms": 5000, "timeout_ms": 1000,
//                   "healthy_threshold": 2, "unhealthy_threshold": 3,
//                   "expected_statuses": [200, "200-399"]},
//  "deregister_after_s": 0}
absl::Status ParseHealth(json::Value& value, const std::string& path, filters::HealthSpec& spec);
// Every field, defaults spelled out ("check": null when off).
void WriteHealth(JsonWriter& w, const filters::HealthSpec& spec);

}  // namespace icaht::registry

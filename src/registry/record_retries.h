#pragma once
// The record's `retries` field (semantics in filters/retry_policy.h):
//
//   "retries": null   as when absent: only the built-in retry of a request
//                     whose connect failed or whose pooled connection closed
//                     unanswered (up to 3 attempts, no backoff)
//   "retries": {"attempts": 3, "retry_on": ["connect-failure", "gateway-error"],
//               "per_try_timeout_ms": 2000, "backoff_base_ms": 25, "backoff_max_ms": 250,
//               "budget_percent": 20, "min_retry_concurrency": 3,
//               "replay_body_bytes": 65536}
//              every member optional (defaults: 2 attempts, connect-failure,
//              refused-stream and gateway-error, no per-try timeout, 25..250 ms,
//              20 %, 3, 64 KiB; replay_body_bytes 0..16 MiB)
//
// Errors name the field ("field 'retries.retry_on[1]': ...").

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "filters/retry_policy.h"
#include "registry/json_reader.h"
#include "registry/json_writer.h"

namespace icaht::registry {

absl::Status ParseRetries(json::Value& value, const std::string& path,
                          std::optional<filters::RetryPolicy>& out);
// Null when unset, else every member. ParseRetries(WriteRetries(p)) == p.
void WriteRetries(JsonWriter& writer, const std::optional<filters::RetryPolicy>& policy);

}  // namespace icaht::registry

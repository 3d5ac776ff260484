#pragma once
// The record's `egress` field: how calls that local applications make to this
// service through the egress listener (proxy/egress_router.h) are handled.
//
//   "egress": {"via_ingress": false,
//              "retries": {"attempts": 2},            // as the record's retries; null: those
//              "timeouts": {"connect_ms": 500, "request_ms": 5000, "total_ms": 10000}}
//
// Every member is optional. `via_ingress` false (the default): a local caller
// goes straight to the instances, past the service's own edge policy (auth,
// CORS, rate limits, fault injection), because the caller is a process of
// this host, not the outside world; true: local callers get the service's
// whole ingress chain, as a client of its port would. `retries` null (or
// absent) uses the record's own `retries`; `timeouts` members that are absent
// (or 0) use the record's.
//
// Errors name the field ("field 'egress.timeouts.request_ms': ...").

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "filters/retry_policy.h"
#include "registry/json_reader.h"
#include "registry/json_writer.h"

namespace icaht::registry {

struct EgressSpec {
  bool via_ingress = false;
  std::optional<filters::RetryPolicy> retries;  // null: the record's
  uint32_t connect_ms = 0;                      // 0: the record's
  uint32_t request_ms = 0;
  uint32_t total_ms = 0;

  friend bool operator==(const EgressSpec&, const EgressSpec&) = default;
};

absl::Status ParseEgress(json::Value& value, const std::string& path, EgressSpec& out);
// Every member. ParseEgress(WriteEgress(e)) == e.
void WriteEgress(JsonWriter& writer, const EgressSpec& egress);
// An `egress` object as text (another host's record, read from etcd): `path`
// names it in errors.
absl::StatusOr<EgressSpec> ParseEgressText(std::string_view json, const std::string& path);

}  // namespace icaht::registry

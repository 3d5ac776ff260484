#pragma once
// The record's `fault` field (semantics in filters/fault.h), a testing tool:
//
//   "fault": null   off, as when absent (no fault filter is built)
//   "fault": {"delay_ms": 100, "delay_percent": 5, "abort_status": 503,
//             "abort_percent": 1, "header": "x-icaht-fault"}
//
// A delay is delay_ms (1..3600000, below timeouts.request_ms: checked with the
// whole record) with delay_percent (0..100, fractions allowed); an abort is
// abort_status (200..599) with abort_percent (0..100). Each member of a pair
// requires the other; an object that configures neither a delay nor an abort
// is refused (null is how to say "off"). `header` (a token of 1..64
// characters, lower-cased here) limits faults to requests carrying it. Any
// member may be null, meaning absent.
//
// Errors name the field ("field 'fault.abort_status': must be an integer 200..599").

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "core/boxed.h"
#include "filters/fault.h"
#include "registry/json_reader.h"
#include "registry/json_writer.h"

namespace icaht::registry {

absl::Status ParseFault(json::Value& value, const std::string& path,
                        core::Boxed<filters::FaultSpec>& out);
// Null when off, else every member (null for an unconfigured part).
// ParseFault(WriteFault(s)) == s.
void WriteFault(JsonWriter& writer, const core::Boxed<filters::FaultSpec>& spec);

}  // namespace icaht::registry

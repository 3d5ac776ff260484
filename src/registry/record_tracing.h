#pragma once
// The record's `tracing` field (DESIGN.md "Service record"; semantics in
// tracing/trace_context.h):
//
//   "tracing": null                   off, as when absent: trace headers pass
//                                     through untouched, no spans
//   "tracing": {"sample_ratio": 0.1, "propagation": ["w3c", "b3"]}
//                                     on; both members optional (defaults:
//                                     sample_ratio 1, propagation ["w3c"])
//
// sample_ratio is a number 0..1 (the share of new traces that are sampled;
// an incoming sampled flag wins); propagation a non-empty list of "w3c",
// "b3" and "b3multi", each at most once. Errors name the field
// ("field 'tracing.propagation[1]': ...").

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "registry/json_reader.h"
#include "registry/json_writer.h"
#include "tracing/trace_context.h"

namespace icaht::registry {

// Parses `value` (at field path `path`) into `out`: nullopt for null.
absl::Status ParseTracing(json::Value& value, const std::string& path,
                          std::optional<tracing::TracingSpec>& out);

// The canonical form as the writer's next value: null when off, else both
// members. ParseTracing(WriteTracing(spec)) == spec.
void WriteTracing(JsonWriter& writer, const std::optional<tracing::TracingSpec>& spec);

}  // namespace icaht::registry

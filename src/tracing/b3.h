#pragma once
// B3 propagation (openzipkin/b3-propagation): the single `b3` header and the
// multi-header `X-B3-*` form. Trace ids are 16 or 32 lowercase hex characters
// (a 64-bit id is left-padded with zeros to 128 bits), span ids 16.

#include <cstdint>
#include <optional>
#include <string_view>

#include "tracing/ids.h"

namespace icaht::tracing {

enum class B3Sampling : uint8_t {
  kDefer,   // no decision: the receiver decides
  kDeny,    // 0
  kAccept,  // 1
  kDebug,   // d / X-B3-Flags: 1 (implies accept)
};

struct B3Context {
  TraceId trace_id{};
  SpanId span_id{};
  bool has_ids = false;  // false: a sampling decision alone (`b3: 0`)
  B3Sampling sampling = B3Sampling::kDefer;
};

// `b3: {TraceId}-{SpanId}[-{SamplingState}[-{ParentSpanId}]]`, or a sampling
// state alone (`0`, `1`, `d`). The parent span id is checked and ignored: the
// proxy's own parent is the incoming SpanId. nullopt when malformed, when an
// id is all zero, or for hex in uppercase.
std::optional<B3Context> ParseB3Single(std::string_view value);

// The multi-header form's field values ("" for an absent field).
struct B3MultiFields {
  std::string_view trace_id;        // X-B3-TraceId
  std::string_view span_id;         // X-B3-SpanId
  std::string_view parent_span_id;  // X-B3-ParentSpanId
  std::string_view sampled;         // X-B3-Sampled: 1 or 0 (true/false accepted)
  std::string_view flags;           // X-B3-Flags: 1 means debug; other values are ignored
};

// Both ids, or neither (then only a sampling decision, which must be there);
// nullopt when an id is malformed or only one of them is present. An unknown
// X-B3-Sampled value counts as no decision.
std::optional<B3Context> ParseB3Multi(const B3MultiFields& fields);

}  // namespace icaht::tracing

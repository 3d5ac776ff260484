#pragma once
// Per-request trace context: which trace a proxied request belongs to and the
// headers that carry it upstream. W3C Trace Context level 1
// (https://www.w3.org/TR/trace-context/) is the default; B3 single and multi
// header are read and written when a service asks for them.
//
// The proxy is a participant: for every request it opens a server span with a
// new span id, which becomes the parent of the upstream request. A valid
// incoming trace is continued (same trace id, incoming span recorded as the
// parent, its sampled flag honoured, tracestate kept); a missing or invalid
// one starts a new trace, sampled by the service's ratio, without tracestate.
//
// Everything here is shard-local and allocation-free in the common cases (no
// header, one valid traceparent with at most one tracestate field).

#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/random.h"
#include "http/message.h"
#include "tracing/ids.h"

namespace icaht::tracing {

// Which header formats a service reads and writes (the record's
// `tracing.propagation`). Every format set is accepted and emitted; when a
// request carries several, a valid traceparent wins over b3, b3 over X-B3-*.
struct Propagation {
  bool w3c = true;        // traceparent + tracestate
  bool b3 = false;        // b3
  bool b3_multi = false;  // X-B3-TraceId, X-B3-SpanId, X-B3-ParentSpanId, X-B3-Sampled, X-B3-Flags

  friend bool operator==(const Propagation&, const Propagation&) = default;
};

// From the record's list of names: "w3c", "b3", "b3multi" (at least one,
// each at most once). InvalidArgument names the offending entry.
absl::StatusOr<Propagation> ParsePropagation(std::span<const std::string> names);

// A service's tracing settings, built once per service config.
struct TracingSpec {
  // Share of new traces that are sampled, 0..1. Decided from the trace id
  // (its low 64 bits against the ratio), so every hop with the same ratio
  // makes the same decision for a trace that arrives without one.
  double sample_ratio = 1.0;
  Propagation propagation;

  friend bool operator==(const TracingSpec&, const TracingSpec&) = default;
};

struct TraceContext {
  TraceId trace_id{};
  SpanId span_id{};         // new: the proxy's server span, the upstream request's parent
  SpanId parent_span_id{};  // the incoming span; all zero when the trace starts here
  // To forward with traceparent: a view of the request's tracestate field or
  // of the caller's buffer (see DecideTrace); "" when there is none.
  std::string_view tracestate;
  bool sampled = false;
  bool debug = false;      // B3 debug: forwarded as `d` / X-B3-Flags: 1
  bool continued = false;  // a valid incoming trace was continued
  // The request carried a field of a format the spec reads (valid or not):
  // the proxy must remove those before it writes its own.
  bool had_fields = false;

  bool has_parent() const { return !IsZero(parent_span_id); }
};

// A traceparent's fields. Version 00 is exactly
// `00-<32 hex trace-id>-<16 hex parent-id>-<2 hex flags>` (55 characters,
// lowercase hex, neither id all zero). A higher version (01..fe) is read the
// same way when it has at least 55 characters and the flags are followed by
// '-' or the end (section 3.2.4); version ff is invalid.
struct Traceparent {
  uint8_t version = 0;
  TraceId trace_id{};
  SpanId parent_id{};
  uint8_t flags = 0;  // bit 0: sampled
};
std::optional<Traceparent> ParseTraceparent(std::string_view value);

// Decides the trace context of one request from its header fields (any case
// of the names; OWS around values ignored). `rng` is the shard's generator.
// `tracestate_buffer` is written only when the tracestate must be rebuilt
// (several fields, or longer than 512 characters); ctx.tracestate may view it
// or `headers`, so both must outlive the result's use. Keep the buffer with
// the request context to reuse its capacity.
TraceContext DecideTrace(std::span<const http::Header> headers, const TracingSpec& spec,
                         core::FastRandom& rng, std::string& tracestate_buffer);

// Room for every value FormatTraceHeaders writes (traceparent, b3 and the
// X-B3 ids).
inline constexpr size_t kTraceHeaderBufferSize = 192;

// The fields to add to the upstream request: names and the B3 sampling values
// are literals, the rest views the caller's buffer (or ctx.tracestate).
class TraceHeaders {
 public:
  static constexpr size_t kMaxFields = 7;

  // The array is left unset (only size() fields are ever written): clearing
  // it cost more than the rest of the formatting.
  TraceHeaders() {}

  void Add(std::string_view name, std::string_view value) { fields_[size_++] = {name, value}; }
  size_t size() const { return size_; }
  const http::Header& operator[](size_t i) const { return fields_[i]; }
  const http::Header* begin() const { return fields_; }
  const http::Header* end() const { return fields_ + size_; }

 private:
  union {
    http::Header fields_[kMaxFields];
  };
  size_t size_ = 0;
};

// traceparent `00-<trace>-<span>-<01|00>` and tracestate (when not empty) for
// w3c; `b3: <trace>-<span>-<1|0|d>[-<parent>]` for b3; X-B3-TraceId,
// X-B3-SpanId, X-B3-ParentSpanId (with a parent) and X-B3-Sampled (or
// X-B3-Flags: 1 for debug) for b3_multi. No allocation.
TraceHeaders FormatTraceHeaders(const TraceContext& ctx, const Propagation& propagation,
                                std::span<char, kTraceHeaderBufferSize> buffer);

// The field names a format owns. A proxy that emits a format removes the
// incoming fields of that name (a new trace must not carry the old tracestate).
template <typename F>
void ForEachTraceHeaderName(const Propagation& propagation, F&& f) {
  if (propagation.w3c) {
    f(std::string_view("traceparent"));
    f(std::string_view("tracestate"));
  }
  if (propagation.b3) f(std::string_view("b3"));
  if (propagation.b3_multi) {
    for (std::string_view name :
         {"X-B3-TraceId", "X-B3-SpanId", "X-B3-ParentSpanId", "X-B3-Sampled", "X-B3-Flags"}) {
      f(name);
    }
  }
}

}  // namespace icaht::tracing

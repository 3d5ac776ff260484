#pragma once
// One proxied request as a server span: a flat record that the exchange fills
// at its end (fixed fields plus a few strings) and that moves cheaply from the
// shard's buffer to the exporter (see span_queue.h). The encoders
// (encode.h) map the fields to OpenTelemetry semantic-convention attributes.

#include <cstdint>
#include <string>
#include <string_view>

#include "tracing/ids.h"
#include "tracing/trace_context.h"

namespace icaht::tracing {

enum class SpanKind : uint8_t {
  kServer,  // a request this proxy received (ingress and egress listeners alike)
  kClient,  // a request this proxy sent on its own (reserved: health checks, mirrors)
};

struct Span {
  TraceId trace_id{};
  SpanId span_id{};
  SpanId parent_span_id{};  // all zero: a root span
  SpanKind kind = SpanKind::kServer;
  // Marks the span failed (OTLP status ERROR, Zipkin `error` tag); see SetOutcome.
  bool error = false;
  uint16_t status_code = 0;  // the HTTP status answered; 0 when none was (the client is cut)
  uint16_t attempts = 0;     // upstream attempts (retries included); 0 when none was made
  // Wall clock (CLOCK_REALTIME), nanoseconds since the Unix epoch.
  int64_t start_unix_ns = 0;
  int64_t end_unix_ns = 0;
  uint64_t request_body_bytes = 0;
  uint64_t response_body_bytes = 0;

  std::string name;              // "GET /orders/{id}": method and route (or the service name)
  std::string service;           // icaht.service: the registered service
  std::string method;            // http.request.method
  std::string path;              // url.path (no query)
  std::string route;             // http.route: the matched endpoint's path prefix, if any
  std::string server_address;    // server.address: the Host the client named
  std::string upstream_address;  // icaht.upstream.address: the instance that answered
  std::string error_kind;        // error.type: the ProxyError label ("" if none)
  std::string client_address;    // client.address
  std::string user_agent;        // user_agent.original

  // Takes the ids of the request's trace context (its span and parent).
  void SetContext(const TraceContext& ctx);
  // name = "<method> <route>", or the method alone without a route
  // (OpenTelemetry HTTP server span names; the path would make one name per URL).
  void SetName(std::string_view request_method, std::string_view request_route);
  // Records how the exchange ended. A server span is an error for a 5xx
  // answer, or for a proxy error that left no answer at all (a 4xx is the
  // client's error, not this span's: OpenTelemetry HTTP conventions).
  void SetOutcome(uint16_t status, std::string_view error_label);
  bool has_parent() const { return !IsZero(parent_span_id); }
};

}  // namespace icaht::tracing

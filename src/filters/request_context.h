#pragma once
// What one exchange carries through the filter chain: its own copy of the
// request head (valid for the whole exchange, whatever the connection's read
// buffer does meanwhile), what filters add (request ID, header edits, a local
// answer), and what the exchange records (timings, upstream, bytes, outcome)
// for the log phase.
//
// One per client connection on one shard, Reset() for each exchange in turn
// and used by that exchange until it ends; filters get it by reference during a
// phase and must not keep pointers into it past that phase (except a filter
// that paused the exchange, until it resumes or is cancelled).

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "cache/store.h"
#include "filters/proxy_error.h"
#include "http/message.h"
#include "tracing/trace_context.h"

namespace icaht::filters {

class SideCall;  // filters/side_call.h

// Fields to add to a head and names to remove from it, applied when the head
// is written. Views must stay valid until then: point them into the filter's
// config or into the RequestContext.
class HeaderEdits {
 public:
  void Add(std::string_view name, std::string_view value) { added_.push_back({name, value}); }
  // Removes every field of that name (case-insensitive) that came with the
  // message; fields added with Add() are kept.
  void Remove(std::string_view name) { removed_.push_back(name); }
  bool Removes(std::string_view name) const;
  // Replaces the fields of that name: the message's are removed, and fields
  // of that name added earlier are dropped before this one is added.
  void Set(std::string_view name, std::string_view value);
  // Remove(name), and fields of that name added earlier dropped too.
  void RemoveAll(std::string_view name);
  // The value of the last added field named `name` (case-insensitive), or
  // nullptr.
  const std::string_view* FindAdded(std::string_view name) const;
  // Response heads only: the status the client gets instead of the
  // upstream's (0: the upstream's or the local answer's own).
  void SetStatus(int status) { status_ = status; }
  int status() const { return status_; }
  const absl::InlinedVector<http::Header, 4>& added() const { return added_; }
  bool empty() const { return added_.empty() && removed_.empty() && status_ == 0; }
  // Keeps what the vectors grew to (InlinedVector::clear would free it): the
  // context, and so its edits, serve every exchange of a connection.
  void Clear() {
    if (!added_.empty()) added_.erase(added_.begin(), added_.end());
    if (!removed_.empty()) removed_.erase(removed_.begin(), removed_.end());
    status_ = 0;
  }

 private:
  // Inline: a request ID, trace fields (traceparent + tracestate, or b3) or
  // CORS headers edit a head without allocating. The sizes and the status,
  // which empty() and Clear() read and write, share the first cache line.
  int status_ = 0;
  absl::InlinedVector<std::string_view, 2> removed_;
  absl::InlinedVector<http::Header, 4> added_;
};

// Strings that must live as long as the exchange (header fields a plugin or a
// script adds: edits view them). Keep() copies; Clear() forgets them but
// keeps each string's storage, so a warm connection allocates nothing.
class KeptStrings {
 public:
  std::string_view Keep(std::string_view text);
  void Clear() { used_ = bytes_ = 0; }
  // Bytes kept since Clear() (for limits).
  size_t bytes() const { return bytes_; }

 private:
  // unique_ptr: a string's characters must not move when the vector grows.
  std::vector<std::unique_ptr<std::string>> strings_;
  size_t used_ = 0;
  size_t bytes_ = 0;
};

class FilterCallbacks;  // filters/filter.h

// The state of one exchange's calls into native plugins and Lua scripts
// (filters/extension_api.h): what the host functions check, and what the
// calling filter reads back after a call.
struct ExtensionCall {
  enum class Phase : uint8_t { kNone, kRequest, kResponse, kLog };
  Phase phase = Phase::kNone;
  // A host function refused what was asked (invalid or oversized): the
  // exchange is answered 500 and `failure` (a literal) goes in the log line.
  bool failed = false;
  std::string_view failure;
  // respond() was called in this call.
  bool responded = false;
  // The filter in the call, or holding the exchange paused.
  void* owner = nullptr;
  // While paused: how to resume the exchange, and whether a timer is armed.
  bool paused = false;
  bool timer_armed = false;
  FilterCallbacks* callbacks = nullptr;
  // Set while a timer callback runs: resume() sets it (after which neither
  // the context nor the filter may be touched).
  bool* resumed = nullptr;
  KeptStrings strings;
};

// An answer a filter (or the exchange) gives instead of the upstream's.
struct LocalResponse {
  int status = 0;
  // "" sends no Content-Type. Views (here and in `fields`) must stay valid
  // until the answer is written: a literal, a string of the filter's config,
  // or a string of the RequestContext.
  std::string_view content_type = "text/plain; charset=utf-8";
  std::string body;
  // When not null, the body instead of `body` (a cache entry's): valid until
  // the answer is written, which happens at once (kRespond, RespondLocally).
  std::string_view body_view;
  // Fields of this answer besides Content-Type and Content-Length (e.g. an
  // auth service's Location); written after the response phase's edits.
  std::vector<http::Header> fields;
};

enum class Outcome : uint8_t {
  kNone,       // still running
  kForwarded,  // the upstream's response was forwarded whole
  kLocal,      // a filter answered (health, auth, rate limit, ...)
  kError,      // ended by a ProxyError (answered with its status, or cut)
  kTunnel,     // a 101 tunnel ran and both sides closed
};

// The client connection's TLS, when it has it: filled once after the
// handshake by the connection, which outlives its exchanges.
struct ConnectionTls {
  std::string version;        // "TLSv1.3"
  std::string server_name;    // SNI ("" if none was sent)
  std::string peer_subject;   // the client certificate's subject (RFC 2253); "" without one
  std::string peer_uri_sans;  // its URI SANs, ", " joined
  // What a service's tls.peer_header carries: Subject="...";URI=...;URI=...
  std::string peer_header_value;
  bool resumed = false;
};

// What the cache filter did with an exchange (filters/cache_filter.h).
enum class CacheResult : uint8_t {
  kNone,         // not looked up (not a GET or HEAD, or no cache)
  kHit,          // answered from a fresh entry
  kMiss,         // no usable entry: the upstream answered
  kStale,        // answered from a stale entry (stale-if-error, max-stale)
  kRevalidated,  // a stale entry the upstream confirmed (304)
};
inline constexpr size_t kCacheResults = 5;

struct CacheExchange {
  CacheResult result = CacheResult::kNone;
  bool unsafe = false;        // an unsafe method: a 2xx/3xx answer invalidates
  bool revalidating = false;  // the upstream request carries an entry's validators
  bool consult = false;       // the exchange calls OnUpstreamResponse
  bool store = false;         // the exchange keeps the body and calls OnResponseComplete
  bool head_request = false;  // HEAD: never stored
  bool leader = false;        // other misses of the key wait for this one's fetch
  std::string key;
  std::string body;  // the upstream's body, kept for storing
  // Field values the edits view.
  std::string age;
  std::string if_none_match;
  std::string if_modified_since;
  int64_t request_time = 0;
  std::unique_ptr<cache::StoredResponse> pending;  // the answer to store, its body aside
  std::unique_ptr<cache::StoredResponse> stale;    // the entry a revalidation is of
};

// Every field added here is also cleared in Reset().
class RequestContext {
 public:
  // Copies `head`, parsed from `input` (its views point into input's first
  // head.head_size bytes), so that it outlives that buffer; request() then
  // views this context's own storage.
  void SetRequest(const http::RequestHead& head, std::string_view input);
  bool has_request() const { return has_request_; }
  // The egress listener's rewrite: the target becomes `target` (origin-form)
  // and, unless `host` is empty, the Host field (and request().host) `host`.
  void RewriteTarget(std::string_view target, std::string_view host);
  // Forgets the last exchange, keeping every string's and vector's capacity:
  // a connection keeps one context and resets it for each of its exchanges,
  // so a warm keep-alive connection allocates nothing per request.
  void Reset();
  // The request's head; an empty one until SetRequest (an answer to a head
  // that did not parse, or before the first request).
  const http::RequestHead& request() const { return has_request_ ? request_ : EmptyHead(); }
  // The target's path (up to '?'), and the query without '?'.
  std::string_view path() const;
  // The first field named `name` (case-insensitive), or nullptr.
  const http::Header* FindRequestHeader(std::string_view name) const;
  // The value of cookie `name` in the request's Cookie fields (quotes
  // removed), or "".
  std::string_view FindCookie(std::string_view name) const;

  // The order keeps what every exchange touches (the exchange's own records,
  // the filters' flags) in the first cache lines, and what only configured
  // filters fill after it.
  std::string_view service_name;       // the service's (lives as long as its config)
  std::string_view client_ip;          // the connection's (it outlives its exchanges)
  const ConnectionTls* tls = nullptr;  // the connection's; null: plain HTTP

  // Recorded by the exchange (LoopNowNs clock).
  int64_t start_ns = 0;
  int64_t response_head_ns = 0;
  int64_t end_ns = 0;
  int64_t upstream_start_ns = 0;  // the first upstream attempt began (0: none)
  int64_t upstream_head_ns = 0;   // the upstream's response head arrived (0: none)
  int response_status = 0;        // what the client got (0: cut before a head)
  uint64_t response_head_bytes = 0;
  // The upstream's response head, during the response phase only (nullptr for
  // local answers).
  const http::ResponseHead* upstream_response = nullptr;
  int upstream_index = -1;
  std::string_view upstream_address;  // its address as configured ("" while none was chosen)
  int attempts = 0;
  // A retry the policy allowed was not made: too many in flight already.
  bool retry_budget_exhausted = false;
  // A circuit breaker limit this exchange met (proxy/circuit_breaker.h):
  // answered 503 (requests, pending) or not retried (retries).
  enum class Overflow : uint8_t { kNone, kRequests, kPending, kRetries };
  static constexpr size_t kOverflowReasons = 3;
  Overflow overflow = Overflow::kNone;
  uint64_t request_body_bytes = 0;
  uint64_t response_body_bytes = 0;
  Outcome outcome = Outcome::kNone;
  ProxyError error;
  // For metrics and logs: the refusal an authentication filter made (its
  // AuthFailure, as an index; -1: none), and the rate limit's decision.
  int8_t auth_failure = -1;
  enum class RateLimited : uint8_t { kNo, kRefused, kShadow };  // kShadow: enforce false
  RateLimited rate_limited = RateLimited::kNo;
  // Set by the fault filter: what it injected into this exchange (for metrics
  // and logs).
  enum class FaultInjected : uint8_t { kNone, kDelay, kAbort, kDelayAndAbort };
  FaultInjected fault = FaultInjected::kNone;
  // Set by the auth filter: the request's endpoint is public, so no
  // authentication step runs on it (forward auth included).
  bool public_endpoint = false;
  // Set by the auth filter: the path prefix of the `endpoints` entry the
  // request matched (a view into the filter's config), for spans; "" if none.
  std::string_view route;
  // Set by the exchange (traffic splitting, issue 19; views into its config's
  // route table): the name of the record's route that took the request, and
  // the subset it sent it to ("" for none).
  std::string_view route_name;
  std::string_view subset;
  // The call a paused filter waits on (so that its OnCancel can cancel it).
  SideCall* side_call = nullptr;
  // Its flags come first: they are read on every exchange, the rest only
  // when the service caches.
  CacheExchange cache;
  // Mutable: the log phase's calls into plugins (on a const context) set it.
  mutable ExtensionCall extension;

  // Added by filters.
  std::string request_id;
  // Set by an authentication filter (JWT `sub`, an API key's name, ...); ""
  // while anonymous. For logs and later filters.
  std::string identity;
  // Claims an authentication filter verified, as text (strings as they are,
  // numbers and booleans as JSON, arrays of strings joined with ' '), for
  // later filters (rate-limit keys "claim:<name>", forward_claims) and logs.
  std::vector<std::pair<std::string, std::string>> claims;
  // Filled once per exchange by the authentication filter (views into it,
  // e.g. forwarded claim headers, stay valid: nothing is added later).
  // The value of claim `name`, or nullptr.
  const std::string* FindClaim(std::string_view name) const {
    for (const auto& [key, value] : claims) {
      if (key == name) return &value;
    }
    return nullptr;
  }
  // What the rate-limit filter's request phase leaves for its response phase
  // (the response fields point into it, so it must live in the exchange):
  // "<Retry-After seconds>\n<RateLimit field value>", the first part only on
  // a refusal, the second only when an advertised limit applied; "" when the
  // filter adds nothing.
  std::string rate_limit_header;
  // What the forward-auth filter keeps for the exchange, viewed by the edits
  // and the answer it makes: the auth service's field values copied onto the
  // upstream request (a 2xx), or the Content-Type and fields of its refusal.
  std::string forward_auth;
  // A WWW-Authenticate challenge for a local 401/403 (response_edits views it).
  std::string www_authenticate;
  // Set by the tracing filter (all zero when the service does not trace):
  // the request's trace, and what the upstream fields view (tracestate when
  // it had to be rebuilt, the formatted ids).
  tracing::TraceContext trace;
  std::string tracestate_buffer;
  HeaderEdits upstream_edits;    // on the request head sent upstream
  HeaderEdits response_edits;    // on the response head sent to the client
  LocalResponse local_response;  // with Verdict::kRespond
  // The tracing filter's formatted ids (see `trace`); last, as Reset never
  // touches it.
  std::array<char, tracing::kTraceHeaderBufferSize> trace_header_buffer;

 private:
  static const http::RequestHead& EmptyHead();
  bool has_request_ = false;
  std::string head_bytes_;
  std::string target_;  // RewriteTarget's
  std::string host_;
  http::RequestHead request_;
};

}  // namespace icaht::filters

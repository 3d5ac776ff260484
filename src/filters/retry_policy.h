#pragma once
// The record's `retries` (issue 12): when an attempt at the upstream may be
// repeated on another instance, and how long to wait first. Pure decisions;
// the exchange (proxy/exchange.cc) applies them.
//
//   "retries": {"attempts": 3, "retry_on": ["connect-failure", "gateway-error"],
//               "per_try_timeout_ms": 2000, "backoff_base_ms": 25, "backoff_max_ms": 250,
//               "budget_percent": 20, "min_retry_concurrency": 3}
//               "replay_body_bytes": 65536}
//   (defaults: 2 attempts, connect-failure refused-stream gateway-error, no
//   per-try timeout, 25..250 ms, 20 %, 3, 64 KiB)
//
// retry_on: connect-failure (refused, unreachable, timed out: nothing was
// sent), refused-stream (a reused keep-alive connection closed before any
// answer: HTTP/1.1's form of HTTP/2's REFUSED_STREAM), reset (the connection
// died before the response head), gateway-error (502, 503, 504, and a
// per-try timeout), 5xx (500-599 and a per-try timeout),
// retriable-status:<code>[,<code>...].
//
// Only when safe: a connect failure may be retried for any request (nothing
// reached the upstream), a request the upstream cannot have acted on for any
// method without a body; anything else only for an idempotent method (GET,
// HEAD, OPTIONS, TRACE, PUT, DELETE), and with a request body only when the
// body was kept whole for replay (at most replay_body_bytes; a larger one is
// streamed, spliced when long, and never repeated). Never more attempts than `attempts`, and
// never more retries in flight on a shard than the budget allows:
// max(min_retry_concurrency, budget_percent of the requests in flight), so
// retries cannot multiply an outage.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "filters/proxy_error.h"
#include "http/message.h"

namespace icaht::filters {

enum RetryOn : uint32_t {
  kRetryConnectFailure = 1u << 0,
  kRetryRefusedStream = 1u << 1,
  kRetryReset = 1u << 2,
  kRetryGatewayError = 1u << 3,
  kRetry5xx = 1u << 4,
  kRetryStatus = 1u << 5,  // retriable_statuses
};

struct RetryPolicy {
  uint32_t attempts = 2;  // tries in all, the first included: 1..10
  uint32_t retry_on = kRetryConnectFailure | kRetryRefusedStream | kRetryGatewayError;
  std::vector<uint16_t> retriable_statuses;  // with kRetryStatus
  // Bounds every attempt's wait for its response head, the last one and
  // those that could not be retried included (as Envoy's per_try_timeout);
  // 0: only request_ms. All attempts together stay within request_ms from
  // the first one.
  uint32_t per_try_timeout_ms = 0;
  uint32_t backoff_base_ms = 25;
  uint32_t backoff_max_ms = 250;
  uint32_t budget_percent = 20;
  uint32_t min_retry_concurrency = 3;
  // Request bodies up to this size are kept while they stream to the first
  // attempt, so a retry can send them again (Linkerd's 64 KiB); 0: bodies are
  // never replayed.
  uint32_t replay_body_bytes = 64 * 1024;
  friend bool operator==(const RetryPolicy&, const RetryPolicy&) = default;
};

// Parses one retry_on entry into `policy` (false: unknown).
bool AddRetryOn(std::string_view entry, RetryPolicy& policy);
// The entries, canonical ("connect-failure", ..., "retriable-status:502,503").
std::vector<std::string> RetryOnNames(const RetryPolicy& policy);

bool IsIdempotent(http::Method method);

// How one attempt ended: a failure before any response head (`error`), a
// response head (`status`), or the per-try timeout.
struct AttemptEnd {
  ErrorKind error = ErrorKind::kNone;
  int status = 0;
  bool per_try_timeout = false;
  bool reused_connection = false;  // the attempt ran on a pooled connection
  // The upstream cannot have acted on the request (ProxyError::retryable: it
  // closed before reading it, e.g. the keep-alive race).
  bool unprocessed = false;
};

struct RetryContext {
  http::Method method = http::Method::kGet;
  bool has_body = false;
  // The body is kept whole for replay (RetryPolicy::replay_body_bytes).
  bool body_replayable = false;
  int attempts_made = 1;
  size_t instances = 1;
  uint32_t retries_in_flight = 0;   // this service's, on this shard
  uint32_t requests_in_flight = 0;  // this service's, on this shard
};

enum class RetryVerdict : uint8_t { kRetry, kNotRetryable, kNoAttemptsLeft, kBudgetExhausted };
RetryVerdict DecideRetry(const RetryPolicy& policy, const AttemptEnd& end,
                         const RetryContext& context);

// Full jitter: uniform in [0, min(max, base * 2^(retry - 1))) for the
// `retry`-th retry (1-based); `random01` in [0, 1).
int64_t RetryBackoffNs(const RetryPolicy& policy, int retry, double random01);

}  // namespace icaht::filters

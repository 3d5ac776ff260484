#include "filters/retry_policy.h"

#include <algorithm>
#include <charconv>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace icaht::filters {
namespace {

constexpr std::pair<std::string_view, uint32_t> kRetryOnNames[] = {
    {"connect-failure", kRetryConnectFailure},
    {"refused-stream", kRetryRefusedStream},
    {"reset", kRetryReset},
    {"gateway-error", kRetryGatewayError},
    {"5xx", kRetry5xx},
};
constexpr std::string_view kStatusPrefix = "retriable-status:";

bool StatusMatches(const RetryPolicy& policy, int status) {
  if ((policy.retry_on & kRetryGatewayError) && (status == 502 || status == 503 || status == 504)) {
    return true;
  }
  if ((policy.retry_on & kRetry5xx) && status >= 500 && status <= 599) return true;
  return (policy.retry_on & kRetryStatus) &&
         std::find(policy.retriable_statuses.begin(), policy.retriable_statuses.end(), status) !=
             policy.retriable_statuses.end();
}

}  // namespace

bool AddRetryOn(std::string_view entry, RetryPolicy& policy) {
  for (const auto& [name, bit] : kRetryOnNames) {
    if (entry == name) {
      policy.retry_on |= bit;
      return true;
    }
  }
  if (!entry.starts_with(kStatusPrefix)) return false;
  std::vector<uint16_t> codes;
  for (absl::string_view code :
       absl::StrSplit(absl::string_view(entry.data() + kStatusPrefix.size(),
                                        entry.size() - kStatusPrefix.size()),
                      ',')) {
    int n = 0;
    auto [end, ec] = std::from_chars(code.data(), code.data() + code.size(), n);
    if (ec != std::errc() || end != code.data() + code.size() || n < 400 || n > 599) return false;
    codes.push_back(static_cast<uint16_t>(n));
  }
  policy.retry_on |= kRetryStatus;
  for (uint16_t code : codes) {
    if (std::find(policy.retriable_statuses.begin(), policy.retriable_statuses.end(), code) ==
        policy.retriable_statuses.end()) {
      policy.retriable_statuses.push_back(code);
    }
  }
  return true;
}

std::vector<std::string> RetryOnNames(const RetryPolicy& policy) {
  std::vector<std::string> out;
  for (const auto& [name, bit] : kRetryOnNames) {
    if (policy.retry_on & bit) out.emplace_back(name);
  }
  if ((policy.retry_on & kRetryStatus) && !policy.retriable_statuses.empty()) {
    out.push_back(std::string(kStatusPrefix) + absl::StrJoin(policy.retriable_statuses, ","));
  }
  return out;
}

bool IsIdempotent(http::Method method) {
  switch (method) {
    case http::Method::kGet:
    case http::Method::kHead:
    case http::Method::kOptions:
    case http::Method::kTrace:
    case http::Method::kPut:
    case http::Method::kDelete:
      return true;
    default:
      return false;
  }
}

RetryVerdict DecideRetry(const RetryPolicy& policy, const AttemptEnd& end,
                         const RetryContext& context) {
  // A failed TLS handshake is a failed connect too: nothing was sent.
  const bool connect_failure = end.error == ErrorKind::kConnectRefused ||
                               end.error == ErrorKind::kConnectTimeout ||
                               end.error == ErrorKind::kUpstreamTls;
  bool wanted = false;
  if (connect_failure) {
    wanted = policy.retry_on & kRetryConnectFailure;
  } else if (end.per_try_timeout) {
    wanted = policy.retry_on & (kRetryGatewayError | kRetry5xx);
  } else if (end.error == ErrorKind::kUpstreamReset) {
    wanted = (policy.retry_on & kRetryReset) ||
             (end.reused_connection && (policy.retry_on & kRetryRefusedStream));
  } else if (end.error == ErrorKind::kNone && end.status != 0) {
    wanted = StatusMatches(policy, end.status);
  }
  if (!wanted) return RetryVerdict::kNotRetryable;
  // Anything but a connect failure may have reached the upstream: only a
  // request whose body (if any) was kept to send again repeats, and only an
  // idempotent one unless the upstream cannot have acted on it.
  if (!connect_failure && ((context.has_body && !context.body_replayable) ||
                           !(end.unprocessed || IsIdempotent(context.method)))) {
    return RetryVerdict::kNotRetryable;
  }
  if (context.attempts_made >= static_cast<int>(policy.attempts)) {
    return RetryVerdict::kNoAttemptsLeft;
  }
  const uint64_t budget =
      std::max<uint64_t>(policy.min_retry_concurrency,
                         uint64_t{context.requests_in_flight} * policy.budget_percent / 100);
  if (context.retries_in_flight >= budget) return RetryVerdict::kBudgetExhausted;
  return RetryVerdict::kRetry;
}

int64_t RetryBackoffNs(const RetryPolicy& policy, int retry, double random01) {
  uint64_t ceiling_ms = policy.backoff_base_ms;
  for (int i = 1; i < retry && ceiling_ms < policy.backoff_max_ms; ++i) ceiling_ms *= 2;
  ceiling_ms = std::min<uint64_t>(ceiling_ms, policy.backoff_max_ms);
  return static_cast<int64_t>(static_cast<double>(ceiling_ms) * 1e6 * random01);
}

}  // namespace icaht::filters

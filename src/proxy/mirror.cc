#include "proxy/mirror.h"

#include <utility>

#include "core/check.h"
#include "core/log.h"

namespace icaht::proxy {

static_assert(static_cast<size_t>(Mirror::Result::kTooLarge) + 1 == metrics::kMirrorResults);

namespace {

constexpr std::string_view kShadowSuffix = "-shadow";
constexpr std::string_view kEndOfHead = "\r\n\r\n";

bool IsDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Where the ":port" of a Host value starts, or npos (an IPv6 literal's
// colons are inside its brackets).
size_t PortStart(std::string_view host) {
  size_t colon = host.rfind(':');
  if (colon == std::string_view::npos) return colon;
  size_t bracket = host.rfind(']');
  if (bracket != std::string_view::npos && bracket > colon) return std::string_view::npos;
  return IsDigits(host.substr(colon + 1)) ? colon : std::string_view::npos;
}

// The field name of a header line ("Name: value"), or "" when it has none.
std::string_view FieldName(std::string_view line) {
  size_t colon = line.find(':');
  return colon == std::string_view::npos ? std::string_view() : line.substr(0, colon);
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string ShadowHost(std::string_view host) {
  size_t port = PortStart(host);
  std::string out;
  out.reserve(host.size() + kShadowSuffix.size());
  out.append(host.substr(0, port)).append(kShadowSuffix);
  if (port != std::string_view::npos) out.append(host.substr(port));
  return out;
}

void BuildMirrorHead(std::string_view head, std::string* out) {
  out->reserve(out->size() + head.size() + 32);
  size_t line_end = head.find("\r\n");
  ICAHT_CHECK(line_end != std::string_view::npos);
  out->append(head.substr(0, line_end + 2));  // the request line
  head.remove_prefix(line_end + 2);
  while (!head.empty()) {
    line_end = head.find("\r\n");
    if (line_end == std::string_view::npos) line_end = head.size();
    std::string_view line = head.substr(0, line_end);
    head.remove_prefix(std::min(head.size(), line_end + 2));
    if (line.empty()) break;  // the blank line ending the head
    std::string_view name = FieldName(line);
    if (http::EqualsIgnoreCase(name, "connection")) continue;
    if (http::EqualsIgnoreCase(name, "host")) {
      out->append(name).append(": ");
      out->append(ShadowHost(Trim(line.substr(name.size() + 1)))).append("\r\n");
      continue;
    }
    out->append(line).append("\r\n");
  }
  out->append("Connection: close\r\n\r\n");
}

std::string_view Mirror::ResultLabel(Result result) {
  switch (result) {
    case Result::kSent:
      return "sent";
    case Result::kFailed:
      return "failed";
    case Result::kDropped:
      return "dropped";
    case Result::kTooLarge:
      return "too_large";
  }
  return "";
}

Mirror::Mirror(MirrorConfig config, filters::SideCalls* calls,
               std::shared_ptr<metrics::ServiceSeries> series, size_t shard, uint64_t seed)
    : config_(std::move(config)),
      calls_(calls),
      series_(std::move(series)),
      shard_(shard),
      random_(seed != 0 ? core::FastRandom(seed) : core::FastRandom::FromEntropy()) {}

Mirror::~Mirror() {
  for (auto& [id, copy] : in_flight_) {
    copy.call->Cancel();
    Count(Result::kFailed);
  }
}

void Mirror::Count(Result result) {
  series_->shard(shard_).mirror[static_cast<size_t>(result)].Add();
}

bool Mirror::Sample(const http::RequestHead& head, bool has_body, BodyForwarder::Options* body,
                    std::string* keep) {
  // A tunnel is not a request that can be copied.
  if (head.upgrade || head.method_id == http::Method::kConnect) return false;
  // NextDouble is in [0, 1): 100 takes every request, 0 none.
  if (!(random_.NextDouble() * 100 < config_.percent)) return false;
  if (!has_body || body->hold) return true;  // a held body ends up whole in the head
  if (body->in == BodyForwarder::In::kContentLength && body->length > config_.max_body_bytes) {
    Count(Result::kTooLarge);
    return false;
  }
  // The retries may keep it already, maybe up to a larger bound.
  body->keep = keep;
  body->keep_max = std::max(body->keep_max, config_.max_body_bytes);
  body->allow_splice = false;
  return true;
}

void Mirror::Send(http::Method method, std::string_view upstream_head, std::string_view kept,
                  bool body_whole, uint64_t body_bytes) {
  if (!body_whole || body_bytes > config_.max_body_bytes) return Count(Result::kTooLarge);
  // The head is gone when the upstream answered before the request ended
  // (the exchange clears it then): nothing to copy.
  size_t head_size = upstream_head.find(kEndOfHead);
  if (head_size == std::string_view::npos) return;
  head_size += kEndOfHead.size();
  // The copy's size (its head grows by "-shadow" and "Connection: close").
  const size_t bytes = upstream_head.size() + kept.size() + 32;
  if (in_flight_.size() >= kMaxInFlight || in_flight_bytes_ + bytes > kMaxInFlightBytes) {
    return Count(Result::kDropped);
  }
  filters::SideCallRequest request;
  request.address = config_.address;
  request.method = method;
  request.timeout_ms = config_.timeout_ms;
  request.discard_body = true;
  request.bytes.reserve(bytes);
  BuildMirrorHead(upstream_head.substr(0, head_size), &request.bytes);
  request.bytes.append(upstream_head.substr(head_size));  // a held body
  request.bytes.append(kept);
  const uint64_t id = next_id_++;
  filters::SideCall* call = calls_->StartSideCall(
      std::move(request), [this, id](absl::StatusOr<http::ClientResponse> answer) {
        auto it = in_flight_.find(id);
        in_flight_bytes_ -= it->second.bytes;
        in_flight_.erase(it);
        if (answer.ok()) return Count(Result::kSent);
        Count(Result::kFailed);
        ICAHT_LOG_LIMITED(kWarn, "service '", series_->name(), "': mirror copy to ", config_.text,
                          " failed: ", answer.status().message());
      });
  in_flight_.emplace(id, Copy{call, bytes});
  in_flight_bytes_ += bytes;
}

}  // namespace icaht::proxy

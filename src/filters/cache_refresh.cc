// stale-while-revalidate's background revalidation (RFC 5861 section 3): the
// stale entry answers at once and the filter asks the upstream on its own.

#include "filters/cache_fields.h"
#include "filters/cache_filter.h"

namespace icaht::filters {
namespace {

// Long enough for a slow upstream, short enough that a dead one does not
// keep the key's refresh slot for long (the next stale hit tries again).
constexpr uint32_t kRefreshTimeoutMs = 15'000;

}  // namespace

void CacheFilter::Refresh(const RequestContext& ctx, const cache::StoredResponse& entry) {
  if (view_ == nullptr || side_calls_ == nullptr || refreshing_.contains(ctx.cache.key)) return;
  const net::Address* to = nullptr;
  for (size_t n = view_->upstream_count(), k = 0; k < n && to == nullptr; ++k) {
    size_t i = next_instance_++ % n;
    if (view_->upstream_usable(i)) to = view_->plain_upstream(i);
  }
  if (to == nullptr) return;  // none usable, or TLS only: the next request past the window asks
  const http::RequestHead& request = ctx.request();
  SideCallRequest call;
  call.address = *to;
  call.method = http::Method::kGet;
  call.timeout_ms = kRefreshTimeoutMs;
  call.max_body_bytes = spec_.max_object_bytes;
  // The entry's URI and variant: its Vary fields as they were when it was
  // stored, so the upstream picks the same representation.
  std::string& out = call.bytes;
  out.append("GET ").append(request.target).append(" HTTP/1.1\r\nHost: ");
  out.append(request.host).append("\r\n");
  auto field = [&out](std::string_view name, std::string_view value) {
    out.append(name).append(": ").append(value).append("\r\n");
  };
  for (const auto& [name, value] : entry.vary) {
    if (value) field(name, *value);
  }
  // What the filters before the cache add upstream (forwarded claims, the
  // request ID, ...), so that the origin answers as it would the request.
  for (const http::Header& h : ctx.upstream_edits.added()) {
    bool varied = false;
    for (const auto& [name, value] : entry.vary)
      varied = varied || http::EqualsIgnoreCase(name, h.name);
    if (!varied) field(h.name, h.value);
  }
  if (const std::string* etag = cache_fields::FindStored(entry, "etag")) {
    field("If-None-Match", *etag);
  }
  if (const std::string* modified = cache_fields::FindStored(entry, "last-modified")) {
    field("If-Modified-Since", *modified);
  }
  call.bytes.append("Via: 1.1 icaht\r\nConnection: close\r\n\r\n");
  std::string key = ctx.cache.key;
  SideCall* started = side_calls_->StartSideCall(
      std::move(call), [this, key, vary = entry.vary, request_time = NowSeconds()](
                           absl::StatusOr<http::ClientResponse> response) {
        Refreshed(key, vary, request_time, std::move(response));
      });
  refreshing_.emplace(std::move(key), started);
}

void CacheFilter::Refreshed(const std::string& key, const cache::StoredResponse::Vary& vary,
                            int64_t request_time, absl::StatusOr<http::ClientResponse> response) {
  refreshing_.erase(key);
  if (!response.ok()) return;  // the stale entry stays; a later stale hit tries again
  // The variant's own request fields, as the store compares them.
  auto fields = [&vary](std::string_view name) -> std::optional<std::string_view> {
    for (const auto& [n, v] : vary) {
      if (n == name) return v ? std::optional<std::string_view>(*v) : std::nullopt;
    }
    return std::nullopt;
  };
  std::vector<http::Header> head;
  for (const auto& [name, value] : response->headers) head.push_back({name, value});
  int64_t now = NowSeconds();
  if (response->status == 304) {
    const cache::StoredResponse* entry = store_->Find(key, fields);
    if (entry == nullptr) return;
    cache::StoredResponse fresh = *entry;
    cache_fields::ApplyNotModified(&fresh, head, request_time, now);
    store_->Put(key, std::move(fresh));
    if (view_ != nullptr) view_->CacheChanged();
    return;
  }
  cache::ResponseFacts facts = cache_fields::FactsOf(response->status, head);
  // Only a success or a redirect replaces the entry: an error keeps the
  // stale answer (stale-if-error's spirit), a new 404 waits for a real miss.
  if (response->status >= 400 ||
      !cache::Storable(facts, /*request_has_authorization=*/false, cache::CacheControl(),
                       heuristic_) ||
      response->Find("set-cookie") != nullptr) {
    return;
  }
  cache::StoredResponse fresh;
  fresh.status = response->status;
  fresh.headers = cache_fields::KeptFields(head);
  fresh.body = std::move(response->body);
  fresh.facts = facts;
  fresh.request_time = request_time;
  fresh.response_time = now;
  // The new answer's own Vary, over the variant's request fields.
  std::vector<std::string_view> names = cache_fields::Values(head, "vary");
  for (const std::string& name : spec_.key_headers) names.push_back(name);
  fresh.vary = cache::VaryKey(names, fields);
  store_->Put(key, std::move(fresh));
  if (view_ != nullptr) view_->CacheChanged();
}

}  // namespace icaht::filters

#pragma once
// What the cache filter (filters/cache_filter.h) reads from heads: field
// values, the facts RFC 9111 decides on, the fields a stored answer keeps.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cache/cache_policy.h"
#include "cache/store.h"
#include "filters/request_context.h"
#include "http/field_syntax.h"
#include "http/message.h"

namespace icaht::filters::cache_fields {

using Fields = std::vector<std::pair<std::string, std::string>>;

// Calls fn(element) for each comma-separated element of a field value, OWS
// trimmed, empty ones skipped.
template <typename Fn>
void ForEachElement(std::string_view value, Fn fn) {
  for (;;) {
    size_t comma = value.find(',');
    std::string_view element = http::TrimOws(value.substr(0, comma));
    if (!element.empty()) fn(element);
    if (comma == std::string_view::npos) return;
    value.remove_prefix(comma + 1);
  }
}

std::vector<std::string_view> Values(const std::vector<http::Header>& headers,
                                     std::string_view name);
const http::Header* FindField(const std::vector<http::Header>& headers, std::string_view name);
const std::string* FindStored(const cache::StoredResponse& r, std::string_view name);

// A request field's value as the store compares it: every field line of
// that name joined by ", " (the view lasts until the next call).
// With `edits` (the exchange's upstream edits), the request as the upstream
// gets it: a field the filters removed or replaced (forwarded claims, forward
// auth) is what they sent, not what the client did, so a Vary on it cannot
// hand one user's answer to another.
class RequestFields {
 public:
  explicit RequestFields(const http::RequestHead& request, const HeaderEdits* edits = nullptr)
      : request_(request), edits_(edits) {}
  std::optional<std::string_view> operator()(std::string_view name) const {
    const std::string_view* first = nullptr;
    joined_.clear();
    auto take = [&](const std::string_view& value) {
      if (first == nullptr) {
        first = &value;
        return;
      }
      if (joined_.empty()) joined_.assign(*first);
      joined_.append(", ").append(value);
    };
    if (edits_ == nullptr || !edits_->Removes(name)) {
      for (const http::Header& h : request_.headers) {
        if (http::EqualsIgnoreCase(h.name, name)) take(h.value);
      }
    }
    if (edits_ != nullptr) {
      for (const http::Header& h : edits_->added()) {
        if (http::EqualsIgnoreCase(h.name, name)) take(h.value);
      }
    }
    if (first == nullptr) return std::nullopt;
    return joined_.empty() ? *first : std::string_view(joined_);
  }

 private:
  const http::RequestHead& request_;
  const HeaderEdits* edits_;
  mutable std::string joined_;
};

// The request's Cache-Control (with Pragma: no-cache when it has none).
cache::CacheControl RequestCacheControl(const http::RequestHead& request);
cache::ResponseFacts FactsOf(int status, const std::vector<http::Header>& headers);
cache::ResponseFacts FactsOf(int status, const Fields& headers);
// What a stored response keeps of a head: its end-to-end fields (RFC 9111
// section 3.1) less the framing and Age, which the answer gets anew.
bool Kept(std::string_view name, const std::vector<http::Header>& headers);
Fields KeptFields(const std::vector<http::Header>& headers);
// `stored` with each field `update` carries replacing those of its name
// (RFC 9111 section 4.3.4).
Fields Merged(const Fields& stored, const Fields& update);
// RFC 9111 section 4.3.4: a 304 (`head`) refreshes `entry`: its kept fields
// replace the stored ones of their names, the facts are recomputed (the
// stored status kept), the 304's own Age counts, and the times become the
// revalidation's.
void ApplyNotModified(cache::StoredResponse* entry, const std::vector<http::Header>& head,
                      int64_t request_time, int64_t response_time);

}  // namespace icaht::filters::cache_fields

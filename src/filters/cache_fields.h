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
class RequestFields {
 public:
  explicit RequestFields(const http::RequestHead& request) : request_(request) {}
  std::optional<std::string_view> operator()(std::string_view name) const {
    const http::Header* first = nullptr;
    joined_.clear();
    for (const http::Header& h : request_.headers) {
      if (!http::EqualsIgnoreCase(h.name, name)) continue;
      if (first == nullptr) {
        first = &h;
        continue;
      }
      if (joined_.empty()) joined_.assign(first->value);
      joined_.append(", ").append(h.value);
    }
    if (first == nullptr) return std::nullopt;
    return joined_.empty() ? first->value : std::string_view(joined_);
  }

 private:
  const http::RequestHead& request_;
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

}  // namespace icaht::filters::cache_fields

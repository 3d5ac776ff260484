#include "filters/cache_fields.h"

namespace icaht::filters::cache_fields {
namespace {

using cache::CacheControl;
using cache::ResponseFacts;

template <typename Headers, typename Get>
ResponseFacts FactsOf(int status, const Headers& headers, Get get) {
  ResponseFacts facts;
  facts.status = status;
  std::vector<std::string_view> cc;
  for (const auto& h : headers) {
    std::string_view name = get(h).first;
    std::string_view value = get(h).second;
    if (http::EqualsIgnoreCase(name, "cache-control")) {
      cc.push_back(value);
    } else if (http::EqualsIgnoreCase(name, "date")) {
      facts.date = cache::ParseHttpDate(value);
    } else if (http::EqualsIgnoreCase(name, "expires")) {
      facts.expires = cache::ParseHttpDate(value);
      facts.expires_invalid = !facts.expires.has_value();
    } else if (http::EqualsIgnoreCase(name, "last-modified")) {
      facts.last_modified = cache::ParseHttpDate(value);
    } else if (http::EqualsIgnoreCase(name, "age")) {
      int64_t age = 0;
      bool digits = !value.empty() && value.size() <= 10;
      for (char c : value) {
        digits = digits && http::IsDigit(c);
        age = age * 10 + (c - '0');
      }
      facts.age = digits ? age : 0;
    } else if (http::EqualsIgnoreCase(name, "vary")) {
      ForEachElement(value, [&](std::string_view e) {
        if (e == "*") facts.vary_star = true;
      });
    }
  }
  facts.cc = cache::ParseCacheControl(cc);
  return facts;
}

std::pair<std::string_view, std::string_view> Of(const http::Header& h) {
  return {h.name, h.value};
}
std::pair<std::string_view, std::string_view> Of(const std::pair<std::string, std::string>& h) {
  return {h.first, h.second};
}

}  // namespace

std::vector<std::string_view> Values(const std::vector<http::Header>& headers,
                                     std::string_view name) {
  std::vector<std::string_view> out;
  for (const http::Header& h : headers) {
    if (http::EqualsIgnoreCase(h.name, name)) out.push_back(h.value);
  }
  return out;
}

const http::Header* FindField(const std::vector<http::Header>& headers, std::string_view name) {
  for (const http::Header& h : headers) {
    if (http::EqualsIgnoreCase(h.name, name)) return &h;
  }
  return nullptr;
}

const std::string* FindStored(const cache::StoredResponse& r, std::string_view name) {
  for (const auto& [key, value] : r.headers) {
    if (http::EqualsIgnoreCase(key, name)) return &value;
  }
  return nullptr;
}

CacheControl RequestCacheControl(const http::RequestHead& request) {
  std::vector<std::string_view> values = Values(request.headers, "cache-control");
  CacheControl cc = cache::ParseCacheControl(values);
  // RFC 9111 section 5.4: Pragma: no-cache counts only without Cache-Control.
  if (values.empty()) {
    for (std::string_view pragma : Values(request.headers, "pragma")) {
      ForEachElement(pragma, [&](std::string_view e) {
        if (http::EqualsIgnoreCase(e, "no-cache")) cc.no_cache = true;
      });
    }
  }
  return cc;
}

ResponseFacts FactsOf(int status, const std::vector<http::Header>& headers) {
  return FactsOf(status, headers, [](const http::Header& h) { return Of(h); });
}
ResponseFacts FactsOf(int status, const Fields& headers) {
  return FactsOf(status, headers, [](const auto& h) { return Of(h); });
}

bool Kept(std::string_view name, const std::vector<http::Header>& headers) {
  return !http::IsHopByHop(name) && !http::NameEquals(name, "content-length") &&
         !http::NameEquals(name, "age") && !http::ConnectionHasToken(headers, name);
}

Fields KeptFields(const std::vector<http::Header>& headers) {
  Fields kept;
  for (const http::Header& h : headers) {
    if (Kept(h.name, headers)) kept.emplace_back(h.name, h.value);
  }
  return kept;
}

Fields Merged(const Fields& stored, const Fields& update) {
  Fields merged = stored;
  for (const auto& field : update) {
    std::erase_if(merged,
                  [&](const auto& h) { return http::EqualsIgnoreCase(h.first, field.first); });
  }
  merged.insert(merged.end(), update.begin(), update.end());
  return merged;
}

void ApplyNotModified(cache::StoredResponse* entry, const std::vector<http::Header>& head,
                      int64_t request_time, int64_t response_time) {
  entry->headers = Merged(entry->headers, KeptFields(head));
  entry->facts = FactsOf(entry->status, entry->headers);
  entry->facts.age = FactsOf(304, head).age;
  entry->request_time = request_time;
  entry->response_time = response_time;
}

}  // namespace icaht::filters::cache_fields

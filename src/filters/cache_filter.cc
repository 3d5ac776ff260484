#include "filters/cache_filter.h"

#include <algorithm>
#include <array>

#include "absl/strings/str_cat.h"
#include "core/check.h"
#include "core/timer_queue.h"
#include "filters/cache_fields.h"
#include "http/field_syntax.h"

namespace icaht::filters {
namespace {

using cache::CacheControl;
using cache::ResponseFacts;
using cache::StoredResponse;
using cache_fields::FactsOf;
using cache_fields::FindField;
using cache_fields::FindStored;
using cache_fields::ForEachElement;
using cache_fields::KeptFields;
using cache_fields::RequestCacheControl;
using cache_fields::RequestFields;
using cache_fields::Values;

std::string_view StripWeak(std::string_view tag) {
  return tag.size() > 2 && tag[0] == 'W' && tag[1] == '/' ? tag.substr(2) : tag;
}

// If-None-Match's weak comparison (RFC 9110 section 13.1.2) against `etag`.
bool EtagListMatches(std::string_view list, std::string_view etag) {
  bool match = false;
  ForEachElement(list, [&](std::string_view e) {
    if (e == "*" || (!etag.empty() && StripWeak(e) == StripWeak(etag))) match = true;
  });
  return match;
}

// The client's own conditionals hold for the entry: it gets a 304.
bool NotModified(const http::RequestHead& request, const StoredResponse& entry) {
  if (entry.status != 200) return false;
  const std::string* etag = FindStored(entry, "etag");
  if (const http::Header* inm = FindField(request.headers, "if-none-match")) {
    return EtagListMatches(inm->value, etag != nullptr ? *etag : std::string_view());
  }
  const http::Header* ims = FindField(request.headers, "if-modified-since");
  if (ims == nullptr) return false;
  std::optional<int64_t> since = cache::ParseHttpDate(ims->value);
  std::optional<int64_t> modified =
      entry.facts.last_modified ? entry.facts.last_modified : entry.facts.date;
  return since && modified && *modified <= *since;
}

// The fields a 304 carries (RFC 9110 section 15.4.5).
bool In304(std::string_view name) {
  static constexpr std::array<std::string_view, 7> kFields = {
      "cache-control", "content-location", "date", "etag", "expires", "vary", "last-modified"};
  return std::any_of(kFields.begin(), kFields.end(),
                     [&](std::string_view f) { return http::NameEquals(name, f); });
}

std::string_view ResultText(CacheResult result) {
  switch (result) {
    case CacheResult::kHit:
      return "HIT";
    case CacheResult::kMiss:
      return "MISS";
    case CacheResult::kStale:
      return "STALE";
    case CacheResult::kRevalidated:
      return "REVALIDATED";
    case CacheResult::kNone:
      break;
  }
  return "";
}

bool Unsafe(http::Method method) {
  return method != http::Method::kGet && method != http::Method::kHead &&
         method != http::Method::kOptions && method != http::Method::kTrace;
}

}  // namespace

CacheFilter::CacheFilter(const CacheSpec& spec, std::shared_ptr<cache::Store> store,
                         core::TimerQueue* timers, const ServiceView* view, SideCalls* side_calls)
    : spec_(spec),
      heuristic_{.enabled = spec.heuristic,
                 .percent = spec.heuristic_percent,
                 .max_s = spec.heuristic_max_s},
      store_(std::move(store)),
      timers_(timers),
      view_(view),
      side_calls_(side_calls) {}

CacheFilter::~CacheFilter() {
  for (auto& [key, call] : refreshing_) call->Cancel();
}

int64_t CacheFilter::NowSeconds() { return core::WallClockNs() / 1'000'000'000; }

void CacheFilter::Key(std::string_view target, std::string_view host, bool tls,
                      std::string* key) const {
  if (spec_.key_ignore_query) target = target.substr(0, target.find('?'));
  key->assign(target).append("\n").append(tls ? "https://" : "http://");
  size_t at = key->size();
  key->append(host);
  for (size_t i = at; i < key->size(); ++i) (*key)[i] = http::ToLowerAscii((*key)[i]);
}

CacheFilter::Freshness CacheFilter::Evaluate(const StoredResponse& entry, int64_t now) const {
  return {cache::FreshnessLifetime(entry.facts, entry.response_time, heuristic_),
          cache::CurrentAge(entry.facts, entry.request_time, entry.response_time, now)};
}

Verdict CacheFilter::NotCached(RequestContext& ctx, std::string_view why) {
  ctx.local_response.status = 504;
  ctx.local_response.body.assign(why).append(" (only-if-cached)\n");
  return Verdict::kRespond;
}

Verdict CacheFilter::OnRequestHead(RequestContext& ctx, FilterCallbacks& callbacks) {
  const http::RequestHead& request = ctx.request();
  CacheExchange& c = ctx.cache;
  const bool head = request.method_id == http::Method::kHead;
  if (request.method_id != http::Method::kGet && !head) {
    if (Unsafe(request.method_id)) {
      c.unsafe = true;
      Key(request.target, request.host, ctx.tls != nullptr, &c.key);
    }
    return Verdict::kContinue;
  }
  Key(request.target, request.host, ctx.tls != nullptr, &c.key);
  c.head_request = head;
  c.request_time = NowSeconds();
  c.result = CacheResult::kMiss;
  CacheControl q = RequestCacheControl(request);
  RequestFields fields(request, &ctx.upstream_edits);
  const StoredResponse* entry = store_->Find(c.key, fields);
  if (entry == nullptr) {
    if (q.only_if_cached) return NotCached(ctx, "not in the cache");
    if (timers_ == nullptr || spec_.collapse_timeout_ms == 0) return Verdict::kContinue;
    if (auto fetching = fetching_.find(c.key); fetching != fetching_.end()) {
      RequestContext* waiting = &ctx;
      auto waiter = std::make_unique<Waiter>([this, waiting] { WaitDone(waiting); });
      waiter->callbacks = &callbacks;
      timers_->Arm(&waiter->timer,
                   core::LoopNowNs() + int64_t{spec_.collapse_timeout_ms} * 1'000'000);
      auto [it, inserted] = waiting_.emplace(&ctx, std::move(waiter));
      ICAHT_CHECK(inserted);  // an exchange waits here at most once
      fetching->second.waiters.push_back(&ctx);
      return Verdict::kPause;
    }
    // Only a request whose answer others may share leads.
    const bool shareable = !head && !request.upgrade && !q.no_store &&
                           FindField(request.headers, "range") == nullptr &&
                           FindField(request.headers, "authorization") == nullptr &&
                           FindField(request.headers, "if-none-match") == nullptr &&
                           FindField(request.headers, "if-modified-since") == nullptr;
    if (shareable) {
      fetching_.emplace(c.key, Fetch{.leader = &ctx});
      c.leader = true;
    }
    return Verdict::kContinue;
  }
  Freshness f = Evaluate(*entry, c.request_time);
  switch (cache::Decide(q, entry->facts, f.lifetime, f.age)) {
    case cache::Use::kFresh:
      Answer(ctx, *entry, f.age, CacheResult::kHit);
      return Verdict::kRespond;
    case cache::Use::kStaleWhileRevalidate:
      Refresh(ctx, *entry);
      Answer(ctx, *entry, f.age, CacheResult::kStale);
      return Verdict::kRespond;
    case cache::Use::kRevalidate:
      break;
  }
  if (q.only_if_cached) return NotCached(ctx, "not fresh in the cache");
  // Stale: the upstream is asked whether the entry still holds, with the
  // entry's validators in place of any the client sent (a 304 then refreshes
  // the entry, and the client's own conditional is judged against it), and
  // a failure may still get the entry (stale-if-error). Without validators
  // the request goes as it came.
  c.consult = true;
  const std::string* etag = FindStored(*entry, "etag");
  const std::string* modified = FindStored(*entry, "last-modified");
  if (etag != nullptr || modified != nullptr) {
    ctx.upstream_edits.Remove("if-none-match");
    ctx.upstream_edits.Remove("if-modified-since");
    if (etag != nullptr) {
      c.if_none_match = *etag;
      ctx.upstream_edits.Add("If-None-Match", c.if_none_match);
    }
    if (modified != nullptr) {
      c.if_modified_since = *modified;
      ctx.upstream_edits.Add("If-Modified-Since", c.if_modified_since);
    }
    c.revalidating = true;
    // The entry the validators are of: a 304 refreshes this one, even if
    // the store evicted or replaced it meanwhile.
    c.stale = std::make_unique<StoredResponse>(*entry);
  }
  return Verdict::kContinue;
}

void CacheFilter::OnLog(const RequestContext& ctx) {
  if (ctx.cache.leader) Release(ctx);
}

void CacheFilter::Release(const RequestContext& leader) {
  auto fetching = fetching_.find(leader.cache.key);
  if (fetching == fetching_.end() || fetching->second.leader != &leader) return;
  // Woken from the timer queue (at once), not from inside this exchange.
  for (RequestContext* waiting : fetching->second.waiters) {
    auto it = waiting_.find(waiting);
    if (it == waiting_.end()) continue;
    it->second->released = true;
    timers_->Arm(&it->second->timer, core::LoopNowNs());
  }
  fetching_.erase(fetching);
}

void CacheFilter::OnCancel(RequestContext& ctx) {
  if (waiting_.erase(&ctx) == 0) return;  // destroying the waiter disarms its timer
  if (auto fetching = fetching_.find(ctx.cache.key); fetching != fetching_.end()) {
    std::erase(fetching->second.waiters, &ctx);
  }
}

void CacheFilter::WaitDone(RequestContext* ctx) {
  auto it = waiting_.find(ctx);
  ICAHT_CHECK(it != waiting_.end());
  FilterCallbacks* callbacks = it->second->callbacks;
  bool released = it->second->released;
  core::DeferDelete(it->second.release());  // this is its timer's callback
  waiting_.erase(it);
  if (!released) {
    // Timed out: it goes alone, and leaves the leader's queue.
    if (auto fetching = fetching_.find(ctx->cache.key); fetching != fetching_.end()) {
      std::erase(fetching->second.waiters, ctx);
    }
    return callbacks->Resume();
  }
  RequestFields fields(ctx->request(), &ctx->upstream_edits);
  const StoredResponse* entry = store_->Find(ctx->cache.key, fields);
  if (entry != nullptr) {
    Freshness f = Evaluate(*entry, NowSeconds());
    if (cache::Decide(RequestCacheControl(ctx->request()), entry->facts, f.lifetime, f.age) !=
        cache::Use::kRevalidate) {
      Answer(*ctx, *entry, f.age, CacheResult::kHit);
      return callbacks->RespondLocally();
    }
  }
  callbacks->Resume();  // nothing usable was stored: it goes upstream itself
}

void CacheFilter::Answer(RequestContext& ctx, const StoredResponse& entry, int64_t age,
                         CacheResult result) {
  ctx.cache.result = result;
  ctx.cache.age = absl::StrCat(age);
  LocalResponse& out = ctx.local_response;
  out.content_type = "";
  out.fields.clear();
  const bool not_modified = NotModified(ctx.request(), entry);
  out.status = not_modified ? 304 : entry.status;
  out.body.clear();
  out.body_view =
      not_modified ? std::string_view() : std::string_view(entry.body.data(), entry.body.size());
  for (const auto& [name, value] : entry.headers) {
    if (!not_modified || In304(name)) out.fields.push_back({name, value});
  }
}

void CacheFilter::OnResponseHead(RequestContext& ctx) {
  CacheExchange& c = ctx.cache;
  if (const http::ResponseHead* up = ctx.upstream_response; up != nullptr) {
    if (c.unsafe) {
      if (up->status >= 200 && up->status < 400) Invalidate(ctx, *up);
    } else if (c.result == CacheResult::kMiss && !c.head_request) {
      MaybeStore(ctx, *up);
    }
  }
  // Not to be stored (or a local answer): the waiters need not wait longer.
  if (c.leader && !c.store) {
    Release(ctx);
    c.leader = false;
  }
  if (c.result == CacheResult::kNone) return;
  if (!spec_.status_header.empty())
    ctx.response_edits.Add(spec_.status_header, ResultText(c.result));
  if (c.result != CacheResult::kMiss) ctx.response_edits.Add("Age", c.age);
}

void CacheFilter::MaybeStore(RequestContext& ctx, const http::ResponseHead& up) {
  CacheExchange& c = ctx.cache;
  const http::RequestHead& request = ctx.request();
  ResponseFacts facts = FactsOf(up.status, up.headers);
  bool authorization = FindField(request.headers, "authorization") != nullptr;
  if (!cache::Storable(facts, authorization, RequestCacheControl(request), heuristic_)) return;
  // A shared cache does not hand one client's cookie to the next.
  if (FindField(up.headers, "set-cookie") != nullptr) return;
  if (up.framing == http::BodyFraming::kContentLength &&
      up.content_length > store_->max_object_bytes()) {
    return;
  }
  auto pending = std::make_unique<StoredResponse>();
  pending->status = up.status;
  pending->headers = KeptFields(up.headers);
  pending->facts = facts;
  pending->request_time = c.request_time;
  pending->response_time = NowSeconds();
  std::vector<std::string_view> vary = Values(up.headers, "vary");
  for (const std::string& name : spec_.key_headers) vary.push_back(name);
  RequestFields fields(request, &ctx.upstream_edits);
  pending->vary = cache::VaryKey(vary, fields);
  c.pending = std::move(pending);
  c.store = true;
}

void CacheFilter::OnResponseComplete(RequestContext& ctx) {
  CacheExchange& c = ctx.cache;
  if (!c.store || c.pending == nullptr) return;
  c.pending->body = std::move(c.body);
  store_->Put(c.key, std::move(*c.pending));
  c.pending.reset();
  c.store = false;
  if (c.leader) {
    Release(ctx);
    c.leader = false;
  }
}

Verdict CacheFilter::OnUpstreamResponse(RequestContext& ctx, int status) {
  CacheExchange& c = ctx.cache;
  if (!c.consult) return Verdict::kContinue;
  const http::RequestHead& request = ctx.request();
  RequestFields fields(request, &ctx.upstream_edits);
  int64_t now = NowSeconds();
  const http::ResponseHead* up = ctx.upstream_response;
  if (c.revalidating && status == 304 && up != nullptr) {
    if (c.stale == nullptr) return Verdict::kContinue;
    StoredResponse& fresh = *c.stale;  // lives with the exchange, for the answer's views
    cache_fields::ApplyNotModified(&fresh, up->headers, c.request_time, now);
    store_->Put(c.key, fresh);
    Answer(ctx, fresh, Evaluate(fresh, now).age, CacheResult::kRevalidated);
    return Verdict::kRespond;
  }
  if (status < 500) return Verdict::kContinue;
  const StoredResponse* entry = store_->Find(c.key, fields);
  if (entry == nullptr) return Verdict::kContinue;
  Freshness f = Evaluate(*entry, now);
  if (!cache::UsableOnError(RequestCacheControl(request), entry->facts, f.lifetime, f.age)) {
    return Verdict::kContinue;
  }
  Answer(ctx, *entry, f.age, CacheResult::kStale);
  return Verdict::kRespond;
}

void CacheFilter::Invalidate(const RequestContext& ctx, const http::ResponseHead& up) {
  const http::RequestHead& request = ctx.request();
  std::vector<std::string> keys{ctx.cache.key};
  // Location and Content-Location on the same host (RFC 9111 section 4.4).
  for (std::string_view name : {"location", "content-location"}) {
    const http::Header* h = FindField(up.headers, name);
    if (h == nullptr) continue;
    std::string_view uri = h->value;
    for (std::string_view scheme : {"http://", "https://"}) {
      if (uri.size() > scheme.size() &&
          http::EqualsIgnoreCase(uri.substr(0, scheme.size()), scheme)) {
        std::string_view rest = uri.substr(scheme.size());
        size_t slash = rest.find('/');
        std::string_view authority = rest.substr(0, slash);
        if (!http::EqualsIgnoreCase(authority, request.host)) {
          uri = {};
          break;
        }
        uri = slash == std::string_view::npos ? "/" : rest.substr(slash);
      }
    }
    if (!uri.empty() && uri[0] == '/')
      Key(uri, request.host, ctx.tls != nullptr, &keys.emplace_back());
  }
  for (const std::string& key : keys) store_->Invalidate(key);
  if (view_ != nullptr) view_->InvalidateCacheElsewhere(keys);
}

}  // namespace icaht::filters

#pragma once
// The response cache (`cache` in the record, issue 16): an RFC 9111 shared
// cache per service and shard, in front of the upstream (the last filter
// before plugins, so auth, CORS preflights, limits and faults still apply to
// every request, hit or not). The rules are cache/cache_policy's; the
// entries live in the service's per-shard cache::Store (ShardService keeps it
// across record updates).
//
//   request phase   GET and HEAD: look the request up (primary key: scheme,
//                   Host, path and query, plus the key_headers' values;
//                   secondary key: the stored response's Vary). A usable
//                   entry answers here (X-Cache: HIT, Age; a client's
//                   If-None-Match / If-Modified-Since that it satisfies gets
//                   a 304). A stale one is revalidated: the upstream request
//                   carries the entry's validators. Otherwise the request
//                   goes upstream (MISS); only-if-cached gets a 504.
//                   Other methods pass; an unsafe one is remembered for the
//                   response phase.
//   response phase  a storable upstream answer to a GET (RFC 9111 section 3,
//                   no Set-Cookie, within max_object_bytes) is marked for
//                   storing: the exchange keeps its body (no splice) and
//                   calls OnResponseComplete once it was forwarded whole. A
//                   304 to a revalidation refreshes the entry and the client
//                   gets the stored answer (REVALIDATED); a 5xx to one gets
//                   the stale entry while stale-if-error allows. A 2xx/3xx to
//                   an unsafe method invalidates the target URI and its
//                   Location / Content-Location on the same host.
//
// What a request got is RequestContext::cache.result (for metrics and logs).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "cache/store.h"
#include "core/deferred.h"
#include "core/timer_queue.h"
#include "filters/cache_spec.h"
#include "filters/filter.h"
#include "filters/side_call.h"

namespace icaht::filters {

class CacheFilter final : public Filter {
 public:
  // `store`: the service's on this shard. `timers` (the shard's, which
  // outlives the filter) times the collapsed waits; null: no collapsing.
  // `view` and `side_calls` (the shard's; may be null: no background
  // revalidation) pick an instance and call it for stale-while-revalidate.
  CacheFilter(const CacheSpec& spec, std::shared_ptr<cache::Store> store, core::TimerQueue* timers,
              const ServiceView* view = nullptr, SideCalls* side_calls = nullptr);
  ~CacheFilter() override;

  std::string_view name() const override { return "cache"; }
  Verdict OnRequestHead(RequestContext& ctx, FilterCallbacks& callbacks) override;
  void OnResponseHead(RequestContext& ctx) override;
  // The upstream's answer this filter marked for storing was forwarded whole,
  // its body in ctx.cache.body: stored.
  void OnResponseComplete(RequestContext& ctx) override;
  // The upstream answered a revalidation or failed: kRespond when the client
  // gets the stored entry instead (ctx.local_response filled).
  Verdict OnUpstreamResponse(RequestContext& ctx, int status) override;

  // Request collapsing: a GET that misses while none of its key is being
  // fetched leads (goes upstream) unless it is one whose answer will not be
  // shared (Authorization, Range, conditionals, Upgrade, no-store); later
  // misses of the key pause until the leader's answer is stored or known not
  // to be (then each takes the stored answer if there is a fresh one, else
  // goes upstream itself) or collapse_timeout_ms passes.
  void OnLog(const RequestContext& ctx) override;
  // A waiting exchange ended: it leaves the queue.
  void OnCancel(RequestContext& ctx) override;
  size_t waiting_now() const { return waiting_.size(); }
  size_t refreshing_now() const { return refreshing_.size(); }

  // Wall-clock seconds since the epoch.
  static int64_t NowSeconds();

 private:
  // Fills ctx.local_response with the entry (a 304 when the client's
  // conditionals match it) and sets the result.
  void Answer(RequestContext& ctx, const cache::StoredResponse& entry, int64_t age,
              CacheResult result);
  // Marks a storable answer to a GET for storing (ctx.cache.pending, store).
  void MaybeStore(RequestContext& ctx, const http::ResponseHead& up);
  // After an unsafe method's success: the target and its Location /
  // Content-Location entries go, here and on the other shards.
  void Invalidate(const RequestContext& ctx, const http::ResponseHead& up);
  // The primary key into `key` (its capacity reused: the context's string
  // serves every exchange of a connection): the target (its query left out
  // with key_ignore_query), then the scheme and Host; the path first, so
  // that a purge by path matches it under every Host.
  void Key(std::string_view target, std::string_view host, bool tls, std::string* key) const;
  // A stored entry's freshness lifetime and current age at `now` (seconds).
  struct Freshness {
    int64_t lifetime;
    int64_t age;
  };
  Freshness Evaluate(const cache::StoredResponse& entry, int64_t now) const;
  // only-if-cached without a usable entry: 504, `why`.
  static Verdict NotCached(RequestContext& ctx, std::string_view why);

  CacheSpec spec_;
  cache::Heuristic heuristic_;
  std::shared_ptr<cache::Store> store_;
  core::TimerQueue* timers_;

  // One paused miss. Deleted through DeferDelete when its own timer fired
  // (the callback is on the stack), else at once; destroying it disarms it.
  struct Waiter final : core::DeferredDeletable {
    explicit Waiter(std::function<void()> on_fire) : timer(std::move(on_fire)) {}
    core::Timer timer;
    FilterCallbacks* callbacks = nullptr;
    bool released = false;  // the leader ended (else: the wait timed out)
  };
  // The leader ended or the wait timed out: answer from the store or go on.
  void WaitDone(RequestContext* ctx);

  // stale-while-revalidate (cache_refresh.cc): a conditional GET of the
  // entry's URI and variant, from the filter, to a usable plain-HTTP
  // instance (round robin); one per key at a time. A 304 freshens the entry,
  // a storable answer replaces it, anything else leaves it.
  void Refresh(const RequestContext& ctx, const cache::StoredResponse& entry);
  void Refreshed(const std::string& key, const cache::StoredResponse::Vary& vary,
                 int64_t request_time, absl::StatusOr<http::ClientResponse> response);
  const ServiceView* view_;
  SideCalls* side_calls_;
  size_t next_instance_ = 0;
  absl::flat_hash_map<std::string, SideCall*> refreshing_;
  absl::flat_hash_map<RequestContext*, std::unique_ptr<Waiter>> waiting_;
  // Keys being fetched by a leader, with their waiters in arrival order.
  struct Fetch {
    const RequestContext* leader = nullptr;
    std::vector<RequestContext*> waiters;
  };
  absl::flat_hash_map<std::string, Fetch> fetching_;
  // The leader's answer is known (stored, or not storable) or its exchange
  // ended: its waiters are woken (from the timer queue) and it leads no more.
  void Release(const RequestContext& leader);
};

}  // namespace icaht::filters

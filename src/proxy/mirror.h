#pragma once
// Request shadowing (the record's `mirror`; Envoy's request_mirror_policies):
// a sampled share of a service's requests is copied to another upstream,
// fire-and-forget. The copy's answer is read to its end and discarded;
// nothing a copy does can fail or delay the real request (it is sent once
// the request is complete, nobody waits on it, and its failures are only
// counted in icaht_mirror_requests_total).
//
//   Forward      Sample() draws the request (percent); a sampled request's
//                body is kept as it streams to the upstream (the retries'
//                replay buffer, up to max_body_bytes, or the retries' bound
//                when that is larger; no splice for it).
//   RequestDone  Send() builds the copy from what the first attempt sent
//                (the head, then the body) and starts a side call to the
//                mirror's upstream: "Connection: close", the Host header
//                with "-shadow" added to its host as Envoy does
//                ("orders:7001" -> "orders-shadow:7001"), every other field
//                (request id, traceparent, X-Forwarded-*) as sent.
//
// Not copied: upgrade and CONNECT requests (tunnels), requests the proxy
// answered itself or that failed before their end. Failures are logged at
// most once a second per shard. Counted per result:
// sent (the mirror answered, any status), failed (no complete answer within
// timeout_ms, refused, malformed, or cancelled because the config was
// replaced), dropped (kMaxInFlight copies, or kMaxInFlightBytes of them, of
// the service already in flight on this shard), too_large (a body over
// max_body_bytes).
//
// Shard-owned: one per service config per shard, built in ShardService::
// SetConfig, like the filter chain. The exchanges of a config hold it (they
// hold the config), and its copies in flight are its own: the destructor
// (the config replaced and its last exchange gone, or the service removed)
// cancels them.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "core/random.h"
#include "filters/side_call.h"
#include "http/message.h"
#include "metrics/service_series.h"
#include "net/address.h"
#include "proxy/body_forwarder.h"

namespace icaht::proxy {

// The record's mirror, as a shard serves it.
struct MirrorConfig {
  net::Address address;
  std::string text;                     // as the record wrote it (failures are logged)
  double percent = 100;                 // 0..100
  uint64_t max_body_bytes = 64 * 1024;  // a longer body is not copied
  uint32_t timeout_ms = 1000;           // the copy's whole exchange
};

// "orders-shadow", "orders-shadow:7001", "[::1]-shadow:80": "-shadow" after
// the host, before the port (Envoy's shadowAppendedHost).
std::string ShadowHost(std::string_view host);

// Appends the copy's head to `out`: `head` (a request head as the proxy
// sends it upstream, ending with the blank line) with its Connection fields
// replaced by "Connection: close" and its Host field's value by
// ShadowHost(value). Pure.
void BuildMirrorHead(std::string_view head, std::string* out);

class Mirror {
 public:
  // Copies of one service in flight on one shard, at most.
  static constexpr size_t kMaxInFlight = 64;
  // And at most this many bytes of them (64 copies of 16 MiB bodies would be
  // 1 GiB): a mirror that stalls cannot take the shard's memory.
  static constexpr size_t kMaxInFlightBytes = 32 << 20;
  // The label values of icaht_mirror_requests_total, in this order
  // (metrics::ShardSeries::mirror).
  enum class Result : uint8_t { kSent, kFailed, kDropped, kTooLarge };
  static std::string_view ResultLabel(Result result);

  // `calls` (the shard's) outlives the mirror; `series` is the service's and
  // this shard writes block `shard`. `seed`: 0 draws from entropy (tests
  // pass one for a fixed sequence).
  Mirror(MirrorConfig config, filters::SideCalls* calls,
         std::shared_ptr<metrics::ServiceSeries> series, size_t shard, uint64_t seed = 0);
  ~Mirror();  // cancels the copies in flight (counted failed)
  Mirror(const Mirror&) = delete;
  Mirror& operator=(const Mirror&) = delete;

  // At the request's Forward: whether this request is copied. For a sampled
  // request with a body (`has_body`), makes `body` keep what it sends in
  // `keep` (unless it holds the body whole anyway) or, for a Content-Length
  // over max_body_bytes, counts it too_large and returns false.
  bool Sample(const http::RequestHead& head, bool has_body, BodyForwarder::Options* body,
              std::string* keep);

  // At the end of a sampled request (its first attempt): sends the copy of
  // `upstream_head` (the head sent upstream, with a held body after it) and
  // `kept` (the body kept as it streamed). `body_whole`: the two hold all of
  // the body (true without one); `body_bytes`: its payload. A body not kept
  // whole, or longer than max_body_bytes, is counted too_large instead.
  void Send(http::Method method, std::string_view upstream_head, std::string_view kept,
            bool body_whole, uint64_t body_bytes);

  size_t in_flight() const { return in_flight_.size(); }
  size_t in_flight_bytes() const { return in_flight_bytes_; }
  const MirrorConfig& config() const { return config_; }

 private:
  void Count(Result result);

  MirrorConfig config_;
  filters::SideCalls* calls_;
  std::shared_ptr<metrics::ServiceSeries> series_;
  size_t shard_;
  core::FastRandom random_;
  uint64_t next_id_ = 0;
  struct Copy {
    filters::SideCall* call;
    size_t bytes;
  };
  absl::flat_hash_map<uint64_t, Copy> in_flight_;
  size_t in_flight_bytes_ = 0;
};

}  // namespace icaht::proxy

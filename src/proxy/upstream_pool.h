#pragma once
// Idle keep-alive connections to upstreams, per shard. An idle stream keeps
// its recv armed: if the upstream closes it (or sends anything unasked) it is
// dropped from the pool at once, so a request rarely meets a dead connection.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/timer_queue.h"
#include "net/stream.h"

namespace icaht::proxy {

class UpstreamPool : private net::StreamHandler {
 public:
  explicit UpstreamPool(core::Ring& ring);
  ~UpstreamPool();

  // An idle connection to `address`, or nullptr. The caller becomes its handler.
  net::Stream* Take(const net::Address& address);
  // Parks a healthy, idle, fully-read connection (keyed by the address it was
  // connected to). Closes it if the pool is full.
  void Put(net::Stream* stream);
  void CloseAll();
  size_t idle_count() const { return total_; }

  // Per upstream address, shared by every service of the shard that uses it
  // (HAProxy and Envoy keep idle connections unbounded; closing one that a
  // burst will need again costs a connect and a TIME_WAIT socket).
  static constexpr size_t kMaxIdlePerUpstream = 1024;
  static constexpr int64_t kMaxIdleNs =
      30'000'000'000;  // below common upstream keep-alive timeouts

 private:
  struct Idle {
    net::Stream* stream;
    int64_t since_ns;
  };
  void OnData(net::Stream* stream, std::string_view data) override;
  void OnEof(net::Stream* stream) override;
  void OnError(net::Stream* stream, int error) override;
  void Drop(net::Stream* stream);
  void Sweep();

  core::Ring& ring_;
  absl::flat_hash_map<net::Address, std::vector<Idle>> idle_;
  size_t total_ = 0;
  core::Timer sweep_timer_;
};

}  // namespace icaht::proxy

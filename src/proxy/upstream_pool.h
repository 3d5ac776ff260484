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
#include "net/tls_session.h"

namespace icaht::proxy {

class UpstreamPool : private net::StreamHandler {
 public:
  explicit UpstreamPool(core::Ring& ring);
  ~UpstreamPool();

  // What a connection is pooled under: its address, and with TLS the client
  // context and the name verified (a connection made for one service's TLS
  // settings never serves another's).
  struct Key {
    net::Address address;
    const void* tls = nullptr;  // TlsSession::context_id()
    std::string server_name;

    static Key Of(const net::Stream& stream);
    friend bool operator==(const Key&, const Key&) = default;
    template <typename H>
    friend H AbslHashValue(H h, const Key& key) {
      return H::combine(std::move(h), key.address, key.tls, key.server_name);
    }
  };

  // An idle connection for `key`, or nullptr. The caller becomes its handler.
  net::Stream* Take(const Key& key);
  // Parks a healthy, idle, fully-read connection (under Key::Of(stream)).
  // Closes it if the pool is full.
  void Put(net::Stream* stream);
  // Keeps a TLS connection's session (if it can be resumed) for the next
  // connection under the same key to offer: one per key, the latest.
  void KeepSession(const net::Stream& stream);
  // The last resumable TLS session kept for `key` (borrowed), or null.
  SSL_SESSION* Session(const Key& key) const;
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
  absl::flat_hash_map<Key, std::vector<Idle>> idle_;
  // Owned references (freed with the pool). Per shard: one per key at most.
  // A context's address can be reused once it is freed (a reload): the
  // weak reference tells a kept session's context from its successor.
  struct KeptSession {
    SSL_SESSION* session = nullptr;
    std::weak_ptr<const void> context;
  };
  absl::flat_hash_map<Key, KeptSession> sessions_;
  size_t total_ = 0;
  core::Timer sweep_timer_;
};

}  // namespace icaht::proxy

#pragma once
// Idle keep-alive connections to upstreams, per shard. An idle stream keeps
// its recv armed: if the upstream closes it (or sends anything unasked) it is
// dropped from the pool at once, so a request rarely meets a dead connection.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
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
  };
  // A key's parts, viewed: what lookups are made with (a request's or a
  // stream's, copied into a Key only when a new key is stored).
  struct KeyRef {
    const net::Address& address;
    const void* tls = nullptr;
    std::string_view server_name;

    static KeyRef Of(const net::Stream& stream);
  };

  // An idle connection for `key`, or nullptr. The caller becomes its handler.
  net::Stream* Take(const KeyRef& key);
  // Parks a healthy, idle, fully-read connection (under KeyRef::Of(stream)).
  // Closes it if the pool is full.
  void Put(net::Stream* stream);
  // Keeps a TLS connection's session (if it can be resumed) for the next
  // connection under the same key to offer: one per key, the latest.
  void KeepSession(const net::Stream& stream);
  // The last resumable TLS session kept for `key` (borrowed), or null.
  SSL_SESSION* Session(const KeyRef& key) const;
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

  // Transparent: a KeyRef finds a Key without building one. The name is
  // left out of the hash (compared only): one context rarely verifies
  // several names on one address, and hashing it cost more than the rest.
  struct KeyHash {
    using is_transparent = void;
    template <typename K>
    size_t operator()(const K& key) const {
      return absl::HashOf(key.address, key.tls);
    }
  };
  struct KeyEq {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return a.tls == b.tls && a.address == b.address &&
             std::string_view(a.server_name) == std::string_view(b.server_name);
    }
  };
  template <typename V>
  using KeyMap = absl::flat_hash_map<Key, V, KeyHash, KeyEq>;
  template <typename V>
  static V& FindOrAdd(KeyMap<V>& map, const KeyRef& key);

  core::Ring& ring_;
  KeyMap<std::vector<Idle>> idle_;
  // Owned references (freed with the pool). Per shard: one per key at most.
  // A context's address can be reused once it is freed (a reload): the
  // weak reference tells a kept session's context from its successor.
  struct KeptSession {
    SSL_SESSION* session = nullptr;
    std::weak_ptr<const void> context;
  };
  KeyMap<KeptSession> sessions_;
  size_t total_ = 0;
  core::Timer sweep_timer_;
};

}  // namespace icaht::proxy

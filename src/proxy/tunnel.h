#pragma once
// After a 101: bytes flow both ways untouched, one BodyForwarder per
// direction (spliced when pipes can be had, else copied), until both sides
// have closed. A half-close travels through: when one side's input ends, the
// other side's output is shut down once everything before it was delivered.
//
// Shard-owned, owned by an Exchange, which routes both streams' events here.

#include <cstdint>
#include <string_view>

#include "net/stream.h"
#include "proxy/body_forwarder.h"

namespace icaht::proxy {

class Tunnel final : private BodyForwarder::Callbacks {
 public:
  class Owner {
   public:
    // Both directions ended (`clean`), or one failed.
    virtual void OnTunnelClosed(bool clean) = 0;

   protected:
    ~Owner() = default;
  };

  Tunnel(ShardProxy& shard, net::Stream* client, net::Stream* upstream, Owner* owner);
  void Start();

  void OnData(net::Stream* from, std::string_view data);
  void OnEof(net::Stream* from);
  void OnDrained(net::Stream* stream);
  void OnReadStopped(net::Stream* stream);
  int64_t last_progress_ns() const;
  uint64_t bytes_from_client() const { return up_.bytes(); }
  uint64_t bytes_to_client() const { return down_.bytes(); }
  void Abort();

 private:
  void OnBodyDone(BodyForwarder* body) override;
  void OnBodyFailed(BodyForwarder* body, BodyForwarder::Failure failure) override;
  BodyForwarder& From(net::Stream* stream) { return stream == client_ ? up_ : down_; }

  net::Stream* client_;
  net::Stream* upstream_;
  Owner* owner_;
  BodyForwarder up_;    // client -> upstream
  BodyForwarder down_;  // upstream -> client
};

}  // namespace icaht::proxy

#include "proxy/tunnel.h"

#include <algorithm>

namespace icaht::proxy {

Tunnel::Tunnel(ShardProxy& shard, net::Stream* client, net::Stream* upstream, Owner* owner)
    : client_(client), upstream_(upstream), owner_(owner), up_(shard, this), down_(shard, this) {}

void Tunnel::Start() {
  BodyForwarder::Options options;
  options.in = BodyForwarder::In::kUntilEof;
  options.allow_splice = true;
  client_->StartReading();
  upstream_->StartReading();
  up_.Start(client_, upstream_, options);
  down_.Start(upstream_, client_, options);
}

void Tunnel::OnData(net::Stream* from, std::string_view data) { From(from).OnData(data); }

void Tunnel::OnEof(net::Stream* from) { From(from).OnSourceEof(); }

void Tunnel::OnDrained(net::Stream* stream) {
  // `stream` is the sink of the other direction.
  (stream == client_ ? down_ : up_).OnSinkDrained();
}

void Tunnel::OnReadStopped(net::Stream* stream) { From(stream).OnSourceReadStopped(); }

int64_t Tunnel::last_progress_ns() const {
  return std::max(up_.last_progress_ns(), down_.last_progress_ns());
}

void Tunnel::Abort() {
  up_.Abort();
  down_.Abort();
}

void Tunnel::OnBodyDone(BodyForwarder* body) {
  // The source sent EOF and everything before it was delivered (or queued:
  // the shutdown waits for the queue).
  (body == &up_ ? upstream_ : client_)->ShutdownWrite();
  if (up_.done() && down_.done()) owner_->OnTunnelClosed(true);
}

void Tunnel::OnBodyFailed(BodyForwarder*, BodyForwarder::Failure) { owner_->OnTunnelClosed(false); }

}  // namespace icaht::proxy

#include "proxy/upstream_pool.h"

#include <algorithm>

namespace icaht::proxy {

UpstreamPool::UpstreamPool(core::Ring& ring) : ring_(ring), sweep_timer_([this] { Sweep(); }) {}

UpstreamPool::~UpstreamPool() {
  CloseAll();
  for (auto& [key, kept] : sessions_) SSL_SESSION_free(kept.session);
}

UpstreamPool::KeyRef UpstreamPool::KeyRef::Of(const net::Stream& stream) {
  const net::TlsSession* tls = stream.tls();
  if (tls == nullptr) return {stream.peer()};
  return {stream.peer(), tls->context_id(), tls->peer_name()};
}

template <typename V>
V& UpstreamPool::FindOrAdd(KeyMap<V>& map, const KeyRef& key) {
  auto it = map.find(key);
  if (it != map.end()) return it->second;
  return map[Key{key.address, key.tls, std::string(key.server_name)}];
}

SSL_SESSION* UpstreamPool::Session(const KeyRef& key) const {
  auto it = sessions_.find(key);
  if (it == sessions_.end() || it->second.context.expired()) return nullptr;
  return it->second.session;
}

net::Stream* UpstreamPool::Take(const KeyRef& key) {
  auto it = idle_.find(key);
  if (it == idle_.end() || it->second.empty()) return nullptr;
  // Most recently used first: it is the least likely to have been closed.
  net::Stream* stream = it->second.back().stream;
  it->second.pop_back();
  --total_;
  return stream;
}

void UpstreamPool::KeepSession(const net::Stream& stream) {
  const net::TlsSession* tls = stream.tls();
  if (tls == nullptr || !tls->established()) return;
  if (SSL_SESSION* session = tls->TakeSession()) {
    KeptSession& kept = FindOrAdd(sessions_, KeyRef::Of(stream));
    if (kept.session != nullptr) SSL_SESSION_free(kept.session);
    kept = {session, tls->context_ref()};
  }
}

void UpstreamPool::Put(net::Stream* stream) {
  std::vector<Idle>& list = FindOrAdd(idle_, KeyRef::Of(*stream));
  if (list.size() >= kMaxIdlePerUpstream) {
    stream->Close();
    return;
  }
  stream->set_handler(this);
  stream->StartReading();
  list.push_back({stream, core::LoopNowNs()});
  ++total_;
  if (!sweep_timer_.armed()) ring_.timers().Arm(&sweep_timer_, core::LoopNowNs() + kMaxIdleNs / 4);
}

void UpstreamPool::Drop(net::Stream* stream) {
  auto it = idle_.find(KeyRef::Of(*stream));
  if (it != idle_.end()) {
    std::vector<Idle>& list = it->second;
    auto idle = std::find_if(list.begin(), list.end(),
                             [stream](const Idle& idle) { return idle.stream == stream; });
    if (idle != list.end()) {
      list.erase(idle);
      --total_;
    }
  }
  stream->Close();
}

void UpstreamPool::OnData(net::Stream* stream, std::string_view) { Drop(stream); }
void UpstreamPool::OnEof(net::Stream* stream) { Drop(stream); }
void UpstreamPool::OnError(net::Stream* stream, int) { Drop(stream); }

void UpstreamPool::Sweep() {
  int64_t cutoff = core::LoopNowNs() - kMaxIdleNs;
  for (auto& [key, list] : idle_) {
    // Oldest first: stop at the first young one.
    size_t old = 0;
    while (old < list.size() && list[old].since_ns < cutoff) {
      list[old].stream->Close();
      ++old;
    }
    list.erase(list.begin(), list.begin() + old);
    total_ -= old;
  }
  if (total_ > 0) ring_.timers().Arm(&sweep_timer_, core::LoopNowNs() + kMaxIdleNs / 4);
}

void UpstreamPool::CloseAll() {
  for (auto& [key, list] : idle_) {
    for (Idle& idle : list) idle.stream->Close();
  }
  idle_.clear();
  total_ = 0;
  ring_.timers().Cancel(&sweep_timer_);
}

}  // namespace icaht::proxy

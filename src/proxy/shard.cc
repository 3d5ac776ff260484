#include "proxy/shard.h"

#include <pthread.h>
#include <sched.h>

#include <future>

#include "core/log.h"

namespace icaht::proxy {
namespace {
constexpr unsigned kRingEntries = 1024;
// Provided buffers: data is copied out as soon as it arrives, so a modest
// count suffices. 32 KiB takes a 16 KiB response with its head in one recv
// (one wake-up, one send) where 16 KiB buffers needed two.
constexpr unsigned kBufferCount = 256;
constexpr size_t kBufferSize = 32 * 1024;
// Upstream connections of TLS-terminating services receive into a ring of
// their own: each buffer is encrypted and handed back within its completion,
// so a few suffice, and a small ring stays in the cache (the 256-buffer FIFO
// above hands out memory last touched 8 MiB of receives ago; the kernel's copy
// into it and OpenSSL's copy out of it then miss).
constexpr unsigned kTlsUpstreamBufferCount = 64;
}  // namespace

void ShardCommand::Finish(absl::Status status) {
  status_ = std::move(status);
  Reply(shard_->ring());  // last touch on the shard thread
}

void ShardCommand::OnReturn() {
  Done done = std::move(on_done_);
  absl::Status status = status_;
  delete this;
  done(status);
}

void UpsertServiceCommand::Execute(Shard& shard) {
  Finish(shard.proxy().Upsert(std::move(config_)));
}

StartEgressCommand::~StartEgressCommand() {
  if (fd_ >= 0) close(fd_);  // never executed (the shard stopped first)
}

void StartEgressCommand::Execute(Shard& shard) {
  int fd = fd_;
  fd_ = -1;
  Finish(shard.proxy().StartEgress(fd, std::move(config_), std::move(settings_),
                                   &shard.egress_series()));
}

void SetRemoteServicesCommand::Execute(Shard& shard) {
  shard.proxy().SetRemote(std::move(upserts_), removed_);
  Finish(absl::OkStatus());
}

SetAccessLogCommand::~SetAccessLogCommand() {
  if (fd_ >= 0) close(fd_);  // never executed (the shard stopped first)
}

void SetAccessLogCommand::Execute(Shard& shard) {
  shard.access_log().SetSink(net::Fd(fd_));
  fd_ = -1;
  Finish(absl::OkStatus());
}

void RemoveServiceCommand::Execute(Shard& shard) {
  shard.proxy().Remove(port_, [this] { Finish(absl::OkStatus()); });
}

void SetUnhealthyCommand::Execute(Shard& shard) {
  shard.proxy().SetUnhealthy(port_, unhealthy_);
  Finish(absl::OkStatus());
}

void SetEjectedCommand::Execute(Shard& shard) {
  shard.proxy().SetEjected(port_, ejected_);
  Finish(absl::OkStatus());
}

void PurgeCacheCommand::Execute(Shard& shard) {
  *purged_ += shard.proxy().PurgeCache(port_, prefix_);
  Finish(absl::OkStatus());
}

void CollectOutliersCommand::Execute(Shard& shard) {
  *out_ = shard.proxy().TakeOutlierReports();
  Finish(absl::OkStatus());
}

void CollectDemandCommand::Execute(Shard& shard) {
  *out_ = shard.proxy().TakeDemandReports();
  Finish(absl::OkStatus());
}

void CollectSpansCommand::Execute(Shard& shard) {
  *out_ = shard.proxy().spans().Take();
  Finish(absl::OkStatus());
}

void ApplySharesCommand::Execute(Shard& shard) {
  for (const Item& item : items_) shard.proxy().ApplyShares(item.port, item.config, item.update);
  Finish(absl::OkStatus());
}

void SetSiblingsCommand::Execute(Shard& shard) {
  std::vector<Shard*> others;
  for (Shard* s : shards_) {
    if (s != &shard) others.push_back(s);
  }
  if (!others.empty()) {
    shard.proxy().set_cache_broadcast([&shard, others](
                                          uint16_t port,
                                          std::shared_ptr<const std::vector<std::string>> keys) {
      for (Shard* other : others) {
        (new InvalidateCacheMessage(other, port, keys))->PostOrDrop(shard.ring(), other->ring_fd());
      }
    });
  }
  Finish(absl::OkStatus());
}

void InvalidateCacheMessage::OnArrive() {
  if (ShardProxy* proxy = target_->live_proxy(); proxy != nullptr) {
    proxy->InvalidateCache(port_, *keys_);
  }
  delete this;
}

void StopShardCommand::Execute(Shard& shard) {
  shard.proxy().Shutdown([this, &shard] {
    if (spans_ != nullptr) *spans_ = shard.proxy().spans().Take();
    shard.RequestStop();
    Finish(absl::OkStatus());
  });
}

absl::StatusOr<std::unique_ptr<Shard>> Shard::Start(int index, int cpu, size_t span_capacity) {
  std::unique_ptr<Shard> shard(new Shard(index));
  std::promise<absl::Status> started;
  std::future<absl::Status> ready = started.get_future();
  shard->thread_ = std::thread([raw = shard.get(), cpu, span_capacity, &started] {
    raw->Run(cpu, span_capacity, [&started](absl::Status s) { started.set_value(std::move(s)); });
  });
  absl::Status status = ready.get();
  if (!status.ok()) {
    shard->thread_.join();
    return status;
  }
  return shard;
}

Shard::~Shard() {
  if (thread_.joinable()) thread_.join();
}

void Shard::Join() {
  if (thread_.joinable()) thread_.join();
}

void Shard::Run(int cpu, size_t span_capacity, std::function<void(absl::Status)> started) {
  if (cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  }
  std::string name = "icaht-shard" + std::to_string(index_);
  pthread_setname_np(pthread_self(), name.c_str());

  absl::StatusOr<std::unique_ptr<core::Ring>> ring = core::Ring::Create(kRingEntries);
  if (!ring.ok()) return started(ring.status());
  ring_ = std::move(*ring);
  ring_->set_stats(&ring_stats_);
  absl::StatusOr<std::unique_ptr<core::BufRing>> bufs =
      core::BufRing::Create(*ring_, 0, kBufferCount, kBufferSize);
  if (!bufs.ok()) return started(bufs.status());
  bufs_ = std::move(*bufs);
  absl::StatusOr<std::unique_ptr<core::BufRing>> tls_upstream_bufs =
      core::BufRing::Create(*ring_, 1, kTlsUpstreamBufferCount, kBufferSize);
  if (!tls_upstream_bufs.ok()) return started(tls_upstream_bufs.status());
  tls_upstream_bufs_ = std::move(*tls_upstream_bufs);
  access_log_ = std::make_unique<AccessLog>(*ring_, &access_log_stats_);
  proxy_ = std::make_unique<ShardProxy>(*ring_, *bufs_, index_, tls_upstream_bufs_.get());
  proxy_->set_access_log(access_log_.get());
  proxy_->set_span_capacity(span_capacity);
  ring_->set_before_submit(&net::Stream::FlushQueued);
  ring_fd_ = ring_->fd();
  started(absl::OkStatus());  // `started` refers to the starter's stack: not used after this

  while (running_) ring_->RunOnce(1'000'000'000);
  // Every connection is gone; pooled streams are closing and answered clients
  // may still be lingering. Give them a short grace, then abort the rest, and
  // let the cancellations complete so every stream frees itself.
  proxy_.reset();
  access_log_.reset();  // writes what is left
  int64_t deadline = core::NowNs() + 500'000'000;
  // (The DNS resolver's socket polls, orphaned with it, end with their cancellation.)
  while ((net::Stream::live_count() > 0 || net::DnsResolver::live_watches() > 0) &&
         core::NowNs() < deadline) {
    ring_->RunOnce(10'000'000);
  }
  net::Stream::CloseAll();
  deadline = core::NowNs() + 1'000'000'000;
  while (net::Stream::live_count() > 0 && core::NowNs() < deadline) ring_->RunOnce(10'000'000);
  tls_upstream_bufs_.reset();
  bufs_.reset();
  ring_.reset();
}

}  // namespace icaht::proxy

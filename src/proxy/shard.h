#pragma once
// A shard: one pinned thread owning one ring, its provided buffers and a
// ShardProxy. The control thread talks to it only through ShardCommand
// messages (MSG_RING) and gets each answer back the same way.

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "core/buf_ring.h"
#include "core/message.h"
#include "core/ring.h"
#include "proxy/access_log.h"
#include "proxy/service_config.h"
#include "proxy/shard_proxy.h"

namespace icaht::proxy {

class Shard;

// A command posted by the control ring to one shard. Execute() runs on the
// shard thread and must eventually call Finish(status) exactly once (possibly
// later, e.g. when a listener has closed); `on_done` then runs on the control
// thread with that status, and the command is deleted.
class ShardCommand : public core::Message {
 public:
  using Done = std::function<void(const absl::Status&)>;
  ShardCommand(Shard* shard, Done on_done) : shard_(shard), on_done_(std::move(on_done)) {}

 protected:
  virtual void Execute(Shard& shard) = 0;
  void Finish(absl::Status status);
  Shard* shard_;

 private:
  void OnArrive() final { Execute(*shard_); }
  void OnReturn() final;
  Done on_done_;
  absl::Status status_;
};

// Opens or updates a service on the shard (the shard takes `config`).
class UpsertServiceCommand : public ShardCommand {
 public:
  UpsertServiceCommand(Shard* shard, std::unique_ptr<ServiceConfig> config, Done on_done)
      : ShardCommand(shard, std::move(on_done)), config_(std::move(config)) {}

 private:
  void Execute(Shard& shard) override;
  std::unique_ptr<ServiceConfig> config_;
};

// Opens the egress listener on the shard: `fd` (a dup of the listening
// socket, the shard's from now on) with the listener's config and settings.
class StartEgressCommand : public ShardCommand {
 public:
  StartEgressCommand(Shard* shard, int fd, std::unique_ptr<ServiceConfig> config,
                     EgressSettings settings, Done on_done)
      : ShardCommand(shard, std::move(on_done)),
        fd_(fd),
        config_(std::move(config)),
        settings_(std::move(settings)) {}
  ~StartEgressCommand() override;

 private:
  void Execute(Shard& shard) override;
  int fd_;
  std::unique_ptr<ServiceConfig> config_;
  EgressSettings settings_;
};

// Services of other hosts (the etcd watch's table changed): `upserts` are
// new or changed ones (the shard takes the configs), `removed` the names
// that left the fleet.
class SetRemoteServicesCommand : public ShardCommand {
 public:
  SetRemoteServicesCommand(Shard* shard, std::vector<std::unique_ptr<ServiceConfig>> upserts,
                           std::vector<std::string> removed, Done on_done)
      : ShardCommand(shard, std::move(on_done)),
        upserts_(std::move(upserts)),
        removed_(std::move(removed)) {}

 private:
  void Execute(Shard& shard) override;
  std::vector<std::unique_ptr<ServiceConfig>> upserts_;
  std::vector<std::string> removed_;
};

// Gives the shard's access log a new sink (a descriptor it owns from now
// on; -1 turns logging off): at start and after SIGUSR1 (reopen).
class SetAccessLogCommand : public ShardCommand {
 public:
  SetAccessLogCommand(Shard* shard, int fd, Done on_done)
      : ShardCommand(shard, std::move(on_done)), fd_(fd) {}
  ~SetAccessLogCommand() override;

 private:
  void Execute(Shard& shard) override;
  int fd_;
};

// Stops accepting on a port; finishes when the listener is closed.
class RemoveServiceCommand : public ShardCommand {
 public:
  RemoveServiceCommand(Shard* shard, uint16_t port, Done on_done)
      : ShardCommand(shard, std::move(on_done)), port_(port) {}

 private:
  void Execute(Shard& shard) override;
  uint16_t port_;
};

// Active health checks' verdict for one service: its instances at these
// addresses are out of the rotation, the others in.
class SetUnhealthyCommand : public ShardCommand {
 public:
  SetUnhealthyCommand(Shard* shard, uint16_t port, std::vector<net::Address> unhealthy,
                      Done on_done)
      : ShardCommand(shard, std::move(on_done)), port_(port), unhealthy_(std::move(unhealthy)) {}

 private:
  void Execute(Shard& shard) override;
  uint16_t port_;
  std::vector<net::Address> unhealthy_;
};

// Outlier detection's verdict for one service: its instances at these
// addresses are ejected, the others in.
class SetEjectedCommand : public ShardCommand {
 public:
  SetEjectedCommand(Shard* shard, uint16_t port, std::vector<net::Address> ejected, Done on_done)
      : ShardCommand(shard, std::move(on_done)), port_(port), ejected_(std::move(ejected)) {}

 private:
  void Execute(Shard& shard) override;
  uint16_t port_;
  std::vector<net::Address> ejected_;
};

// The response cache: removes the service's entries on `port` whose key
// starts with `prefix` ("" = all); how many went is added to `*purged`
// (read by the control thread after the reply).
class PurgeCacheCommand : public ShardCommand {
 public:
  PurgeCacheCommand(Shard* shard, uint16_t port, std::string prefix,
                    std::shared_ptr<std::atomic<size_t>> purged, Done on_done)
      : ShardCommand(shard, std::move(on_done)),
        port_(port),
        prefix_(std::move(prefix)),
        purged_(std::move(purged)) {}

 private:
  void Execute(Shard& shard) override;
  uint16_t port_;
  std::string prefix_;
  std::shared_ptr<std::atomic<size_t>> purged_;
};

// Outlier detection: takes what the shard saw of instances (into `out`, read
// by the control thread after the reply).
class CollectOutliersCommand : public ShardCommand {
 public:
  CollectOutliersCommand(Shard* shard, std::shared_ptr<std::vector<ShardProxy::OutlierReport>> out,
                         Done on_done)
      : ShardCommand(shard, std::move(on_done)), out_(std::move(out)) {}

 private:
  void Execute(Shard& shard) override;
  std::shared_ptr<std::vector<ShardProxy::OutlierReport>> out_;
};

// Rate limits: takes every service's demand report (into `out`, read by the
// control thread after the reply).
class CollectDemandCommand : public ShardCommand {
 public:
  CollectDemandCommand(Shard* shard, std::shared_ptr<ShardProxy::DemandReports> out, Done on_done)
      : ShardCommand(shard, std::move(on_done)), out_(std::move(out)) {}

 private:
  void Execute(Shard& shard) override;
  std::shared_ptr<ShardProxy::DemandReports> out_;
};

// Tracing: takes the shard's finished spans (into `out`, read by the control
// thread after the reply).
class CollectSpansCommand : public ShardCommand {
 public:
  CollectSpansCommand(Shard* shard, std::shared_ptr<tracing::SpanBuffer::Harvest> out, Done on_done)
      : ShardCommand(shard, std::move(on_done)), out_(std::move(out)) {}

 private:
  void Execute(Shard& shard) override;
  std::shared_ptr<tracing::SpanBuffer::Harvest> out_;
};

// Rate limits: the coordinator's shares for this shard, per service.
class ApplySharesCommand : public ShardCommand {
 public:
  struct Item {
    uint16_t port;
    const void* config;
    filters::ShareUpdate update;
  };
  ApplySharesCommand(Shard* shard, std::vector<Item> items, Done on_done)
      : ShardCommand(shard, std::move(on_done)), items_(std::move(items)) {}

 private:
  void Execute(Shard& shard) override;
  std::vector<Item> items_;
};

// Tells the shard the others (all shards, itself included, by index), for
// the messages shards send each other.
class SetSiblingsCommand : public ShardCommand {
 public:
  SetSiblingsCommand(Shard* shard, std::vector<Shard*> shards, Done on_done)
      : ShardCommand(shard, std::move(on_done)), shards_(std::move(shards)) {}

 private:
  void Execute(Shard& shard) override;
  std::vector<Shard*> shards_;
};

// From shard to shard (not the control thread's): an unsafe method's cache
// invalidation (filters/cache_filter.h) reaches the service's store on
// `target`. Nobody answers; a message for a shard that stopped goes.
class InvalidateCacheMessage final : public core::Message {
 public:
  InvalidateCacheMessage(Shard* target, uint16_t port,
                         std::shared_ptr<const std::vector<std::string>> keys)
      : target_(target), port_(port), keys_(std::move(keys)) {}

 private:
  void OnArrive() override;
  Shard* target_;
  uint16_t port_;
  std::shared_ptr<const std::vector<std::string>> keys_;
};

// Answers as soon as the shard runs it: the watchdog's proof that the shard's
// loop turns.
class PingShardCommand : public ShardCommand {
 public:
  using ShardCommand::ShardCommand;

 private:
  void Execute(Shard&) override { Finish(absl::OkStatus()); }
};

// Drains everything and stops the shard's loop; finishes when drained. The
// spans of the last exchanges go to `spans` (when given).
class StopShardCommand : public ShardCommand {
 public:
  StopShardCommand(Shard* shard, Done on_done,
                   std::shared_ptr<tracing::SpanBuffer::Harvest> spans = nullptr)
      : ShardCommand(shard, std::move(on_done)), spans_(std::move(spans)) {}

 private:
  void Execute(Shard& shard) override;
  std::shared_ptr<tracing::SpanBuffer::Harvest> spans_;
};

class Shard {
 public:
  // Starts the shard thread (pinned to `cpu` if >= 0) and waits until its
  // ring is ready. Fails with the ring's set-up error. `span_capacity`: spans
  // held between collections (0: spans are not collected).
  static absl::StatusOr<std::unique_ptr<Shard>> Start(int index, int cpu, size_t span_capacity = 0);
  ~Shard();

  int index() const { return index_; }
  int ring_fd() const { return ring_fd_; }
  // The loop's and the access log's counters: any thread, as long as this
  // Shard lives.
  const core::RingStats& ring_stats() const { return ring_stats_; }
  const AccessLogStats& access_log_stats() const { return access_log_stats_; }
  // The egress listener's series: written by the shard, read by any thread.
  metrics::EgressSeries& egress_series() { return egress_series_; }
  const metrics::EgressSeries& egress_series() const { return egress_series_; }
  // Blocks until the thread has exited (after a StopShardCommand).
  void Join();

  // Shard-thread only.
  core::Ring& ring() { return *ring_; }
  ShardProxy& proxy() { return *proxy_; }
  // Null once the shard stopped serving (its loop winds down).
  ShardProxy* live_proxy() { return proxy_.get(); }
  AccessLog& access_log() { return *access_log_; }
  void RequestStop() { running_ = false; }

 private:
  explicit Shard(int index) : index_(index) {}
  void Run(int cpu, size_t span_capacity, std::function<void(absl::Status)> started);

  int index_;
  int ring_fd_ = -1;
  core::RingStats ring_stats_;
  AccessLogStats access_log_stats_;
  metrics::EgressSeries egress_series_;
  std::thread thread_;
  // Owned by the shard thread (created and destroyed there).
  std::unique_ptr<core::Ring> ring_;
  std::unique_ptr<core::BufRing> bufs_;
  std::unique_ptr<core::BufRing> tls_upstream_bufs_;  // see ShardProxy::upstream_bufs
  std::unique_ptr<AccessLog> access_log_;
  std::unique_ptr<ShardProxy> proxy_;
  bool running_ = true;
};

}  // namespace icaht::proxy

// The control thread's part in the filters' shared state: key sets that
// changed (re-sent as a fresh config), active health verdicts, the rate
// limits' shares across shards, and the shards' spans for the exporter. Kept apart from control.cc
// (lifecycle).

#include "absl/strings/str_cat.h"
#include "admin/control.h"
#include "core/log.h"

namespace icaht::admin {

void Control::RefreshService(const std::string& name) {
  Enqueue([this, name](std::function<void()> done) {
    const registry::ServiceRecord* record = registry_.Find(name);
    if (stopping_ || record == nullptr || unbound_.contains(name)) return done();
    auto shared = std::make_shared<const registry::ServiceRecord>(*record);
    Broadcast(UpsertOnShards(shared), [done](absl::Status) { done(); });
  });
}

void Control::ArmShareTimer() {
  if (!share_timer_.armed() && !share_round_running_ && !stopping_) {
    ring_->timers().Arm(&share_timer_, core::NowNs() + filters::kSharePeriodNs);
  }
}

void Control::CollectDemand() {
  if (rate_limited_.empty()) {
    rate_shares_.clear();
    return;  // armed again by the next record with limits
  }
  if (stopping_) return;
  share_round_running_ = true;
  std::vector<std::shared_ptr<proxy::ShardProxy::DemandReports>> reports;
  for (size_t i = 0; i < shards_.size(); ++i) {
    reports.push_back(std::make_shared<proxy::ShardProxy::DemandReports>());
  }
  Broadcast(
      [&reports](proxy::Shard* shard, proxy::ShardCommand::Done d) {
        return new proxy::CollectDemandCommand(shard, reports[shard->index()], std::move(d));
      },
      [this, reports](absl::Status) { ApplyShares(reports); });
}

void Control::CollectSpans(std::function<void(TraceExporter::Harvests)> done) {
  TraceExporter::Harvests harvests;
  for (size_t i = 0; i < shards_.size(); ++i) {
    harvests.push_back(std::make_shared<tracing::SpanBuffer::Harvest>());
  }
  if (stopping_) return done({});
  Broadcast(
      [&harvests](proxy::Shard* shard, proxy::ShardCommand::Done d) {
        return new proxy::CollectSpansCommand(shard, harvests[shard->index()], std::move(d));
      },
      [harvests, done](absl::Status) { done(harvests); });
}

void Control::ApplyShares(std::vector<std::shared_ptr<proxy::ShardProxy::DemandReports>> reports) {
  share_round_running_ = false;
  if (stopping_) return;
  size_t n = shards_.size();
  for (auto& [port, share] : rate_shares_) ++share.idle_periods;
  for (size_t shard = 0; shard < n; ++shard) {
    for (auto& [port, config, report] : reports[shard]->services) {
      RateShare& share = rate_shares_[port];
      if (share.coordinator == nullptr || share.configs[shard] != config) {
        // New service, or its config was replaced on this shard (new filters):
        // start over.
        if (share.coordinator == nullptr || share.configs[shard] != nullptr) {
          share.coordinator = std::make_unique<filters::ShareCoordinator>(n);
          share.configs.assign(n, nullptr);
        }
        share.configs[shard] = config;
      }
      share.idle_periods = 0;
      share.coordinator->Submit(shard, std::move(report));
    }
  }
  std::vector<std::vector<proxy::ApplySharesCommand::Item>> items(n);
  for (auto it = rate_shares_.begin(); it != rate_shares_.end();) {
    RateShare& share = it->second;
    if (share.idle_periods > 10) {
      rate_shares_.erase(it++);
      continue;
    }
    std::vector<filters::ShareUpdate> updates = share.coordinator->Compute();
    for (size_t shard = 0; shard < n; ++shard) {
      if (share.configs[shard] == nullptr || updates[shard].entries.empty()) continue;
      items[shard].push_back({it->first, share.configs[shard], std::move(updates[shard])});
    }
    ++it;
  }
  auto shared =
      std::make_shared<std::vector<std::vector<proxy::ApplySharesCommand::Item>>>(std::move(items));
  Broadcast(
      [shared](proxy::Shard* shard, proxy::ShardCommand::Done d) {
        return new proxy::ApplySharesCommand(shard, std::move((*shared)[shard->index()]),
                                             std::move(d));
      },
      [](absl::Status) {});
  ArmShareTimer();
}

void Control::OnHealthChange(const std::string& name, uint16_t port,
                             std::vector<net::Address> unhealthy) {
  // Queued with the registry changes, so shards see verdicts and configs in
  // the order they were made (a config built later carries the newer verdict).
  auto shared = std::make_shared<std::vector<net::Address>>(std::move(unhealthy));
  Enqueue([this, name, port, shared](std::function<void()> done) {
    const registry::ServiceRecord* record = registry_.Find(name);
    if (stopping_ || record == nullptr || record->port != port) return done();
    Broadcast(
        [port, shared](proxy::Shard* shard, proxy::ShardCommand::Done d) {
          return new proxy::SetUnhealthyCommand(shard, port, *shared, std::move(d));
        },
        [done](absl::Status) { done(); });
  });
}

}  // namespace icaht::admin

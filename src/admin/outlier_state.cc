// The control thread's part in outlier detection (admin/outlier_detector.h):
// a detector per service, fed with the shards' reports, its ejections sent
// to every shard, logged, and shown in metrics. Kept apart from control.cc
// (lifecycle).

#include <algorithm>

#include "admin/control.h"
#include "core/log.h"

namespace icaht::admin {

void Control::UpdateOutliers(const registry::ServiceRecord& record) {
  if (!record.outlier_detection) {
    outliers_.erase(record.name);
    return;
  }
  std::vector<net::Address> instances;
  for (const registry::UpstreamSpec& upstream : record.upstreams) {
    instances.push_back(upstream.resolved);
  }
  Outliers& o = outliers_[record.name];
  o.port = record.port;
  if (o.detector == nullptr) {
    o.detector = std::make_unique<OutlierDetector>(*record.outlier_detection, core::NowNs());
  }
  o.detector->Update(*record.outlier_detection, instances, core::NowNs());
  ArmOutlierTimer();
}

bool Control::OutlierEjected(const std::string& name, const net::Address& address) const {
  auto it = outliers_.find(name);
  return it != outliers_.end() && it->second.detector->IsEjected(address);
}

void Control::ArmOutlierTimer() {
  if (!outlier_timer_.armed() && !outlier_round_running_ && !stopping_ && !outliers_.empty()) {
    ring_->timers().Arm(&outlier_timer_, core::NowNs() + kOutlierPollNs);
  }
}

void Control::CollectOutliers() {
  if (stopping_ || outliers_.empty()) return;  // armed again by the next such record
  outlier_round_running_ = true;
  // One report list per shard, filled by the shard before its reply (as the
  // rate limits' demand reports).
  OutlierReports reports;
  for (size_t i = 0; i < shards_.size(); ++i) {
    reports.push_back(std::make_shared<std::vector<proxy::ShardProxy::OutlierReport>>());
  }
  Broadcast(
      [&reports](proxy::Shard* shard, proxy::ShardCommand::Done d) {
        return new proxy::CollectOutliersCommand(shard, reports[shard->index()], std::move(d));
      },
      [this, reports](absl::Status) { ApplyOutliers(reports); });
}

void Control::ApplyOutliers(OutlierReports reports) {
  outlier_round_running_ = false;
  if (stopping_) return;
  const int64_t now = core::NowNs();
  absl::flat_hash_map<uint16_t, Outliers*> by_port;
  for (auto& [name, o] : outliers_) by_port[o.port] = &o;
  for (const auto& shard : reports) {
    for (const proxy::ShardProxy::OutlierReport& report : *shard) {
      auto it = by_port.find(report.port);
      if (it == by_port.end()) continue;
      for (const auto& [address, seen] : report.instances) {
        it->second->detector->Add({.address = address,
                                   .attempts = seen.attempts,
                                   .successes = seen.successes,
                                   .trips_5xx = seen.trips_5xx,
                                   .trips_gateway = seen.trips_gateway},
                                  now);
      }
    }
  }
  for (auto& [name, o] : outliers_) {
    OutlierDetector& detector = *o.detector;
    detector.Tick(now);
    for (const OutlierDetector::Change& change : detector.TakeChanges()) {
      if (change.ejected) {
        ICAHT_LOG(kWarn, "service '", name, "': instance ", change.address.ToString(),
                  " ejected for ", change.for_ms, " ms (",
                  std::string(OutlierDetector::ReasonLabel(change.reason)), ")");
      } else {
        ICAHT_LOG(kInfo, "service '", name, "': instance ", change.address.ToString(),
                  " back in the rotation");
      }
    }
    if (!detector.TakeDirty()) continue;
    // Queued with the registry's changes, as the active checks' verdicts.
    auto shared = std::make_shared<std::vector<net::Address>>(detector.Ejected());
    Enqueue([this, name = name, port = o.port, shared](std::function<void()> done) {
      const registry::ServiceRecord* record = registry_.Find(name);
      if (stopping_ || record == nullptr || record->port != port) return done();
      Broadcast(
          [port, shared](proxy::Shard* shard, proxy::ShardCommand::Done d) {
            return new proxy::SetEjectedCommand(shard, port, *shared, std::move(d));
          },
          [done](absl::Status) { done(); });
    });
  }
  ArmOutlierTimer();
}

void Control::WriteOutlierMetrics(metrics::Exposition& out) const {
  out.Family("icaht_upstream_ejected", metrics::Type::kGauge,
             "Whether outlier detection holds an instance out of the rotation.");
  for (const auto& [name, o] : outliers_) {
    const registry::ServiceRecord* record = registry_.Find(name);
    if (record == nullptr) continue;
    std::vector<std::string> seen;
    for (const registry::UpstreamSpec& upstream : record->upstreams) {
      if (std::find(seen.begin(), seen.end(), upstream.address) != seen.end()) continue;
      seen.push_back(upstream.address);
      out.Sample("icaht_upstream_ejected", {{"service", name}, {"upstream", upstream.address}},
                 uint64_t{o.detector->IsEjected(upstream.resolved)});
    }
  }
  out.Family("icaht_outlier_ejections_total", metrics::Type::kCounter,
             "Instances ejected by outlier detection, by reason.");
  for (const auto& [name, o] : outliers_) {
    if (registry_.Find(name) == nullptr) continue;
    for (size_t r = 0; r < OutlierDetector::kReasons; ++r) {
      auto reason = static_cast<OutlierDetector::Reason>(r);
      out.Sample("icaht_outlier_ejections_total",
                 {{"service", name}, {"reason", OutlierDetector::ReasonLabel(reason)}},
                 o.detector->ejections(reason));
    }
  }
}

}  // namespace icaht::admin

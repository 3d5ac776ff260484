#include "admin/outlier_detector.h"

#include <algorithm>
#include <cmath>

namespace icaht::admin {

std::string_view OutlierDetector::ReasonLabel(Reason reason) {
  switch (reason) {
    case Reason::kConsecutive5xx:
      return "consecutive_5xx";
    case Reason::kConsecutiveGatewayErrors:
      return "consecutive_gateway_errors";
    case Reason::kSuccessRate:
      return "success_rate";
  }
  return "unknown";
}

void OutlierDetector::Update(const filters::OutlierSpec& spec,
                             const std::vector<net::Address>& instances, int64_t now_ns) {
  spec_ = spec;
  // A shorter interval applies from now, not after the old one ran out.
  next_interval_ns_ = std::min(next_interval_ns_, now_ns + int64_t{spec.interval_ms} * 1'000'000);
  absl::flat_hash_map<net::Address, Instance> kept;
  for (const net::Address& address : instances) {
    auto it = instances_.find(address);
    kept[address] = it != instances_.end() ? it->second : Instance{};
  }
  for (const auto& [address, instance] : instances_) {
    if (instance.ejected && !kept.contains(address)) dirty_ = true;  // the set shrank
  }
  instances_ = std::move(kept);
}

bool OutlierDetector::MayEject() const {
  if (spec_.max_ejection_percent == 0 || instances_.empty()) return false;
  size_t ejected = 0;
  for (const auto& [address, instance] : instances_) ejected += instance.ejected ? 1 : 0;
  if (ejected == 0) return true;
  return (ejected + 1) * 100 <= size_t{spec_.max_ejection_percent} * instances_.size();
}

void OutlierDetector::Eject(const net::Address& address, Instance& instance, Reason reason,
                            int64_t now_ns) {
  if (instance.ejected || !MayEject()) return;
  ++instance.ejection_count;
  const int64_t ms = std::min<int64_t>(int64_t{spec_.base_ejection_ms} * instance.ejection_count,
                                       std::max(spec_.max_ejection_ms, spec_.base_ejection_ms));
  instance.ejected = true;
  instance.until_ns = now_ns + ms * 1'000'000;
  ++ejections_[static_cast<size_t>(reason)];
  changes_.push_back({address, true, reason, ms});
  dirty_ = true;
}

void OutlierDetector::Add(const InstanceReport& report, int64_t now_ns) {
  auto it = instances_.find(report.address);
  if (it == instances_.end()) return;  // not (or no longer) an instance
  Instance& instance = it->second;
  instance.attempts += report.attempts;
  instance.successes += report.successes;
  if (spec_.consecutive_5xx != 0 && report.trips_5xx > 0) {
    Eject(report.address, instance, Reason::kConsecutive5xx, now_ns);
  }
  if (spec_.consecutive_gateway_errors != 0 && report.trips_gateway > 0) {
    Eject(report.address, instance, Reason::kConsecutiveGatewayErrors, now_ns);
  }
}

void OutlierDetector::Tick(int64_t now_ns) {
  for (auto& [address, instance] : instances_) {
    if (instance.ejected && now_ns >= instance.until_ns) {
      instance.ejected = false;
      changes_.push_back({address, false, Reason::kConsecutive5xx, 0});
      dirty_ = true;
    }
  }
  if (now_ns < next_interval_ns_) return;
  next_interval_ns_ = now_ns + int64_t{spec_.interval_ms} * 1'000'000;
  EvaluateSuccessRates(now_ns);
  for (auto& [address, instance] : instances_) {
    // An interval in the rotation takes one ejection off the count (so an
    // instance that keeps failing stays out longer each time, one that
    // recovered starts over).
    if (!instance.ejected && instance.ejection_count > 0) --instance.ejection_count;
    instance.attempts = instance.successes = 0;
  }
}

void OutlierDetector::EvaluateSuccessRates(int64_t now_ns) {
  if (spec_.success_rate_min_hosts == 0) return;
  std::vector<std::pair<const net::Address*, double>> rates;
  for (const auto& [address, instance] : instances_) {
    if (instance.ejected || instance.attempts < spec_.success_rate_request_volume ||
        instance.attempts == 0) {
      continue;
    }
    rates.emplace_back(
        &address, static_cast<double>(instance.successes) / static_cast<double>(instance.attempts));
  }
  if (rates.size() < spec_.success_rate_min_hosts || rates.empty()) return;
  double mean = 0;
  for (const auto& [address, rate] : rates) mean += rate;
  mean /= static_cast<double>(rates.size());
  double variance = 0;
  for (const auto& [address, rate] : rates) variance += (rate - mean) * (rate - mean);
  variance /= static_cast<double>(rates.size());
  const double threshold = mean - spec_.success_rate_stdev_factor * std::sqrt(variance);
  for (const auto& [address, rate] : rates) {
    if (rate < threshold) Eject(*address, instances_[*address], Reason::kSuccessRate, now_ns);
  }
}

std::vector<net::Address> OutlierDetector::Ejected() const {
  std::vector<net::Address> out;
  for (const auto& [address, instance] : instances_) {
    if (instance.ejected) out.push_back(address);
  }
  return out;
}

bool OutlierDetector::IsEjected(const net::Address& address) const {
  auto it = instances_.find(address);
  return it != instances_.end() && it->second.ejected;
}

int64_t OutlierDetector::EjectedForNs(const net::Address& address, int64_t now_ns) const {
  auto it = instances_.find(address);
  if (it == instances_.end() || !it->second.ejected) return 0;
  return std::max<int64_t>(0, it->second.until_ns - now_ns);
}

}  // namespace icaht::admin

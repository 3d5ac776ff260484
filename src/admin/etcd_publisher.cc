#include "admin/etcd_publisher.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "admin/etcd_backoff.h"
#include "core/log.h"

namespace icaht::admin {
namespace {

constexpr int64_t kStopBudgetNs = kNsPerS;  // shutdown waits at most this for the revoke
constexpr size_t kCountsPerTxn = 100;       // etcd takes at most 128 operations per transaction
constexpr std::string_view kTxn = "/v3/kv/txn";
constexpr std::string_view kMarkerPrefix = "icaht/shared/";

}  // namespace

absl::StatusOr<std::unique_ptr<EtcdPublisher>> EtcdPublisher::Create(
    core::Ring& ring, core::BufRing& bufs, const std::vector<std::string>& endpoints,
    discovery::EtcdHost host, uint32_t lease_ttl_s, Lookup lookup, Names names) {
  absl::StatusOr<std::vector<net::HttpUrl>> urls = discovery::ParseEtcdEndpoints(endpoints);
  if (!urls.ok()) return urls.status();
  return std::unique_ptr<EtcdPublisher>(new EtcdPublisher(ring, bufs, *std::move(urls),
                                                          std::move(host), lease_ttl_s,
                                                          std::move(lookup), std::move(names)));
}

EtcdPublisher::EtcdPublisher(core::Ring& ring, core::BufRing& bufs,
                             std::vector<net::HttpUrl> endpoints, discovery::EtcdHost host,
                             uint32_t lease_ttl_s, Lookup lookup, Names names)
    : ring_(ring),
      bufs_(bufs),
      endpoints_(std::move(endpoints)),
      host_(std::move(host)),
      lease_ttl_s_(lease_ttl_s),
      // A keepalive every third of the TTL: a call must end well within that.
      call_timeout_ms_(std::clamp<uint32_t>(lease_ttl_s * 1000 / 3, 500, 5000)),
      lookup_(std::move(lookup)),
      names_(std::move(names)),
      random_(core::FastRandom::FromEntropy()),
      timer_([this] { Step(); }),
      stop_deadline_([this] { FinishStop(); }),
      stop_notify_([this] {
        if (!stop_done_) return;
        std::function<void()> done = std::move(stop_done_);
        stop_done_ = nullptr;
        done();
      }) {}

EtcdPublisher::~EtcdPublisher() {
  if (call_ != nullptr) call_->Cancel();
}

void EtcdPublisher::Start() {
  started_ = true;
  next_sweep_ns_ = core::NowNs() + 3 * lease_ttl_s_ * kNsPerS;
  Step();
}

void EtcdPublisher::Changed(const std::string& name) {
  if (queued_.insert(name).second) {
    // Deregistrations first: Traefik must stop routing to a closed port.
    if (lookup_(name) == nullptr) {
      dirty_.push_front(name);
    } else {
      dirty_.push_back(name);
    }
  }
  Step();
}

void EtcdPublisher::QueueAll() {
  for (const std::string& name : names_()) {
    if (queued_.insert(name).second) dirty_.push_back(name);
  }
  // Deregistered while etcd was away: their keys go now.
  for (const std::string& name : published_) {
    if (queued_.insert(name).second) dirty_.push_back(name);
  }
}

void EtcdPublisher::Step() {
  if (!started_ || stopping_ || call_ != nullptr) return;
  const int64_t now = core::NowNs();
  if (now < retry_at_ns_) {
    ring_.timers().Arm(&timer_, retry_at_ns_);
    return;
  }
  if (lease_ == 0) {
    return Call("/v3/lease/grant", discovery::LeaseGrantBody(lease_ttl_s_),
                [this](std::string_view body) -> absl::Status {
                  absl::StatusOr<int64_t> lease = discovery::ParseLeaseGrant(body);
                  if (!lease.ok()) return lease.status();
                  lease_ = *lease;
                  lease_expires_ns_ = core::NowNs() + lease_ttl_s_ * kNsPerS;
                  next_keepalive_ns_ = core::NowNs() + lease_ttl_s_ * kNsPerS / 3;
                  resync_ = false;
                  QueueAll();
                  return absl::OkStatus();
                });
  }
  if (resync_ || now >= next_keepalive_ns_) {
    return Call("/v3/lease/keepalive", discovery::LeaseIdBody(lease_),
                [this](std::string_view body) -> absl::Status {
                  absl::StatusOr<int64_t> ttl = discovery::ParseKeepalive(body);
                  if (!ttl.ok()) return ttl.status();
                  if (*ttl == 0) {
                    LeaseLost();
                    return absl::OkStatus();
                  }
                  lease_expires_ns_ = core::NowNs() + *ttl * kNsPerS;
                  next_keepalive_ns_ = core::NowNs() + lease_ttl_s_ * kNsPerS / 3;
                  if (resync_) {
                    resync_ = false;
                    QueueAll();
                  }
                  return absl::OkStatus();
                });
  }
  if (pending_ != Pending::kNone) return SendPending();
  if (current_.empty() && !dirty_.empty()) {
    current_ = std::move(dirty_.front());
    dirty_.pop_front();
    queued_.erase(current_);
  }
  if (!current_.empty()) {
    if (lookup_(current_) != nullptr) return Publish(current_);
    return Unpublish(current_);
  }
  if (!orphans_.empty()) return SweepOrphan();
  if (!sweep_candidates_.empty()) return SweepCount();
  if (now >= next_sweep_ns_) return SweepList();
  ring_.timers().Arm(&timer_, std::min(next_keepalive_ns_, next_sweep_ns_));
}

void EtcdPublisher::Call(std::string_view path, std::string body,
                         std::function<absl::Status(std::string_view body)> on_ok) {
  const net::HttpUrl& url = endpoints_[endpoint_];
  proxy::ClientCallSpec spec;
  spec.address = url.address;
  spec.method = http::Method::kPost;
  spec.request = proxy::BuildClientRequest(
      "POST", path, url.host,
      absl::StrCat("Content-Type: application/json\r\nContent-Length: ", body.size(),
                   "\r\nUser-Agent: icaht-sidecar/etcd\r\n"));
  spec.request += body;
  spec.timeout_ms = call_timeout_ms_;
  spec.max_body_bytes = 16 * 1024 * 1024;
  item_call_ = false;
  call_ = proxy::HttpClientCall::Start(
      ring_, bufs_, std::move(spec),
      [this, path = std::string(path),
       on_ok = std::move(on_ok)](absl::StatusOr<http::ClientResponse> response) {
        call_ = nullptr;
        if (!response.ok()) return Fail(absl::StrCat(path, ": ", response.status().message()));
        if (response->status != 200) {
          if (discovery::ErrorCode(response->body) == discovery::kGrpcNotFound &&
              absl::StrContains(response->body, "lease")) {
            LeaseLost();
            return Step();
          }
          return Fail(absl::StrCat(path, " answered ", response->status, ": ",
                                   response->body.substr(0, 200)),
                      /*answered=*/true);
        }
        if (absl::Status status = on_ok(response->body); !status.ok()) {
          return Fail(absl::StrCat(path, ": ", status.message()));
        }
        Succeeded();
        Step();
      });
}

void EtcdPublisher::Fail(const std::string& what, bool answered) {
  ++errors_;
  up_ = false;
  const bool item = item_call_;
  item_call_ = false;
  pending_ = Pending::kNone;  // the change starts again from its read
  if (stopping_) {
    // The revoke: the next endpoint, while the budget lasts.
    if (++revoke_tries_ < endpoints_.size() && lease_ != 0) {
      endpoint_ = (endpoint_ + 1) % endpoints_.size();
      return Revoke();
    }
    return FinishStop();
  }
  const int64_t now = core::NowNs();
  if (failures_ == 0 || now - failure_logged_ns_ >= 60 * kNsPerS) {
    ICAHT_LOG(kWarn, "etcd ", endpoints_[endpoint_].host, ": ", what,
              failures_ == 0 ? "" : absl::StrCat(" (", failures_ + 1, " failed calls in a row)"),
              "; retrying, services are served meanwhile");
    failure_logged_ns_ = now;
  }
  ++failures_;
  if (answered && item && !current_.empty()) {
    // etcd refuses this change (e.g. too many operations): the others must
    // not wait behind it.
    ICAHT_LOG_LIMITED(kError, "etcd refused the change of service '", current_,
                      "'; trying it again after the others");
    if (queued_.insert(current_).second) dirty_.push_back(current_);
    current_.clear();
  }
  endpoint_ = (endpoint_ + 1) % endpoints_.size();
  int64_t delay = 0;
  // Each endpoint once at once; then back off before the next round.
  if (failures_ % static_cast<int>(endpoints_.size()) == 0) {
    int rounds = failures_ / static_cast<int>(endpoints_.size());
    delay = std::min(kEtcdFirstBackoffNs << std::min(rounds - 1, 5), kEtcdMaxBackoffNs);
    delay = static_cast<int64_t>(static_cast<double>(delay) * (0.8 + 0.4 * random_.NextDouble()));
  }
  if (lease_ != 0) {
    // Never wait past the lease's last chance for a keepalive.
    const int64_t margin = std::min<int64_t>(kNsPerS, lease_ttl_s_ * kNsPerS / 4);
    delay = std::min(delay, std::max<int64_t>(0, lease_expires_ns_ - margin - now));
  }
  retry_at_ns_ = now + delay;
  // etcd may have restarted empty, or the lease lapsed meanwhile: check the
  // lease and publish everything again.
  resync_ = true;
  ring_.timers().Arm(&timer_, retry_at_ns_);
}

void EtcdPublisher::LeaseLost() {
  const int64_t lost = lease_;
  lease_ = 0;
  up_ = false;
  pending_ = Pending::kNone;  // its body names the lost lease
  item_call_ = false;
  if (stopping_) return FinishStop();
  ICAHT_LOG(kWarn, "etcd: lease ", lost,
            " is gone (expired while etcd was unreachable, or etcd lost its data); "
            "granting a new one and publishing every service again");
}

void EtcdPublisher::Succeeded() {
  if (failures_ > 0) {
    ICAHT_LOG(kInfo, "etcd ", endpoints_[endpoint_].host, ": answering again after ", failures_,
              " failed calls");
  }
  failures_ = 0;
  up_ = lease_ != 0;
}

void EtcdPublisher::Publish(const std::string& name) {
  // The shared keys first read (and the marker), to delete those an older
  // record wrote (an entry point fewer, no ready path any more) in the same
  // transaction as the puts, and to apply it only if no other host changed
  // them meanwhile.
  std::vector<std::string> prefixes = discovery::SharedPrefixes(name);
  prefixes.push_back(discovery::MarkerKey(name));
  Call(kTxn, discovery::RangeTxnBody(prefixes),
       [this, name, prefixes](std::string_view body) -> absl::Status {
         absl::StatusOr<discovery::RangeAnswer> read = discovery::ParseRangeTxn(body);
         if (!read.ok()) return read.status();
         if (read->keys.size() != prefixes.size()) {
           return absl::DataLossError("etcd answered a different number of ranges");
         }
         const registry::ServiceRecord* record = lookup_(name);
         if (record == nullptr) return absl::OkStatus();  // gone meanwhile: Step unpublishes
         const std::string marker = discovery::MarkerKey(name);
         const std::vector<std::string>& markers = read->keys.back();
         const bool ours = std::find(markers.begin(), markers.end(), marker) != markers.end();
         if (!ours && !read->keys[0].empty()) {
           ++errors_;
           ICAHT_LOG_LIMITED(kError, "etcd: a router named '", name,
                             "' exists that no sidecar wrote (no ", marker,
                             "): not publishing the service over it");
           Finished();
           return absl::OkStatus();
         }
         std::vector<discovery::KeyValue> shared = discovery::SharedKeys(*record);
         absl::flat_hash_set<std::string> keep;
         for (const discovery::KeyValue& kv : shared) keep.insert(kv.key);
         std::vector<std::string> stale;
         for (size_t i = 0; i + 1 < read->keys.size(); ++i) {
           for (const std::string& key : read->keys[i]) {
             if (!keep.contains(key)) stale.push_back(key);
           }
         }
         shared.push_back({marker, "traefik"});
         pending_ = Pending::kPut;
         pending_body_ =
             discovery::PutTxnBody(discovery::HostKeys(*record, host_), lease_, shared, stale,
                                   discovery::SharedPrefixes(name), read->revision);
         return absl::OkStatus();
       });
  item_call_ = true;
}

void EtcdPublisher::Unpublish(const std::string& name) {
  Call(kTxn, discovery::DeleteHostKeysTxnBody(name, host_.host_id, lease_),
       [this, name](std::string_view) {
         // Then the router, if no other host serves the service.
         pending_ = Pending::kUnpublishShared;
         pending_body_ = discovery::UnpublishSharedTxnBody(name);
         return absl::OkStatus();
       });
  item_call_ = true;
}

void EtcdPublisher::SendPending() {
  const Pending kind = pending_;
  pending_ = Pending::kNone;
  Call(kTxn, std::move(pending_body_), [this, kind](std::string_view body) {
    if (kind == Pending::kPut) {
      if (!discovery::TxnSucceeded(body)) {
        return absl::OkStatus();  // another host changed the shared keys: read them again
      }
      published_.insert(current_);
    } else {
      published_.erase(current_);
    }
    Finished();
    return absl::OkStatus();
  });
  item_call_ = true;
}

void EtcdPublisher::Finished() {
  ++transactions_;
  current_.clear();
}

void EtcdPublisher::SweepList() {
  Call(kTxn, discovery::RangeTxnBody({std::string(kMarkerPrefix)}),
       [this](std::string_view body) -> absl::Status {
         absl::StatusOr<discovery::RangeAnswer> ranges = discovery::ParseRangeTxn(body);
         if (!ranges.ok()) return ranges.status();
         next_sweep_ns_ =
             core::NowNs() + static_cast<int64_t>(static_cast<double>(3 * lease_ttl_s_ * kNsPerS) *
                                                  (0.9 + 0.2 * random_.NextDouble()));
         sweep_candidates_.clear();
         for (const std::vector<std::string>& keys : ranges->keys) {
           for (const std::string& key : keys) {
             std::string name = key.substr(kMarkerPrefix.size());
             // Ours have a server (this host's) as long as they are registered.
             if (!name.empty() && lookup_(name) == nullptr) sweep_candidates_.push_back(name);
           }
         }
         return absl::OkStatus();
       });
}

void EtcdPublisher::SweepCount() {
  const size_t n = std::min(sweep_candidates_.size(), kCountsPerTxn);
  std::vector<std::string> names(sweep_candidates_.end() - static_cast<ptrdiff_t>(n),
                                 sweep_candidates_.end());
  std::vector<std::string> prefixes;
  for (const std::string& name : names) prefixes.push_back(discovery::ServersPrefix(name));
  Call(kTxn, discovery::CountTxnBody(prefixes),
       [this, names, n](std::string_view body) -> absl::Status {
         absl::StatusOr<std::vector<int64_t>> counts = discovery::ParseCountTxn(body);
         if (!counts.ok()) return counts.status();
         if (counts->size() != names.size()) {
           return absl::DataLossError("etcd answered a different number of counts");
         }
         sweep_candidates_.resize(sweep_candidates_.size() - n);
         for (size_t i = 0; i < names.size(); ++i) {
           if ((*counts)[i] == 0) orphans_.push_back(names[i]);
         }
         return absl::OkStatus();
       });
}

void EtcdPublisher::SweepOrphan() {
  const std::string name = orphans_.front();
  if (lookup_(name) != nullptr) {  // registered here since the count
    orphans_.pop_front();
    return Step();
  }
  Call(kTxn, discovery::UnpublishSharedTxnBody(name),
       [this, name](std::string_view body) -> absl::Status {
         orphans_.pop_front();
         if (discovery::TxnSucceeded(body)) {
           ++transactions_;
           ICAHT_LOG(kInfo, "etcd: removed the router of '", name, "': no host serves it any more");
         }
         return absl::OkStatus();
       });
}

void EtcdPublisher::Stop() {
  if (stopping_) return;
  stopping_ = true;
  ring_.timers().Cancel(&timer_);
  if (call_ != nullptr) {
    call_->Cancel();
    call_ = nullptr;
  }
  if (lease_ == 0) return FinishStop();
  ring_.timers().Arm(&stop_deadline_, core::NowNs() + kStopBudgetNs);
  Revoke();
}

void EtcdPublisher::Revoke() {
  Call("/v3/lease/revoke", discovery::LeaseIdBody(lease_), [this](std::string_view) {
    lease_ = 0;
    FinishStop();
    return absl::OkStatus();
  });
}

void EtcdPublisher::AfterStop(std::function<void()> done) {
  if (stopped_) return done();
  stop_done_ = std::move(done);
}

void EtcdPublisher::FinishStop() {
  if (stopped_) return;
  stopped_ = true;
  ring_.timers().Cancel(&stop_deadline_);
  if (call_ != nullptr) {
    call_->Cancel();
    call_ = nullptr;
  }
  if (lease_ != 0) {
    ICAHT_LOG(kWarn, "etcd: lease not revoked at shutdown; this host's keys go in ", lease_ttl_s_,
              " s");
  }
  up_ = false;
  // Not from inside a call's callback: the caller may free us.
  stop_notify_.Post();
}

}  // namespace icaht::admin
